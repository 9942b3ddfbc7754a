"""Clear a whole release: every family of figures suppressed together, then the attacker's audit over all
of them (docs/disclosure_control.md).

``clear_release(con, families)`` takes the families of one release (their units tables staged as
``cell_suppression`` expects, with ``period_start`` and ``period_end`` among the group columns) and decides
what is published, in a loop that only ever hides more:

1. rules 1-3 of ``cell_suppression`` inside each family (primary, secondary, complementary);
2. **shared fates**: loaded and activated accounts depend only on a period's end, so a school or a cell
   hidden in one period is hidden in every period, family and profile table that ends the same day
   (otherwise the published twin gives it away);
3. the **protection audit** (``protection_audit``) over blocks (profile, period_end) of all families at
   once; every exposed count gets a fix (a partner school or one more cell hidden), then back to 1.

Nothing is published that this loop did not clear; derived figures are computed afterwards from what it
cleared only (``pipelines.defs.publication``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.disclosure.cell_suppression import (
    CELL_KEY,
    Family,
    SuppressionReport,
    _fix,
    apply_rules,
    build_cells,
    prepare_units,
)
from pipelines.disclosure.protection_audit import Block, audit_block
from pipelines.privacy import MIN_CELL, MIN_DENOMINATOR

END_GROUP = ("profile", "period_end")
# The group columns every family of a release has (``period_start`` / ``period_end`` as ISO text).
GROUP_COLS = ("period_type", "period", "period_start", "period_end", "profile")


@dataclass
class AuditSummary:
    blocks: int = 0  # blocks audited, over all rounds
    quantities: int = 0
    solved: int = 0
    exposed_found: int = 0
    rounds: int = 0
    seconds: float = 0.0

    def as_metadata(self) -> dict:
        return dict(self.__dict__)


def _share_fates(con, families: list[Family]) -> int:
    """Hide, in every family and period ending the same day, what is hidden in one of them."""
    changed = 0
    school_level = [f for f in families if f.units_published]
    if school_level:
        hidden = " UNION ".join(f"SELECT profile, period_end, uai FROM {f.units} WHERE NOT published"
                                for f in school_level)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _hidden_units AS {hidden}")
        for f in school_level:
            changed += con.execute(f"""
                UPDATE {f.units} u SET published = false FROM _hidden_units h
                WHERE u.published AND h.profile = u.profile AND h.period_end = u.period_end AND h.uai = u.uai
            """).fetchall()[0][0]
    key = ", ".join((*END_GROUP, *CELL_KEY))
    hidden = " UNION ".join(f"SELECT {key} FROM {f.cells} WHERE NOT published" for f in families)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _hidden_cells AS {hidden}")
    same = " AND ".join(f"h.{c} = c.{c}" for c in (*END_GROUP, *CELL_KEY))
    for f in families:
        changed += con.execute(f"""
            UPDATE {f.cells} c SET published = false FROM _hidden_cells h WHERE c.published AND {same}
        """).fetchall()[0][0]
    return changed


# --- extraction of the blocks -------------------------------------------------------------------------

def _frames(con, families: list[Family]):
    """Units, cells and memberships of every family, as data frames (families tagged)."""
    units, cells, members = [], [], []
    for f in families:
        units.append(con.sql(f"""
            SELECT '{f.name}' AS family, unit_id, period_type, period, period_start::VARCHAR AS period_start,
                   period_end::VARCHAR AS period_end, profile, uai,
                   size, m0_n, m0_k, m1_n, m1_k, published, primary_pass, from_events
            FROM {f.units}""").df())
        cells.append(con.sql(f"""
            SELECT '{f.name}' AS family, cell_id, period_type, period, period_start::VARCHAR AS period_start,
                   period_end::VARCHAR AS period_end, profile,
                   {', '.join(CELL_KEY)}, schools, size, m0_n, m0_k, m1_n, m1_k, published, primary_pass,
                   cls_importance
            FROM {f.cells}""").df())
        members.append(con.sql(f"SELECT '{f.name}' AS family, unit_id, cell_id FROM {f.name}_members").df())
    return (pd.concat(units, ignore_index=True), pd.concat(cells, ignore_index=True),
            pd.concat(members, ignore_index=True))


def _cross_block_bounds(units: pd.DataFrame) -> pd.DataFrame:
    """Bounds on each school's hidden counts from its published figures in other blocks.

    Accounts and activations only accumulate (event-based schools): a published count at an earlier end
    is a lower bound, at a later end an upper bound. Active accounts: a published period inside this one
    is a lower bound, one containing it an upper bound.
    """
    pub = units[units.published & units.from_events][
        ["profile", "uai", "period_start", "period_end", "size", "m0_k", "m1_k", "m1_n"]]
    hid = units[~units.published][["family", "unit_id", "profile", "uai", "period_start", "period_end",
                                   "from_events"]]
    m = hid.merge(pub, on=["profile", "uai"], suffixes=("", "_p"))
    m = m[m.from_events]
    out = hid[["family", "unit_id"]].copy()
    if m.empty:
        for c in ("L_lb", "L_ub", "A_lb", "A_ub", "Act_lb", "Act_ub"):
            out[c] = 0.0 if c.endswith("lb") else np.inf
        return out
    earlier = m[m.period_end_p < m.period_end]
    later = m[m.period_end_p > m.period_end]
    inside = m[(m.period_start_p >= m.period_start) & (m.period_end_p <= m.period_end) & (m.m1_n > 0)]
    around = m[(m.period_start_p <= m.period_start) & (m.period_end_p >= m.period_end) & (m.m1_n > 0)
               & ~((m.period_start_p == m.period_start) & (m.period_end_p == m.period_end))]
    key = ["family", "unit_id"]
    parts = [
        earlier.groupby(key).agg(L_lb=("size", "max"), A_lb=("m0_k", "max")),
        later.groupby(key).agg(L_ub=("size", "min"), A_ub=("m0_k", "min")),
        inside.groupby(key).agg(Act_lb=("m1_k", "max")),
        around.groupby(key).agg(Act_ub=("m1_k", "min")),
    ]
    out = out.set_index(key)
    for p in parts:
        out = out.join(p)
    out = out.reset_index()
    for c in ("L_lb", "A_lb", "Act_lb"):
        out[c] = out[c].fillna(0.0).astype(float)
    for c in ("L_ub", "A_ub", "Act_ub"):
        out[c] = out[c].fillna(np.inf).astype(float)
    return out


def _failing(size, n, k) -> np.ndarray:
    return (size < MIN_DENOMINATOR) | ((n > 0) & ((n < MIN_DENOMINATOR) | (k < MIN_CELL) | (n - k < MIN_CELL)))


def build_blocks(units: pd.DataFrame, cells: pd.DataFrame, members: pd.DataFrame,
                 only: set | None = None) -> list[Block]:
    """The independent blocks (profile, period_end) of a release: unknowns, equations, bounds, sensitive forms.

    ``units``: family, unit_id, period_type, period, period_start, period_end, profile, uai, size, m0_n,
    m0_k, m1_n, m1_k, published, primary_pass, from_events. ``cells``: family, cell_id, the same group
    columns, CELL_KEY, size and the measures, published, primary_pass, cls_importance. ``members``: family,
    unit_id, cell_id (every cell of the family each unit is in). ``only``: the block keys to build.
    """
    units = units.copy()
    bounds = _cross_block_bounds(units)
    units = units.merge(bounds, on=["family", "unit_id"], how="left")
    # The school-level L/A unknown: one per (profile, end, school, value): equal values in one block are
    # one unknown (the same accounts); different ones (an ODE export read over different spans) are not.
    units["lkey"] = list(zip(units.uai, units["size"], units.m0_k))
    # Whether the unit's activation / activity is measured (a school with no account: yes, all zero).
    units["has0"] = (units.m0_n > 0) | (units["size"] == 0)
    units["has1"] = (units.m1_n > 0) | (units["size"] == 0)
    blocks = []
    cells_by_block = dict(list(cells.groupby(list(END_GROUP), sort=False)))
    members = members.merge(units[["family", "unit_id", "published", "size", "m0_n", "m0_k", "m1_n", "m1_k",
                                   "has0", "has1", "profile", "period_end", "lkey"]], on=["family", "unit_id"])
    members_by_block = dict(list(members.groupby(list(END_GROUP), sort=False)))
    for key, bu in units.groupby(list(END_GROUP), sort=False):
        if only is not None and key not in only:
            continue
        hidden = bu[~bu.published]
        if hidden.empty:
            continue
        bc = cells_by_block.get(key)
        bm = members_by_block.get(key)
        block = _block(key, bu, bc, bm)
        if block is not None:
            blocks.append(block)
    return blocks


def _block(key, bu: pd.DataFrame, bc: pd.DataFrame | None, bm: pd.DataFrame | None) -> Block | None:
    # Which L/A values are known: a school published anywhere in the block (school-level families).
    known_l = set(bu.loc[bu.published, "lkey"])
    hid = bu[~bu.published & ~bu.lkey.isin(known_l)]
    lvars = hid.drop_duplicates("lkey")
    var_rows = []
    lvar = {}
    avar = {}
    for row in lvars.itertuples(index=False):
        lvar[row.lkey] = len(var_rows)
        var_rows.append(("L", float(row.size), row.L_lb, row.L_ub))
    has_a = hid.groupby("lkey")["has0"].max()
    a_rows = lvars[lvars.lkey.map(has_a).astype(bool)]
    for row in a_rows.itertuples(index=False):
        avar[row.lkey] = len(var_rows)
        var_rows.append(("A", float(row.m0_k), row.A_lb, row.A_ub))
    # Active unknowns: every hidden unit with a known activity.
    act = bu[~bu.published & bu.has1]
    actvar = {}
    for row in act.itertuples(index=False):
        actvar[(row.family, row.unit_id)] = len(var_rows)
        var_rows.append(("Act", float(row.m1_k), row.Act_lb, row.Act_ub))
    if not var_rows:
        return None
    variables = pd.DataFrame(var_rows, columns=["kind", "value", "lb", "ub"])
    # Known L bounds the unknowns that L caps.
    l_known = dict(zip(bu.loc[bu.published, "lkey"], bu.loc[bu.published, "size"]))
    leq = []
    for lk, ai in avar.items():
        leq.append((ai, lvar[lk]))
    for row in act.itertuples(index=False):
        ai = actvar[(row.family, row.unit_id)]
        if row.lkey in lvar:
            leq.append((ai, lvar[row.lkey]))
        elif row.lkey in l_known:
            variables.at[ai, "ub"] = min(variables.at[ai, "ub"], float(l_known[row.lkey]))
    # Nested periods ending the same day: the shorter has no more active accounts.
    acts = bu[bu.has1][["family", "unit_id", "uai", "period_start", "published", "m1_k"]]
    pairs = acts.merge(acts, on="uai", suffixes=("_s", "_b"))
    pairs = pairs[pairs.period_start_s > pairs.period_start_b]
    for r in pairs.itertuples(index=False):
        s = actvar.get((r.family_s, r.unit_id_s))
        b = actvar.get((r.family_b, r.unit_id_b))
        if s is not None and b is not None:
            leq.append((s, b))
        elif s is not None:
            variables.at[s, "ub"] = min(variables.at[s, "ub"], float(r.m1_k_b))
        elif b is not None:
            variables.at[b, "lb"] = max(variables.at[b, "lb"], float(r.m1_k_s))
    variables["lb"] = variables["lb"].fillna(0.0)
    variables["ub"] = variables["ub"].fillna(np.inf)
    # A relation the figures do not satisfy (an ODE export, a test fixture) is no constraint for the attacker.
    value = variables["value"]
    variables.loc[variables["lb"] > value, "lb"] = 0.0
    variables.loc[variables["ub"] < value, "ub"] = np.inf
    leq = [(a, b) for a, b in leq if value.iat[a] <= value.iat[b]]
    variables.insert(0, "var", range(len(variables)))
    terms, rhs = _equations(bc, bm, lvar, avar, actvar)
    quantities, qinfo = _sensitive(bu, bc, bm, lvar, avar, actvar, variables)
    return Block(key, variables, terms, rhs, pd.DataFrame(leq, columns=["small", "big"]), quantities, qinfo)


def _unit_terms(m: pd.DataFrame, lvar, avar, actvar) -> pd.DataFrame:
    """Per membership row: the unit's unknowns (NaN where its count is a published constant)."""
    t = m[["family", "cell_id", "size", "m0_n", "m0_k", "m1_n", "m1_k"]].copy()
    t["lv"] = m["lkey"].map(lvar)
    t["av"] = m["lkey"].map(avar)
    t["xv"] = pd.Series(list(zip(m["family"], m["unit_id"])), index=m.index).map(actvar)
    t["has0"] = m["has0"]
    t["has1"] = m["has1"]
    return t


