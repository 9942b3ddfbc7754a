"""Clear a whole release: every family of figures suppressed together, then the attacker's audit over all
of them (docs/disclosure_control.md).

``clear_release(con, families)`` takes the families of one release (their units tables staged as
``cell_suppression`` expects, with ``period_start`` and ``period_end`` among the group columns) and decides
what is published, in a loop that only ever hides more:

1. rules 1-3 of ``cell_suppression`` inside each family (primary, secondary, complementary);
2. **shared fates**: loaded and activated accounts depend only on a period's end, so a cell hidden in one
   period is hidden in every period, family and profile table that ends the same day (otherwise the
   published twin gives it away), and so is a school whose loaded or activated accounts fail the rule;
3. the attacker's audits: the exact linear audit of every period (``cell_suppression.audit_family``) and,
   on the days several periods end, protection intervals of the loaded and activated accounts they share
   (``protection_audit``, blocks (profile, period_end) across all families); every exposed count gets a fix
   (a partner school or one more cell hidden), then back to 1.

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
    SMALL_CELL_SCHOOLS,
    Family,
    SuppressionReport,
    _fix,
    apply_rules,
    audit_family,
    build_cells,
    prepare_units,
)
from pipelines.disclosure.protection_audit import Block, audit_block
from pipelines.privacy import MIN_CELL, MIN_DENOMINATOR, publishable_sql

END_GROUP = ("profile", "period_end")
# The exact linear audit of one period (one small SVD per académie, national cells tying them:
# ``cell_suppression.recoverable_columns``): groups with more unknown atoms are skipped (and said).
EXACT_AUDIT_MAX_ATOMS = 20_000
# The group columns every family of a release has (``period_start`` / ``period_end`` as ISO text).
GROUP_COLS = ("period_type", "period", "period_start", "period_end", "profile")


@dataclass
class AuditSummary:
    blocks: int = 0  # blocks audited, over all rounds
    quantities: int = 0  # sensitive hidden counts examined, over all rounds
    solved: int = 0  # of which the exchange certificate could not clear (sent to HiGHS)
    exposed_found: int = 0
    unpinned: int = 0  # schools hidden at earlier ends because their counts were pinned (``_unpin``)
    rounds: int = 0
    seconds: float = 0.0

    def as_metadata(self) -> dict:
        return dict(self.__dict__)


def _share_fates(con, families: list[Family]) -> int:
    """Hide, in every family and period ending the same day, what is hidden in one of them.

    A school that fails the rule for its active accounts or its sessions alone (August, with near-zero
    activity) keeps its figures in the other periods: its loaded and activated accounts, the counts periods
    ending the same day share, pass the rule and become published constants of the block, and the release
    audit checks what that reveals (``protection_audit``; active accounts belong to one period, audited in
    their group). A school failing on loaded or activated accounts, or hidden as a partner (its accounts
    protect another school's), shares its fate. So do cells: blocks of cells only are not interval-audited.
    """
    changed = 0
    school_level = [f for f in families if f.units_published]
    if school_level:
        fails_shared = (f"(primary_pass OR size < {MIN_DENOMINATOR} "
                        f"OR (m0_n > 0 AND NOT {publishable_sql('m0_n', 'm0_k')}))")
        hidden = " UNION ".join(f"SELECT profile, period_end, uai FROM {f.units} WHERE NOT published "
                                f"AND {fails_shared}" for f in school_level)
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

def _frames(con, families: list[Family], previous: tuple | None = None):
    """Units, cells and memberships of every family, as data frames (families tagged).

    With ``previous`` (the frames of an earlier round), only the ``published`` flags are read again: the
    rounds only ever hide more, everything else (counts, memberships, importance) is fixed."""
    if previous is not None:  # rows are in (family, id) order: the flags line up
        units, cells, members = previous
        for frame, table, key in ((units, "units", "unit_id"), (cells, "cells", "cell_id")):
            flags = np.concatenate([con.sql(f"SELECT published FROM {getattr(f, table)} ORDER BY {key}")
                                    .fetchnumpy()["published"] for f in families]).astype(bool)
            if len(flags) != len(frame):
                raise RuntimeError("release: a family's table changed size between rounds")
            frame["published"] = flags
        return units, cells, members
    units, cells, members = [], [], []
    for f in families:
        units.append(con.sql(f"""
            SELECT '{f.name}' AS family, unit_id, period_type, period, period_start::VARCHAR AS period_start,
                   period_end::VARCHAR AS period_end, profile, uai,
                   size, m0_n, m0_k, m1_n, m1_k, published, primary_pass, from_events
            FROM {f.units} ORDER BY unit_id""").df())
        cells.append(con.sql(f"""
            SELECT '{f.name}' AS family, cell_id, period_type, period, period_start::VARCHAR AS period_start,
                   period_end::VARCHAR AS period_end, profile,
                   {', '.join(CELL_KEY)}, schools, size, m0_n, m0_k, m1_n, m1_k, published, primary_pass,
                   cls_importance
            FROM {f.cells} ORDER BY cell_id""").df())
        members.append(con.sql(f"SELECT '{f.name}' AS family, unit_id, cell_id FROM {f.name}_members").df())
    return _with_blocks(pd.concat(units, ignore_index=True), pd.concat(cells, ignore_index=True),
                        pd.concat(members, ignore_index=True))


def _with_blocks(units: pd.DataFrame, cells: pd.DataFrame, members: pd.DataFrame):
    """The frames with an integer ``block`` column (one per (profile, period_end)) and ``block_keys``
    (block → key) in ``units.attrs``. Computed once per release: the rounds only change ``published``."""
    if "block" in units and "block" in cells and "block" in members:
        return units, cells, members
    keys = pd.concat([units[list(END_GROUP)], cells[list(END_GROUP)]]).drop_duplicates().reset_index(drop=True)
    keys["block"] = np.arange(len(keys))
    units = units.merge(keys, on=list(END_GROUP), how="left")
    cells = cells.merge(keys, on=list(END_GROUP), how="left")
    block_of_cell = cells[["family", "cell_id", "block"]]
    members = (members.merge(block_of_cell, on=["family", "cell_id"]).sort_values("block", kind="stable")
               .reset_index(drop=True))
    units.attrs["block_keys"] = dict(zip(keys["block"], zip(*(keys[c] for c in END_GROUP))))
    # Memberships never change between rounds: sorted by block once, each block's rows are a slice.
    blocks = members["block"].to_numpy()
    edges = np.flatnonzero(np.diff(blocks)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(blocks)]])
    members.attrs["slices"] = {int(blocks[a]): (int(a), int(b)) for a, b in zip(starts, ends) if b > a}
    return units, cells, members


def _block_ids(units: pd.DataFrame, only: set | None) -> np.ndarray | None:
    """The integer ids of the block keys ``only`` (None: every block)."""
    if only is None:
        return None
    return np.array([b for b, key in units.attrs["block_keys"].items() if key in only], dtype=np.int64)


def _cross_block_bounds(units: pd.DataFrame, only: set | None = None) -> pd.DataFrame:
    """Bounds on each school's hidden counts from its published figures in other blocks.

    Accounts and activations only accumulate (event-based schools): a published count at an earlier end
    is a lower bound, at a later end an upper bound. Active accounts: a published period inside this one
    is a lower bound, one containing it an upper bound.
    """
    pub = units[units.published & units.from_events][
        ["profile", "uai", "period_start", "period_end", "size", "m0_k", "m1_k", "m1_n"]]
    hid = units[~units.published][["family", "unit_id", "profile", "uai", "period_start", "period_end",
                                   "from_events"]]
    if only is not None:  # the hidden units of the blocks built (bounds come from every block)
        hid = hid[units.loc[hid.index, "block"].isin(_block_ids(units, only)).to_numpy()]
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


def build_blocks(units: pd.DataFrame, cells: pd.DataFrame, members: pd.DataFrame,
                 only: set | None = None, shared_only: bool = False,
                 schools: pd.DataFrame | None = None) -> list[Block]:
    """The independent blocks (profile, period_end) of a release: unknowns, equations, bounds, sensitive forms.

    ``units``: family, unit_id, period_type, period, period_start, period_end, profile, uai, size, m0_n,
    m0_k, m1_n, m1_k, published, primary_pass, from_events. ``cells``: family, cell_id, the same group
    columns, CELL_KEY, size and the measures, published, primary_pass, cls_importance. ``members``: family,
    unit_id, cell_id (every cell of the family each unit is in). ``only``: the block keys to build.
    ``shared_only``: only the loaded and activated counts (the unknowns periods ending the same day share);
    active counts belong to one period and are left to the exact linear audit of their own group.
    ``schools``: uai, academie_code, departement_code; each unknown then carries its school's académie and
    département, so the audit can first solve within a territory (``protection_audit.audit_block``).
    """
    units, cells, members = _with_blocks(units, cells, members)
    keys_of = units.attrs["block_keys"]
    bounds = _cross_block_bounds(units, only)  # from every block's published figures
    wanted = _block_ids(units, only)
    if wanted is not None:
        units = units[units["block"].isin(wanted).to_numpy()]
        cells = cells[cells["block"].isin(wanted).to_numpy()]
    units = units.merge(bounds, on=["family", "unit_id"], how="left")
    if schools is not None:
        units = units.merge(schools[["uai", "academie_code", "departement_code"]], on="uai", how="left")
    else:
        units = units.assign(academie_code=None, departement_code=None)
    # The school-level L/A unknown: one per (profile, end, school, value): equal values in one block are
    # one unknown (the same accounts); different ones (an ODE export read over different spans) are not.
    units["lkey"] = units.groupby(["block", "uai", "size", "m0_k"], sort=False).ngroup().to_numpy()
    # Whether the unit's activation / activity is measured (a school with no account: yes, all zero).
    units["has0"] = (units.m0_n > 0) | (units["size"] == 0)
    units["has1"] = (units.m1_n > 0) | (units["size"] == 0)
    blocks = []
    cells_by_block = dict(list(cells.groupby("block", sort=False)))
    slices = members.attrs.get("slices")
    if slices is None:  # frames whose block column was made elsewhere
        members_by_block = dict(list(members.groupby("block", sort=False)))
    else:
        built = None if wanted is None else set(wanted.tolist())
        members_by_block = {b: members.iloc[lo:hi] for b, (lo, hi) in slices.items()
                            if built is None or b in built}
    for b, bu in units.groupby("block", sort=False):
        if bu.published.all():
            continue
        bc = cells_by_block.get(b)
        bm = members_by_block.get(b)
        block = _block(keys_of[b], bu.reset_index(drop=True), bc, bm, shared_only)
        if block is not None:
            blocks.append(block)
    return blocks


def _block(key, bu: pd.DataFrame, bc: pd.DataFrame | None, bm: pd.DataFrame | None,
           shared_only: bool = False) -> Block | None:
    """Unknowns, relations and sensitive forms of one block; ``bu`` gets columns lv, av, xv (var ids, -1
    where the count is a published constant or not measured)."""
    known = set(bu.loc[bu.published, "lkey"])
    hidden_l = bu[~bu.published & ~bu.lkey.isin(known)]
    lrows = hidden_l.drop_duplicates("lkey")
    has_a = hidden_l.groupby("lkey")["has0"].any()
    arows = lrows[lrows.lkey.map(has_a).astype(bool).to_numpy()]
    xrows = bu[~bu.published & bu.has1]
    n_l, n_a, n_x = len(lrows), len(arows), len(xrows)
    if n_l + n_a + n_x == 0:
        return None
    l_id = pd.Series(np.arange(n_l), index=lrows.lkey.to_numpy())
    a_id = pd.Series(np.arange(n_l, n_l + n_a), index=arows.lkey.to_numpy())
    bu["lv"] = bu.lkey.map(l_id).fillna(-1).astype(int)
    bu["av"] = bu.lkey.map(a_id).fillna(-1).astype(int)
    bu["xv"] = -1
    bu.loc[xrows.index, "xv"] = np.arange(n_l + n_a, n_l + n_a + n_x)
    variables = pd.DataFrame({
        "kind": ["L"] * n_l + ["A"] * n_a + ["Act"] * n_x,
        "value": np.concatenate([lrows["size"], arows.m0_k, xrows.m1_k]).astype(float),
        "lb": np.concatenate([lrows.L_lb, arows.A_lb, xrows.Act_lb]).astype(float),
        "ub": np.concatenate([lrows.L_ub, arows.A_ub, xrows.Act_ub]).astype(float),
        **{col: np.concatenate([lrows[col], arows[col], xrows[col]]).astype(object)
           for col in ("uai", "academie_code", "departement_code")},
    })
    lb, ub = variables["lb"].to_numpy().copy(), variables["ub"].to_numpy().copy()
    lb[np.isnan(lb)] = 0.0
    ub[np.isnan(ub)] = np.inf
    # A <= L; Act <= L (an unknown L, or a published one as a bound).
    x = bu.loc[xrows.index]
    small = [a_id.to_numpy(), x.xv.to_numpy()[x.lv.to_numpy() >= 0]]
    big = [l_id[a_id.index].to_numpy(), x.lv.to_numpy()[x.lv.to_numpy() >= 0]]
    capped = x[x.lv.to_numpy() < 0]
    np.minimum.at(ub, capped.xv.to_numpy(), capped["size"].to_numpy(float))
    # Nested periods ending the same day: the shorter has no more active accounts.
    acts = bu[bu.has1][["uai", "period_start", "xv", "m1_k"]]
    pairs = acts.merge(acts, on="uai", suffixes=("_s", "_b"))
    pairs = pairs[pairs.period_start_s > pairs.period_start_b]
    both = pairs[(pairs.xv_s >= 0) & (pairs.xv_b >= 0)]
    small.append(both.xv_s.to_numpy())
    big.append(both.xv_b.to_numpy())
    upper = pairs[(pairs.xv_s >= 0) & (pairs.xv_b < 0)]
    np.minimum.at(ub, upper.xv_s.to_numpy(), upper.m1_k_b.to_numpy(float))
    lower = pairs[(pairs.xv_s < 0) & (pairs.xv_b >= 0)]
    np.maximum.at(lb, lower.xv_b.to_numpy(), lower.m1_k_s.to_numpy(float))
    # A relation the figures do not satisfy (an ODE export, a test fixture) is no constraint for the attacker.
    value = variables["value"].to_numpy()
    lb[lb > value] = 0.0
    ub[ub < value] = np.inf
    variables["lb"], variables["ub"] = lb, ub
    leq = pd.DataFrame({"small": np.concatenate(small).astype(int), "big": np.concatenate(big).astype(int)})
    leq = leq[value[leq.small.to_numpy()] <= value[leq.big.to_numpy()]].drop_duplicates().reset_index(drop=True)
    variables.insert(0, "var", range(len(variables)))
    t = _unit_terms(bu, bm)
    terms, rhs, row_cells = _equations(bc, t)
    quantities, qinfo = _sensitive(bu, bc, t, value, shared_only)
    return Block(key, variables, terms, rhs, leq, quantities, qinfo, row_cells=row_cells)


def _unit_terms(bu: pd.DataFrame, bm: pd.DataFrame | None) -> pd.DataFrame:
    """Per membership row: the unit's counts and unknowns (-1 where its count is a published constant)."""
    cols = ["family", "unit_id", "size", "m0_n", "m0_k", "m1_n", "m1_k", "has0", "has1", "lv", "av", "xv"]
    if bm is None:
        return pd.DataFrame(columns=["cell_id", *cols])
    return bm[["family", "unit_id", "cell_id"]].merge(bu[cols], on=["family", "unit_id"])


# measure of a cell → (column of the unit's unknown, mask of the units the sum runs over)
MEASURES = (("size", "lv", None), ("m0_n", "lv", "has0"), ("m0_k", "av", None), ("m1_n", "lv", "has1"),
            ("m1_k", "xv", None))


def _equations(bc, t: pd.DataFrame):
    """Rows of the published equalities: per published cell and measure, the sum of its unknowns equals
    the cell total minus its published members (= the true sum of the unknowns). Identical rows once.

    Returns the terms (row, var, coef), the right-hand sides and the cells of each row (row, family,
    cell_id: every published cell whose equation it is)."""
    empty = (pd.DataFrame(columns=["row", "var", "coef"]), np.zeros(0),
             pd.DataFrame(columns=["row", "family", "cell_id"]))
    if bc is None or t.empty:
        return empty
    pub = bc.loc[bc.published, ["family", "cell_id"]]
    t = t.merge(pub, on=["family", "cell_id"])
    parts = []
    for i, (measure, var_col, mask) in enumerate(MEASURES):
        sub = t if mask is None else t[t[mask]]
        sub = sub[sub[var_col] >= 0]
        if sub.empty:
            continue
        parts.append(pd.DataFrame({"family": sub["family"].to_numpy(), "cell_id": sub["cell_id"].to_numpy(),
                                   "measure": i, "var": sub[var_col].to_numpy(),
                                   "value": sub[measure].astype(float).to_numpy()}))
    if not parts:
        return empty
    terms = pd.concat(parts, ignore_index=True)
    terms["row0"] = terms.groupby(["family", "cell_id", "measure"], sort=False).ngroup()
    rhs0 = terms.groupby("row0")["value"].sum().to_numpy()
    # Drop duplicate rows (same unknowns, same total): a hash of the unknowns per row.
    h = pd.util.hash_array(terms["var"].to_numpy()).astype(np.uint64)
    row_hash = np.zeros(len(rhs0), dtype=np.uint64)
    np.add.at(row_hash, terms["row0"].to_numpy(), h)
    count = np.bincount(terms["row0"].to_numpy(), minlength=len(rhs0))
    signature = pd.DataFrame({"h": row_hash, "c": count, "r": np.round(rhs0, 6)})
    first = signature.drop_duplicates().index.to_numpy()
    keep = np.full(len(rhs0), -1)
    keep[first] = np.arange(len(first))
    # Every row of a duplicate group maps to its first one (groups numbered in order of first appearance,
    # as ``drop_duplicates`` keeps them): the cells behind one equation.
    row_of = signature.groupby(["h", "c", "r"], sort=False).ngroup().to_numpy()
    heads = terms.drop_duplicates("row0")[["row0", "family", "cell_id"]]
    row_cells = pd.DataFrame({"row": row_of[heads["row0"].to_numpy()], "family": heads["family"].to_numpy(),
                              "cell_id": heads["cell_id"].to_numpy()}).drop_duplicates()
    terms["row"] = keep[terms["row0"].to_numpy()]
    terms = terms[terms["row"] >= 0]
    return terms[["row", "var"]].assign(coef=1.0).reset_index(drop=True), rhs0[first], row_cells


def _failing(size, n, k):
    return (size < MIN_DENOMINATOR) | ((n > 0) & ((n < MIN_DENOMINATOR) | (k < MIN_CELL) | (n - k < MIN_CELL)))


def _cell_forms(bc, t: pd.DataFrame, value: np.ndarray, rows: list, qinfo: dict,
                shared_only: bool = False) -> None:
    """Sensitive forms of the hidden cells that fail the primary rule (set-based: cells are many)."""
    fc = bc[~bc.published & ~bc.primary_pass].copy()
    if fc.empty:
        return
    fc["need_l"] = fc["size"] < MIN_DENOMINATOR
    fc["need_0"] = (fc.m0_n > 0) & _failing(fc["size"], fc.m0_n, fc.m0_k)
    fc["need_1"] = (fc.m1_n > 0) & _failing(fc["size"], fc.m1_n, fc.m1_k) & (not shared_only)
    m = t.merge(fc[["family", "cell_id", "need_l", "need_0", "need_1"]], on=["family", "cell_id"])
    spec = (  # quantity, cells that need it, [(unknown column, coefficient, members mask)], true value
        ("loaded", "need_l", [("lv", 1.0, None)], fc["size"]),
        ("activated", "need_0", [("av", 1.0, None)], fc.m0_k),
        ("loaded - activated", "need_0", [("lv", 1.0, None), ("av", -1.0, None)], fc["size"] - fc.m0_k),
        ("active", "need_1", [("xv", 1.0, None)], fc.m1_k),
        ("loaded - active", "need_1", [("lv", 1.0, "has1"), ("xv", -1.0, None)], fc.m1_n - fc.m1_k),
    )
    parts = []
    truth = {}
    for name, need, columns, true_values in spec:
        truth[name] = dict(zip(zip(fc.family, fc.cell_id), true_values))
        sub = m[m[need]]
        for col, coef, mask in columns:
            sel = sub if mask is None else sub[sub[mask]]
            sel = sel[sel[col] >= 0]
            parts.append(pd.DataFrame({"family": sel.family.to_numpy(), "cell_id": sel.cell_id.to_numpy(),
                                       "quantity": name, "var": sel[col].to_numpy(), "coef": coef}))
    terms = pd.concat(parts, ignore_index=True)
    if terms.empty:
        return
    terms["q"] = terms.groupby(["family", "cell_id", "quantity"], sort=False).ngroup()
    terms["contribution"] = value[terms["var"].to_numpy()] * terms["coef"].to_numpy()
    forms = terms.groupby("q", sort=True).agg(family=("family", "first"), cell_id=("cell_id", "first"),
                                              quantity=("quantity", "first"), known=("contribution", "sum"))
    groups = dict(zip(zip(fc.family, fc.cell_id), zip(*(fc[c] for c in GROUP_COLS))))
    base = len(qinfo)
    for q, r in zip(forms.index, forms.itertuples(index=False)):
        true_value = float(truth[r.quantity][(r.family, r.cell_id)])
        qinfo[base + q] = {"scope": "cell", "family": r.family, "cell_id": int(r.cell_id),
                           "group": groups[(r.family, r.cell_id)], "quantity": r.quantity,
                           "value": true_value, "offset": true_value - float(r.known)}
    rows.extend(zip((terms["q"] + base).tolist(), terms["var"].tolist(), terms["coef"].tolist()))


def _sensitive(bu: pd.DataFrame, bc, t: pd.DataFrame, value: np.ndarray, shared_only: bool = False):
    """Sensitive linear forms: counts of hidden units and hidden cells that fail the primary rule.

    Each form is sum(coef * unknown) + offset; ``qinfo`` gives its true value, offset and what to report."""
    rows, qinfo = [], {}

    def add(info, terms, true_value):
        qid = len(qinfo)
        offset = float(true_value) - float(sum(value[v] * c for v, c in terms))
        qinfo[qid] = {**info, "value": float(true_value), "offset": offset}
        rows.extend((qid, v, c) for v, c in terms)

    hidden = bu[~bu.published & ~bu.primary_pass]
    small = hidden["size"].to_numpy() < MIN_DENOMINATOR
    fail0 = small | (hidden.has0.to_numpy() & _failing(hidden["size"], hidden.m0_n, hidden.m0_k).to_numpy())
    fail1 = small | (hidden.has1.to_numpy() & _failing(hidden["size"], hidden.m1_n, hidden.m1_k).to_numpy())
    if shared_only:
        fail1 &= False
    seen = set()
    for r, is_small, f0, f1 in zip(hidden.itertuples(index=False), small, fail0, fail1):
        base = {"scope": "unit", "family": r.family, "unit_id": r.unit_id, "uai": r.uai,
                "group": (r.period_type, r.period, r.period_start, r.period_end, r.profile)}
        lv = [(r.lv, 1.0)] if r.lv >= 0 else []
        forms = []
        if is_small and lv:
            forms.append(("loaded", lv, r.size, ("L", r.lv)))
        if f0 and r.av >= 0:
            forms += [("activated", [(r.av, 1.0)], r.m0_k, ("A", r.av)),
                      ("loaded - activated", lv + [(r.av, -1.0)], r.size - r.m0_k, ("LA", r.av))]
        if f1 and r.xv >= 0:
            forms += [("active", [(r.xv, 1.0)], r.m1_k, ("X", r.xv)),
                      ("loaded - active", lv + [(r.xv, -1.0)], r.size - r.m1_k, ("LX", r.xv))]
        for name, terms, true_value, ident in forms:
            if ident not in seen:
                seen.add(ident)
                add({**base, "quantity": name}, terms, true_value)
    if bc is not None and not t.empty:
        _cell_forms(bc, t, value, rows, qinfo, shared_only)
    return pd.DataFrame(rows, columns=["qid", "var", "coef"]), qinfo


# --- fixes ---------------------------------------------------------------------------------------------

# Equations with more unknowns than this are not searched for pinned partners (``_pinned_neighbours``).
UNPIN_MAX_ROW_UNKNOWNS = 50


def _pinned_neighbours(block: Block, exposed: list[dict]) -> pd.DataFrame:
    """Schools whose hidden loaded/activated accounts in this block are pinned from other blocks, next to
    an exposed count: qid (the exposed count's), uai.

    Accounts only accumulate, so a school published at an earlier and at a later end with the same counts
    has those counts at every end between: hiding it there (a partner) hides nothing. An exposed count that
    shares a published equation with such a school cannot be protected by hiding more cells; the fix is to
    hide the school's figure at the earlier ends where its counts are the same (``_unpin``)."""
    if not exposed or "qid" not in exposed[0]:
        return pd.DataFrame(columns=["qid", "uai"])
    v = block.variables
    q = block.quantities[block.quantities["qid"].isin([e["qid"] for e in exposed])][["qid", "var"]]
    t = block.terms[["row", "var"]]
    # Local equations only (a département's or an académie's cells): a national cell holds every hidden
    # school of France, and unpinning all of them would hide most school figures.
    size = t.groupby("row")["var"].size()
    t = t[t["row"].isin(size[size <= UNPIN_MAX_ROW_UNKNOWNS].index)]
    near = (q.merge(t, on="var")[["qid", "row"]].drop_duplicates().merge(t, on="row")[["qid", "var"]]
            .drop_duplicates())
    near = near[~near.set_index(["qid", "var"]).index.isin(q.set_index(["qid", "var"]).index)]
    dep = v["departement_code"].to_numpy()
    qdep = pd.Series(dep[q["var"].to_numpy()], index=q["qid"].to_numpy()).groupby(level=0).first()
    near = near[dep[near["var"].to_numpy()] == qdep.reindex(near["qid"]).to_numpy()]
    value, lb, ub = (v[c].to_numpy(float)[near["var"].to_numpy()] for c in ("value", "lb", "ub"))
    kind = v["kind"].to_numpy()[near["var"].to_numpy()]
    near = near.assign(uai=v["uai"].to_numpy()[near["var"].to_numpy()])
    pinned = near[np.isin(kind, ["L", "A"]) & (lb >= value) & (ub <= value)]
    return pinned[["qid", "uai"]].dropna().drop_duplicates().reset_index(drop=True)


def _unpin(con, families: list[Family], key: tuple, schools: pd.DataFrame) -> set:
    """Hide the schools' figures at the earlier ends where their loaded or activated accounts are those of
    block ``key`` = (profile, period_end): the lower bounds that pinned them there are gone (one side is
    enough; the later ends — the school year above all — stay published). Returns the schools hidden
    somewhere new."""
    school_level = [f for f in families if f.units_published]
    if schools.empty or not school_level:
        return set()
    profile, end = key
    con.execute("CREATE OR REPLACE TEMP TABLE _pinned (uai VARCHAR)")
    con.executemany("INSERT INTO _pinned VALUES (?)", [[u] for u in schools["uai"].unique()])
    here = " UNION ".join(f"SELECT uai, size, m0_k FROM {f.units} WHERE profile = ? AND period_end = ?::DATE "
                          f"AND uai IN (SELECT uai FROM _pinned)" for f in school_level)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pinned_counts AS {here}",
                [x for _ in school_level for x in (profile, end)])
    changed: set = set()
    for f in school_level:
        changed |= {u for (u,) in con.execute(f"""
            UPDATE {f.units} u SET published = false FROM _pinned_counts p
            WHERE u.published AND u.from_events AND u.profile = ? AND u.period_end < ?::DATE AND u.uai = p.uai
              AND (u.size = p.size OR u.m0_k = p.m0_k)
            RETURNING u.uai
        """, [profile, end]).fetchall()}
    return changed


