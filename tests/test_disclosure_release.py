"""The release as a whole: attacks that combine families, periods and derived figures, on small hand-made
releases. Each shows what the per-family engine let through, and that the release engine stops it."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.disclosure.cell_suppression import Family, build_cells, prepare_units, suppress
from pipelines.disclosure.protection_audit import audit_block, protection_intervals
from pipelines.disclosure.release import (GROUP_COLS, _frames, _pinned_neighbours, _share_fates, _unpin, build_blocks,
                                          clear_release)

MONTH = Family("m", GROUP_COLS, breakdowns=(), measures=2)
WEEK = Family("w", GROUP_COLS, geo_levels=("nation", "academie"), breakdowns=(), units_published=False, measures=2)
PERIOD = {"m": ("month", "2025-11", "2025-11-01", "2025-11-30"), "w": ("week", "2025-W48", "2025-11-24", "2025-11-30")}


def _stage(con, family: Family, schools: list[dict], active_key: str) -> None:
    ptype, period, start, end = PERIOD[family.name]
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {family.units} (period_type VARCHAR, period VARCHAR,
        period_start DATE, period_end DATE, profile VARCHAR, uai VARCHAR, academie_code VARCHAR,
        departement_code VARCHAR, level VARCHAR, secteur VARCHAR, education_prioritaire VARCHAR,
        rural_urban VARCHAR, ips_quintile VARCHAR, from_events BOOLEAN, size BIGINT, m0_n BIGINT, m0_k BIGINT,
        m1_n BIGINT, m1_k BIGINT)""")
    con.executemany(f"INSERT INTO {family.units} VALUES (?, ?, ?, ?, 'parent', ?, 'A1', ?, ?, 'public', "
                    "'inconnu', 'urbain', '3', true, ?, ?, ?, ?, ?)",
                    [(ptype, period, start, end, s["uai"], s["dep"], s["level"], s["L"], s["L"], s["A"], s["L"],
                      s[active_key]) for s in schools])


# a: 6 loaded accounts (secret). Month: a and b hidden in D1 (their pooled figure passes); c, d published.
# Week (same end day, same loaded/activated accounts): académie × level cells {a, c} and {b, d}.
SCHOOLS = [
    {"uai": "a", "dep": "D1", "level": "ecole", "L": 6, "A": 6, "month": 4, "week": 3},
    {"uai": "b", "dep": "D1", "level": "college", "L": 40, "A": 30, "month": 20, "week": 12},
    {"uai": "c", "dep": "D2", "level": "ecole", "L": 50, "A": 40, "month": 30, "week": 20},
    {"uai": "d", "dep": "D2", "level": "college", "L": 60, "A": 50, "month": 40, "week": 25},
    {"uai": "e", "dep": "D2", "level": "college", "L": 70, "A": 50, "month": 40, "week": 25},
    {"uai": "f", "dep": "D2", "level": "ecole", "L": 80, "A": 60, "month": 50, "week": 30},
]


def _exposed(con):
    units, cells, members = _frames(con, [MONTH, WEEK])
    return [e for block in build_blocks(units, cells, members) for e in audit_block(block)[0]]


def test_week_and_month_ending_the_same_day_share_their_unknowns():
    con = duckdb.connect()
    _stage(con, MONTH, SCHOOLS, "month")
    _stage(con, WEEK, SCHOOLS, "week")
    # Before: each family suppressed and audited alone passes its own audit...
    for family in (MONTH, WEEK):
        assert suppress(con, family).audit.startswith("passed")
    hidden = {u for (u,) in con.execute("SELECT uai FROM m_units WHERE NOT published").fetchall()}
    assert "a" in hidden
    # ...yet stacking the week's cells on the month's school figures gives school a's accounts away.
    exposed = _exposed(con)
    assert any(e["uai"] == "a" and e["quantity"] == "loaded" for e in exposed), exposed

    # After: the release engine suppresses both families together; nothing is exposed.
    _stage(con, MONTH, SCHOOLS, "month")
    _stage(con, WEEK, SCHOOLS, "week")
    reports, audit = clear_release(con, [MONTH, WEEK])
    assert audit.rounds >= 1 and all(r.audit == "passed" for r in reports)
    assert _exposed(con) == []
    units, cells, members = _frames(con, [MONTH, WEEK])
    for block in build_blocks(units, cells, members):
        lo_hi = protection_intervals(block)
        for qid, lo, hi in lo_hi[["qid", "lo", "hi"]].itertuples(index=False):
            info = block.qinfo[qid]
            if info.get("uai") == "a" and info["quantity"] == "loaded":
                assert hi - lo >= 3


def test_fates_are_shared_by_the_periods_ending_that_day_for_the_counts_they_share():
    """December and T1 end on 31 December and carry the same loaded and activated accounts: a school hidden
    in December for those counts (or as a partner) is hidden in T1. A school hidden only because its
    December active accounts fail the rule keeps its T1 figures (its loaded/activated accounts pass)."""
    t1 = Family("t", GROUP_COLS, breakdowns=(), measures=2)
    con = duckdb.connect()
    PERIOD["t"] = ("trimester", "2025-2026 T1", "2025-09-01", "2025-11-30")
    try:
        rows = [dict(s, week=s["month"] + 5) for s in SCHOOLS]
        rows[0].update(L=20, A=15, month=2, week=10)  # a: fails on its 2 active accounts in the month only
        rows[1].update(L=30, A=20)  # b: will be hidden as a partner in the month
        rows[2].update(L=8, A=6, month=4, week=5)  # c: fails on its 8 loaded accounts everywhere
        _stage(con, MONTH, rows, "month")
        _stage(con, t1, rows, "week")
        for family in (MONTH, t1):
            prepare_units(con, family)
            build_cells(con, family)
        con.execute("UPDATE m_units SET published = uai NOT IN ('a', 'b', 'c')")
        con.execute("UPDATE t_units SET published = uai <> 'c'")
        assert _share_fates(con, [MONTH, t1])
        trimester = dict(con.execute("SELECT uai, published FROM t_units").fetchall())
        assert trimester == {"a": True, "b": False, "c": False, "d": True, "e": True, "f": True}
    finally:
        del PERIOD["t"]