# measure of a cell → (column of the unit's unknown, mask of the units the sum runs over, value column)
MEASURES = (("size", "lv", None), ("m0_n", "lv", "has0"), ("m0_k", "av", None), ("m1_n", "lv", "has1"),
            ("m1_k", "xv", None))


def _equations(bc, bm, lvar, avar, actvar):
    """Rows of the published equalities: per published cell and measure, the sum of its unknowns equals
    the cell total minus its published members (= the true sum of the unknowns). Identical rows once."""
    empty = pd.DataFrame(columns=["row", "var", "coef"]), np.zeros(0)
    if bc is None or bm is None:
        return empty
    pub = bc.loc[bc.published, ["family", "cell_id"]]
    t = _unit_terms(bm.merge(pub, on=["family", "cell_id"]), lvar, avar, actvar)
    parts = []
    for measure, var_col, mask in MEASURES:
        sub = t if mask is None else t[t[mask]]
        sub = sub[sub[var_col].notna()]
        if sub.empty:
            continue
        parts.append(pd.DataFrame({"key": list(zip(sub["family"], sub["cell_id"], [measure] * len(sub))),
                                   "var": sub[var_col].astype(int).to_numpy(),
                                   "value": sub[measure].astype(float).to_numpy()}))
    if not parts:
        return empty
    terms = pd.concat(parts, ignore_index=True)
    terms["row0"] = pd.factorize(terms["key"])[0]
    rhs0 = terms.groupby("row0")["value"].sum().to_numpy()
    # Drop duplicate rows (same unknowns, same total): a hash of the unknowns per row.
    h = pd.util.hash_array(terms["var"].to_numpy()).astype(np.uint64)
    row_hash = np.zeros(len(rhs0), dtype=np.uint64)
    np.add.at(row_hash, terms["row0"].to_numpy(), h)
    count = np.bincount(terms["row0"].to_numpy(), minlength=len(rhs0))
    first = pd.DataFrame({"h": row_hash, "c": count, "r": np.round(rhs0, 6)}).drop_duplicates().index.to_numpy()
    keep = np.full(len(rhs0), -1)
    keep[first] = np.arange(len(first))
    terms["row"] = keep[terms["row0"].to_numpy()]
    terms = terms[terms["row"] >= 0]
    return terms[["row", "var"]].assign(coef=1.0).reset_index(drop=True), rhs0[first]


