"""The release audit against brute force: on small random releases (a month and the week ending the same
day share loaded and activated accounts), the exact intervals of every sensitive hidden count equal those of
an enumeration of every integer solution consistent with what is published, and the audit flags exactly
the counts that enumeration finds exposed."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.disclosure.protection_audit import audit_block, exchange_widths, protection_intervals, restrict
from pipelines.disclosure.release import build_blocks
from pipelines.privacy import protection_width

PERIODS = {"month": ("month", "2025-11", "2025-11-01", "2025-11-30"),
           "week": ("week", "2025-W48", "2025-11-24", "2025-11-30")}
CELLS = [("nation", "FR", "all"), ("departement", "D1", "all"), ("departement", "D2", "all"),
         ("nation", "FR", "ecole"), ("nation", "FR", "college")]


def _in_cell(school, cell):
    geo_level, geo_code, level = cell
    return (geo_level == "nation" or school["dep"] == geo_code) and (level == "all" or school["level"] == level)


@st.composite
def releases(draw):
    n_schools = draw(st.integers(2, 4))
    schools = []
    for i in range(n_schools):
        size = draw(st.integers(0, 2))
        act_m = draw(st.integers(0, size))
        schools.append({"uai": f"s{i}", "dep": draw(st.sampled_from(["D1", "D2"])),
                        "level": draw(st.sampled_from(["ecole", "college"])),
                        "L": size, "A": draw(st.integers(0, size)), "month": act_m,
                        "week": draw(st.integers(0, act_m))})
    hidden = set(draw(st.lists(st.integers(0, n_schools - 1), min_size=1, max_size=2, unique=True)))
    cell_pub = {(fam, c): draw(st.booleans()) for fam in PERIODS for c in CELLS}
    # The nation total is always published in the month: every unknown is bounded, as in real releases.
    cell_pub[("month", CELLS[0])] = True
    return schools, hidden, cell_pub


def _frames(schools, hidden, cell_pub):
    units, cells, members = [], [], []
    for fam, (ptype, period, start, end) in PERIODS.items():
        for i, s in enumerate(schools):
            units.append({"family": fam, "unit_id": i, "period_type": ptype, "period": period,
                          "period_start": start, "period_end": end, "profile": "parent", "uai": s["uai"],
                          "size": s["L"], "m0_n": s["L"], "m0_k": s["A"], "m1_n": s["L"], "m1_k": s[fam],
                          # the week's school figures are never published; the month's unless hidden
                          "published": fam == "month" and i not in hidden, "primary_pass": False,
                          "from_events": True})
        for j, cell in enumerate(CELLS):
            inside = [i for i, s in enumerate(schools) if _in_cell(s, cell)]
            size = sum(schools[i]["L"] for i in inside)
            cells.append({"family": fam, "cell_id": j, "period_type": ptype, "period": period,
                          "period_start": start, "period_end": end, "profile": "parent",
                          "geo_level": cell[0], "geo_code": cell[1], "level": cell[2], "secteur": "all",
                          "breakdown": "all", "breakdown_value": "all", "schools": len(inside), "size": size,
                          "m0_n": size, "m0_k": sum(schools[i]["A"] for i in inside), "m1_n": size,
                          "m1_k": sum(schools[i][fam] for i in inside), "published": cell_pub[(fam, cell)],
                          "primary_pass": False, "cls_importance": j})
            members += [{"family": fam, "unit_id": i, "cell_id": j} for i in inside]
    return pd.DataFrame(units), pd.DataFrame(cells), pd.DataFrame(members)


def _brute_force(schools, hidden, cell_pub):
    """Every integer solution consistent with what is published. Unknowns: (L, A, month active, week
    active) of each hidden school, the week active of each other school (school week figures are never
    published). Returns a frame with one column per unknown, one row per solution."""
    hidden_total = sum(schools[i]["L"] for i in hidden)  # = published national total − published schools
    per_hidden = [(L, A, m, w) for L in range(hidden_total + 1) for A in range(L + 1) for m in range(L + 1)
                  for w in range(m + 1)]
    choices = []
    for i, s in enumerate(schools):
        if i in hidden:
            choices.append([dict(zip(("L", "A", "month", "week"), t)) for t in per_hidden])
        else:
            choices.append([{"L": s["L"], "A": s["A"], "month": s["month"], "week": w}
                            for w in range(s["month"] + 1)])
    solutions = []
    for combo in itertools.product(*choices):
        ok = True
        for (fam, cell), published in cell_pub.items():
            if not published:
                continue
            inside = [i for i, s in enumerate(schools) if _in_cell(s, cell)]
            for measure in ("L", "A", fam):
                if sum(combo[i][measure] for i in inside) != sum(schools[i][measure] for i in inside):
                    ok = False
                    break
            if not ok:
                break
        if ok:
            solutions.append({(i, m): v for i, c in enumerate(combo) for m, v in c.items()})
    return pd.DataFrame(solutions)


def _form(solutions, school, quantity, family):
    act = solutions[(school, family)]
    return {"loaded": solutions[(school, "L")], "activated": solutions[(school, "A")],
            "loaded - activated": solutions[(school, "L")] - solutions[(school, "A")],
            "active": act, "loaded - active": solutions[(school, "L")] - act}[quantity]


def _cell_form(solutions, schools, cell, quantity, family):
    inside = [i for i, s in enumerate(schools) if _in_cell(s, cell)]
    return sum(_form(solutions, i, quantity, family) for i in inside)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(releases())
def test_audit_intervals_match_brute_force(release):
    schools, hidden, cell_pub = release
    units, cells, members = _frames(schools, hidden, cell_pub)
    blocks = build_blocks(units, cells, members)
    assert len(blocks) == 1
    block = blocks[0]
    solutions = _brute_force(schools, hidden, cell_pub)
    assert len(solutions) >= 1  # the truth is always a solution
    intervals = protection_intervals(block).set_index("qid")
    certified = exchange_widths(block)
    exposed_brute = set()
    for qid, info in block.qinfo.items():
        if info["scope"] == "unit":
            form = _form(solutions, int(info["uai"][1:]), info["quantity"], info["family"])
            key = ("unit", info["uai"], info["family"], info["quantity"])
        else:
            form = _cell_form(solutions, schools, CELLS[info["cell_id"]], info["quantity"], info["family"])
            key = ("cell", info["cell_id"], info["family"], info["quantity"])
        lo, hi = intervals.loc[qid, "lo"], intervals.loc[qid, "hi"]
        assert (lo, hi) == (form.min(), form.max()), (info, lo, hi, form.min(), form.max())
        # The solver-free certificate is an inner bound: never wider than the true range.
        assert certified[qid] <= form.max() - form.min() + 1e-9, (info, certified[qid])
        if form.max() - form.min() < protection_width(info["value"]):
            exposed_brute.add(key)
    exposed_audit = {("unit", e["uai"], e["family"], e["quantity"]) if e["scope"] == "unit"
                     else ("cell", e["cell_id"], e["family"], e["quantity"]) for e in audit_block(block)[0]}
    assert exposed_audit == exposed_brute
    # Solving first within each département (the other unknowns fixed at their true values) gives ranges
    # inside the true ones, and the same verdicts.
    territories = pd.DataFrame({"uai": [s["uai"] for s in schools], "academie_code": "A1",
                                "departement_code": [s["dep"] for s in schools]})
    territorial = build_blocks(units, cells, members, schools=territories)[0]
    assert {("unit", e["uai"], e["family"], e["quantity"]) if e["scope"] == "unit"
            else ("cell", e["cell_id"], e["family"], e["quantity"])
            for e in audit_block(territorial)[0]} == exposed_brute
    for dep in ("D1", "D2"):
        sub = restrict(territorial, territorial.variables["departement_code"].to_numpy() == dep)
        for qid, lo, hi in protection_intervals(sub)[["qid", "lo", "hi"]].itertuples(index=False):
            assert intervals.loc[qid, "lo"] <= lo <= hi <= intervals.loc[qid, "hi"], (dep, qid, lo, hi)
    # Every hidden school count and hidden cell count that fails the rule was examined.
    examined = {(i["scope"], i.get("uai", i.get("cell_id")), i["family"], i["quantity"])
                for i in block.qinfo.values()}
    for i in hidden:
        assert ("unit", f"s{i}", "month", "loaded") in examined


def test_the_audit_names_the_published_equations_that_pin_a_count():
    """A count pinned by a subtraction (a cell minus a nested one leaves the school alone) comes back with
    the two equations as ``binding`` (numbered in the unrestricted block after ``restrict``), and without
    either of them its range is wide: the release hides one of those cells (``release._fixes``)."""
    from pipelines.disclosure.protection_audit import Block

    variables = pd.DataFrame({"var": range(5), "kind": "L", "value": [40.0, 3.0, 20.0, 30.0, 9.0],
                              "lb": 0.0, "ub": float("inf"), "academie_code": ["A2", "A1", "A1", "A1", "A1"]})
    rows = [[0], [1, 2, 3], [2, 3], [1, 4]]  # row 0 only holds the school of another académie
    terms = pd.DataFrame([(r, v, 1.0) for r, vs in enumerate(rows) for v in vs], columns=["row", "var", "coef"])
    rhs = np.array([variables["value"].to_numpy()[vs].sum() for vs in rows])
    block = Block(("parent", "2025-11-30"), variables, terms, rhs, pd.DataFrame(columns=["small", "big"]),
                  pd.DataFrame({"qid": [0], "var": [1], "coef": [1.0]}),
                  {0: {"scope": "unit", "value": 3.0, "offset": 0.0}})
    whole = protection_intervals(block).iloc[0]
    assert (whole.lo, whole.hi) == (3.0, 3.0) and set(whole.binding) == {1, 2}
    sub = restrict(block, (variables["academie_code"] == "A1").to_numpy())
    assert list(sub.row_origin) == [1, 2, 3]
    part = protection_intervals(sub).iloc[0]
    assert (part.lo, part.hi) == (3.0, 3.0) and set(part.binding) == {1, 2}
    exposed, _ = audit_block(block)
    assert [set(e["binding"]) for e in exposed] == [{1, 2}]
    for dropped in (1, 2):
        keep = terms["row"] != dropped
        rest = [r for r in range(len(rows)) if r != dropped]
        renumber = {r: i for i, r in enumerate(rest)}
        loose = Block(block.key, variables, terms[keep].assign(row=terms.loc[keep, "row"].map(renumber)),
                      rhs[rest], block.leq, block.quantities, block.qinfo)
        wide = protection_intervals(loose).iloc[0]
        assert wide.hi - wide.lo >= protection_width(3.0), (dropped, wide)