def test_a_partner_pinned_by_its_figures_at_other_ends_is_hidden_there_too():
    """Accounts only accumulate: a partner published in October and December with 31 loaded accounts has 31
    in November, so hiding it in November hides nothing and its November remainder gives school x away. The
    release engine hides it at the earlier ends where its counts are the same (``_unpin``), which clears x."""
    def unit(uai, month, end, size, a, published):
        return {"family": "m", "unit_id": len(rows) + 1, "period_type": "month", "period": month,
                "period_start": month + "-01", "period_end": end, "profile": "parent", "uai": uai, "size": size,
                "m0_n": size, "m0_k": a, "m1_n": size, "m1_k": a // 2, "published": published,
                "primary_pass": size >= 11, "from_events": True}
    rows: list[dict] = []
    for month, end in (("2025-10", "2025-10-31"), ("2025-11", "2025-11-30"), ("2025-12", "2025-12-31")):
        rows.append(unit("x", month, end, 8, 6, False))
        rows.append(unit("y", month, end, 31, 20, month != "2025-11"))
        rows.append(unit("z", month, end, 50, 40, True))
    units = pd.DataFrame(rows)
    nov = units[units.period == "2025-11"]
    cells = pd.DataFrame([{"family": "m", "cell_id": 1, "period_type": "month", "period": "2025-11",
                           "period_start": "2025-11-01", "period_end": "2025-11-30", "profile": "parent",
                           "geo_level": "academie", "geo_code": "A1", "level": "all", "secteur": "all",
                           "breakdown": "all", "breakdown_value": "all", "schools": 3,
                           **{c: int(nov[c].sum()) for c in ("size", "m0_n", "m0_k", "m1_n", "m1_k")},
                           "published": True, "primary_pass": True, "cls_importance": 1}])
    members = pd.DataFrame({"family": "m", "unit_id": nov.unit_id.to_numpy(), "cell_id": 1})
    key = ("parent", "2025-11-30")

    def exposed_loaded_x():
        block, = build_blocks(units, cells, members, only={key})
        found = audit_block(block)[0]
        return block, found, [e for e in found if e["uai"] == "x" and e["quantity"] == "loaded"]

    block, found, x = exposed_loaded_x()
    assert x and x[0]["lo"] == x[0]["hi"] == 8
    pinned = _pinned_neighbours(block, found)
    assert set(pinned["uai"]) == {"y"} and set(pinned["qid"]) <= {e["qid"] for e in found}
    con = duckdb.connect()
    con.register("units_df", units)
    con.execute("CREATE TEMP TABLE m_units AS SELECT * EXCLUDE (family, period_start, period_end), "
                "period_start::DATE AS period_start, period_end::DATE AS period_end FROM units_df")
    assert _unpin(con, [Family("m", GROUP_COLS, breakdowns=(), measures=2)], key, pinned) == {"y"}
    hidden = dict(con.execute("SELECT period, published FROM m_units WHERE uai = 'y'").fetchall())
    assert hidden == {"2025-10": False, "2025-11": False, "2025-12": True}  # the later end stays published
    units["published"] = units.uai.eq("z") | ((units.uai == "y") & (units.period == "2025-12"))
    assert exposed_loaded_x()[2] == []


def test_hidden_cells_and_hidden_units_are_audited_even_when_no_family_rule_sees_them():
    """A cell failing the rule whose members are all known elsewhere is exposed."""
    units = pd.DataFrame([
        {"family": "m", "unit_id": 1, "period_type": "month", "period": "2025-11", "period_start": "2025-11-01",
         "period_end": "2025-11-30", "profile": "parent", "uai": "x", "size": 5, "m0_n": 5, "m0_k": 2, "m1_n": 5,
         "m1_k": 1, "published": False, "primary_pass": False, "from_events": True},
        {"family": "m", "unit_id": 2, "period_type": "month", "period": "2025-11", "period_start": "2025-11-01",
         "period_end": "2025-11-30", "profile": "parent", "uai": "y", "size": 50, "m0_n": 50, "m0_k": 30,
         "m1_n": 50, "m1_k": 20, "published": True, "primary_pass": True, "from_events": True},
    ])
    cells = pd.DataFrame([{"family": "m", "cell_id": 1, "period_type": "month", "period": "2025-11",
                           "period_start": "2025-11-01", "period_end": "2025-11-30", "profile": "parent",
                           "geo_level": "academie", "geo_code": "A1", "level": "all", "secteur": "all",
                           "breakdown": "all", "breakdown_value": "all", "schools": 2, "size": 55, "m0_n": 55,
                           "m0_k": 32, "m1_n": 55, "m1_k": 21, "published": True, "primary_pass": True,
                           "cls_importance": 1}])
    members = pd.DataFrame([{"family": "m", "unit_id": 1, "cell_id": 1}, {"family": "m", "unit_id": 2, "cell_id": 1}])
    exposed = [e for b in build_blocks(units, cells, members) for e in audit_block(b)[0]]
    assert {e["quantity"] for e in exposed} >= {"loaded", "activated", "active"}