def _sensitive(bu, bc, bm, lvar, avar, actvar, variables):
    """Sensitive linear forms: counts of hidden units and hidden cells that fail the primary rule."""
    rows, qinfo = [], {}

    def add(info, terms, value, offset=0.0):
        """A form sum(coef * unknown) + offset whose true value is ``value``."""
        qid = len(qinfo)
        qinfo[qid] = {**info, "value": float(value), "offset": float(offset)}
        for v, c in terms:
            rows.append((qid, v, c))

    truth = variables["value"].to_numpy(float)

    def _true(terms):
        return float(sum(truth[v] * c for v, c in terms))

    seen = set()
    hidden = bu[~bu.published & ~bu.primary_pass]
    for r in hidden.itertuples(index=False):
        small = r.size < MIN_DENOMINATOR
        fail0 = small or (r.has0 and bool(_failing(r.size, r.m0_n, r.m0_k)))
        fail1 = small or (r.has1 and bool(_failing(r.size, r.m1_n, r.m1_k)))
        lv, av, xv = lvar.get(r.lkey), avar.get(r.lkey), actvar.get((r.family, r.unit_id))
        base = {"scope": "unit", "family": r.family, "unit_id": r.unit_id, "uai": r.uai,
                "group": (r.period_type, r.period, r.period_start, r.period_end, r.profile)}
        forms = []
        if small and lv is not None:
            forms.append(("loaded", [(lv, 1.0)], r.size, ("L", r.lkey), 0.0))
        known_l = 0.0 if lv is not None else float(r.size)
        if fail0 and av is not None:
            forms.append(("activated", [(av, 1.0)], r.m0_k, ("A", r.lkey), 0.0))
            forms.append(("loaded - activated", [(av, -1.0)] + ([(lv, 1.0)] if lv is not None else []),
                          r.size - r.m0_k, ("LA", r.lkey), known_l))
        if fail1 and xv is not None:
            forms.append(("active", [(xv, 1.0)], r.m1_k, ("X", r.family, r.unit_id), 0.0))
            forms.append(("loaded - active", [(xv, -1.0)] + ([(lv, 1.0)] if lv is not None else []),
                          r.size - r.m1_k, ("LX", r.family, r.unit_id), known_l))
        for name, terms, value, ident, *offset in forms:
            if ident in seen:
                continue
            seen.add(ident)
            add({**base, "quantity": name}, terms, value, *offset)
    if bc is not None and bm is not None:
        failing_cells = bc[~bc.published & ~bc.primary_pass]
        if len(failing_cells):
            m = bm.merge(failing_cells[["family", "cell_id"]], on=["family", "cell_id"])
            t = _unit_terms(m, lvar, avar, actvar)
            indexed = failing_cells.set_index(["family", "cell_id"])
            for (family, cell_id), g in t.groupby(["family", "cell_id"], sort=False):
                cell = indexed.loc[(family, cell_id)]
                base = {"scope": "cell", "family": family, "cell_id": int(cell_id),
                        "group": tuple(cell[c] for c in GROUP_COLS)}
                lv = [(int(v), 1.0) for v in g.lv.dropna()]
                forms = []
                if cell["size"] < MIN_DENOMINATOR:
                    forms.append(("loaded", lv, cell["size"]))
                if cell["m0_n"] > 0 and _failing(cell["size"], cell["m0_n"], cell["m0_k"]):
                    a = [(int(v), 1.0) for v in g.av.dropna()]
                    forms += [("activated", a, cell["m0_k"]),
                              ("loaded - activated", lv + [(v, -c) for v, c in a], cell["size"] - cell["m0_k"])]
                if cell["m1_n"] > 0 and _failing(cell["size"], cell["m1_n"], cell["m1_k"]):
                    x = [(int(v), 1.0) for v in g.xv.dropna()]
                    lv1 = [(int(v), 1.0) for v in g[g.has1].lv.dropna()]
                    forms += [("active", x, cell["m1_k"]),
                              ("loaded - active", lv1 + [(v, -c) for v, c in x], cell["m1_n"] - cell["m1_k"])]
                for name, terms, value in forms:
                    if terms:
                        add({**base, "quantity": name}, terms, value, value - _true(terms))
    quantities = pd.DataFrame(rows, columns=["qid", "var", "coef"])
    return quantities, qinfo