def _with_binding_cells(block: Block, found: list[dict]) -> list[dict]:
    """The exposures with ``binding_cells``: (row, family, cell_id) of the published cells behind the
    equalities that bind their range (``protection_audit``: rows with a non-zero dual; identical equations
    of several cells are one row)."""
    rc = block.row_cells
    if not found or rc is None or rc.empty:
        return found
    by_row = rc.groupby("row")[["family", "cell_id"]].apply(lambda g: list(zip(g["family"], g["cell_id"])))
    out = []
    for e in found:
        cells = [(r, *c) for r in e.get("binding", ()) for c in by_row.get(r, [])]
        out.append({**e, "binding_cells": cells})
    return out


def _fixes(con, exposed: list[dict], families: list[Family]) -> dict[str, list[dict]]:
    """One fix per exposed count, in the format of ``cell_suppression._fix``, grouped by family: the cell
    to hide when the fix is a cell (a school's first fix hides a partner school instead: ``_fix``).

    Where the audit says which published cells pin the count (``binding_cells``: the equalities with a
    non-zero dual at an end of its range), it is the least important of them: that breaks the subtraction
    the attacker uses (a cell minus a nested one leaving the school alone), where hiding a cell that merely
    holds the school often does not. Otherwise: the least important published cell holding the exposed
    school (or sharing a school with the exposed cell). Set-based over the families' membership tables
    (tens of millions of rows nationally)."""
    e = pd.DataFrame(exposed).reset_index(names="eid")
    for col in ("unit_id", "cell_id"):
        e[col] = (e[col] if col in e else pd.Series(np.nan, index=e.index)).astype("Int64")
    pins = [(eid, int(row), fam, int(cell)) for eid, d in enumerate(exposed)
            for row, fam, cell in d.get("binding_cells", ())]
    pinned = pd.DataFrame(pins, columns=["eid", "row", "family", "cell_id"])
    con.register("_exposed", e[["eid", "family", "scope", "unit_id", "cell_id"]])
    con.register("_pinning", pinned)
    out: dict[str, list[dict]] = {}
    done: set[int] = set()  # exposures fixed through a pinning cell

    def add(family, eid, cell_id, schools, breakdown):
        d = exposed[eid]
        uai = d.get("uai") if d["scope"] == "unit" else None
        small = breakdown != "all" or schools <= SMALL_CELL_SCHOOLS or uai is None
        out.setdefault(family, []).append({"group": d["group"], "uai": uai, "fix_cell_id": int(cell_id),
                                           "fix_small_cell": small})
    try:
        if len(pinned):
            every = " UNION ALL ".join(f"SELECT '{f.name}' AS family, cell_id, cls_importance, size, schools, "
                                       f"breakdown FROM {f.cells} WHERE published" for f in families)
            # The equation to remove: every published cell behind it is hidden (identical equations of
            # several cells are one row), the row whose most important cell is least important first.
            for eid, fam, cell_id, schools, breakdown in con.execute(f"""
                WITH c AS (SELECT p.eid, p.row, c.* FROM _pinning p
                           JOIN ({every}) c ON c.family = p.family AND c.cell_id = p.cell_id),
                best AS (SELECT eid, row FROM c GROUP BY eid, row
                         QUALIFY row_number() OVER (PARTITION BY eid ORDER BY max(cls_importance), min(size),
                                                    row) = 1)
                SELECT c.eid, c.family, c.cell_id, c.schools, c.breakdown
                FROM c JOIN best USING (eid, row) ORDER BY c.eid, c.family, c.cell_id
            """).fetchall():
                add(fam, eid, cell_id, schools, breakdown)
                done.add(eid)
        for f in families:
            if not ((e["family"] == f.name) & ~e["eid"].isin(done)).any():
                continue
            picks = con.execute(f"""
                WITH e AS (SELECT eid, scope, unit_id, cell_id FROM _exposed
                           WHERE family = ? AND eid NOT IN (SELECT unnest(?::BIGINT[]))),
                u AS (SELECT eid, unit_id FROM e WHERE scope = 'unit'
                      UNION SELECT e.eid, m.unit_id FROM e JOIN {f.name}_members m ON m.cell_id = e.cell_id
                      WHERE e.scope = 'cell')
                SELECT u.eid, c.cell_id, c.schools, c.breakdown
                FROM u JOIN {f.name}_members m ON m.unit_id = u.unit_id
                JOIN {f.cells} c ON c.cell_id = m.cell_id AND c.published
                QUALIFY row_number() OVER (PARTITION BY u.eid ORDER BY c.cls_importance, c.size, c.cell_id) = 1
                ORDER BY u.eid
            """, [f.name, sorted(done)]).fetchall()
            for eid, cell_id, schools, breakdown in picks:
                add(f.name, eid, cell_id, schools, breakdown)
    finally:
        con.unregister("_exposed")
        con.unregister("_pinning")
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
    group_state: dict = {}
    skipped: set[str] = set()
    has_schools = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                              "AND table_name = 'schools'").fetchall()[0][0]
    schools = (con.sql("SELECT uai, academie_code, departement_code FROM schools").df() if has_schools
               else None)
    frames = None
    for round_ in range(1, max_rounds + 1):
        while True:
            for f in families:
                reports[f.name].iterations += apply_rules(con, f)
            if not _share_fates(con, families):
                break
        frames = _frames(con, families, frames)
        units, cells, members = frames
        # Only ever more is hidden: a block whose published figures did not change keeps its verdict (a
        # school hidden elsewhere only removes a bound, which widens ranges).
        key_of = units.attrs["block_keys"]
        state = {**{(b, "u"): int(v) for b, v in units.groupby("block")["published"].sum().items()},
                 **{(b, "c"): int(v) for b, v in cells.groupby("block")["published"].sum().items()}}
        changed = {key_of[k[0]] for k, v in state.items() if previous.get(k) != v}
        previous = state
        # Interval audit where school figures are published (where stacking periods, families and
        # school rows can pin a count); blocks of cells only get the exact linear audit per group.
        with_schools = {key_of[b] for b in units.loc[units.published, "block"].unique()}
        periods = units.groupby("block")["period"].nunique()
        stacked = {key_of[b] for b in periods[periods > 1].index}
        blocks = build_blocks(units, cells, members, only=changed & with_schools & stacked,
                              shared_only=True, schools=schools)
        exposed = []
        for f in families:
            # Groups whose published figures changed since the last round (all of them the first time).
            g = ", ".join(f.group_cols)
            now: dict = {}
            for table in (f.units, f.cells):
                for *key, n in con.execute(f"SELECT {g}, count(*) FILTER (WHERE published) FROM {table} "
                                           "GROUP BY ALL").fetchall():
                    now[(table, tuple(key))] = n
            moved = {k[1] for k, v in now.items() if group_state.get(k) != v}
            group_state.update(now)
            if not moved:
                continue
            disclosures, skipped_now = audit_family(con, f, max_atoms=EXACT_AUDIT_MAX_ATOMS, groups=moved)
            if skipped_now:
                skipped.add(f.name)
            if disclosures:  # exact linear recovery inside one period: a partner school or one more cell
                summary.exposed_found += len(disclosures)
                for d in disclosures:
                    key = (tuple(map(str, d["group"])), d["uai"])
                    if key in partnered or not f.units_published:
                        d["fix_small_cell"] = True
                    partnered.add(key)
                _fix(con, f, disclosures)
                reports[f.name].audit_fixes += len(disclosures)
                exposed.append(None)
        summary.blocks += len(blocks)
        for block in blocks:
            summary.quantities += len(block.qinfo)
            found, solved = audit_block(block)
            summary.solved += solved
            # An exposure next to a pinned partner: unpin the partner (the cause) rather than hide a cell.
            pinned = _pinned_neighbours(block, found)
            unpinned = _unpin(con, families, block.key, pinned)
            if unpinned:
                summary.unpinned += len(unpinned)
                deferred = set(pinned.loc[pinned["uai"].isin(unpinned), "qid"])
                summary.exposed_found += len(deferred)
                exposed.append(None)
                found = [e for e in found if e["qid"] not in deferred]
            exposed += _with_binding_cells(block, found)
        summary.rounds = round_
        if not exposed:
            break
        exposed = [e for e in exposed if e is not None]
        summary.exposed_found += len(exposed)
        for fam, fixes in (_fixes(con, exposed, families) if exposed else {}).items():
            before = set(partnered)  # a school's first fix is a partner (all its entries of this round)
            for d in fixes:
                if d["uai"] is not None:
                    key = (d["group"], d["uai"])
                    if key in before or not by_name[fam].units_published:
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
        r.audit = (f"passed; skipped for groups of more than {EXACT_AUDIT_MAX_ATOMS} unknown atoms"
                   if f.name in skipped else "passed")
    summary.seconds = round(time.perf_counter() - started, 2)
    for r in reports.values():
        r.seconds = summary.seconds
    return list(reports.values()), summary