# --- fixes ---------------------------------------------------------------------------------------------

def _fixes(exposed: list[dict], cells: pd.DataFrame, members: pd.DataFrame) -> dict[str, list[dict]]:
    """One fix per exposed count, in the format of ``cell_suppression._fix``, grouped by family."""
    pub = cells[cells.published]
    out: dict[str, list[dict]] = {}
    for e in exposed:
        fam = e["family"]
        if e["scope"] == "unit":
            mine = members[(members.family == fam) & (members.unit_id == e["unit_id"])]
            cand = pub[(pub.family == fam) & pub.cell_id.isin(mine.cell_id)]
            uai = e["uai"]
        else:
            mine = members[(members.family == fam) & (members.cell_id == e["cell_id"])]
            shared = members[(members.family == fam) & members.unit_id.isin(mine.unit_id)]
            cand = pub[(pub.family == fam) & pub.cell_id.isin(shared.cell_id)]
            uai = None
        if cand.empty:
            continue
        fix = cand.sort_values(["cls_importance", "size", "cell_id"]).iloc[0]
        small = fix["breakdown"] != "all" or fix["schools"] <= 5 or uai is None
        out.setdefault(fam, []).append({"group": e["group"], "uai": uai, "fix_cell_id": int(fix["cell_id"]),
                                        "fix_small_cell": small})
    return out


def clear_release(con, families: list[Family], *, max_rounds: int = 60) -> tuple[list[SuppressionReport], AuditSummary]:
    """Suppress every family of the release together and audit the whole release (see the module doc).

    Raises when the audit still finds an exposed count after ``max_rounds`` rounds: nothing is published.
    """
    started = time.perf_counter()
    reports = {f.name: SuppressionReport(f.name) for f in families}
    for f in families:
        prepare_units(con, f)
        build_cells(con, f)
    summary = AuditSummary()
    by_name = {f.name: f for f in families}
    partnered: set = set()
    previous: dict = {}
    for round_ in range(1, max_rounds + 1):
        while True:
            for f in families:
                reports[f.name].iterations += apply_rules(con, f)
            if not _share_fates(con, families):
                break
        units, cells, members = _frames(con, families)
        # Only ever more is hidden: a block whose published figures did not change keeps its verdict (a
        # school hidden elsewhere only removes a bound, which widens ranges).
        state = {**{k: ("u", int(v)) for k, v in units.groupby(list(END_GROUP))["published"].sum().items()},
                 **{k + ("c",): int(v) for k, v in cells.groupby(list(END_GROUP))["published"].sum().items()}}
        changed = {k[:2] for k, v in state.items() if previous.get(k) != v}
        previous = state
        blocks = build_blocks(units, cells, members, only=changed)
        exposed = []
        summary.blocks += len(blocks)
        for block in blocks:
            summary.quantities += len(block.qinfo)
            exposed += audit_block(block)
        summary.rounds = round_
        if not exposed:
            break
        summary.exposed_found += len(exposed)
        for fam, fixes in _fixes(exposed, cells, members).items():
            for d in fixes:
                if d["uai"] is not None:
                    key = (d["group"], d["uai"])
                    if key in partnered or not by_name[fam].units_published:
                        d["fix_small_cell"] = True
                    partnered.add(key)
            _fix(con, by_name[fam], fixes)
            reports[fam].audit_fixes += len(fixes)
    else:
        raise RuntimeError(f"release audit still finds exposed counts after {max_rounds} rounds: nothing published")
    for f in families:
        r = reports[f.name]
        r.units, r.units_primary, published_units = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT primary_pass), count(*) FILTER (WHERE published) "
            f"FROM {f.units}").fetchall()[0]
        if f.units_published:
            r.units_secondary = r.units - r.units_primary - published_units
        r.cells, r.cells_primary, published_cells = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT primary_pass), count(*) FILTER (WHERE published) "
            f"FROM {f.cells}").fetchall()[0]
        r.cells_complementary = r.cells - r.cells_primary - published_cells
        r.audit = "passed"
    summary.seconds = round(time.perf_counter() - started, 2)
    for r in reports.values():
        r.seconds = summary.seconds
    return list(reports.values()), summary
