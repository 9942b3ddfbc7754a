"""The attacker's audit across periods: protection intervals of the hidden counts periods share.

An attacker holds every published figure (all periods, families, profiles, tables and reports) and solves
for what was hidden. For every hidden count that fails the primary rule, this module computes the smallest
and the largest value consistent with everything published, the way statistical offices check a
suppression pattern (τ-ARGUS, sdcTable), and calls the count *exposed* when that range is narrower than the
protection width of ``pipelines.privacy.protection_width`` (docs/disclosure_control.md).

The unknowns, per profile
-------------------------
Loaded (``L``) and activated (``A``) accounts of a school depend only on the period's **end**: ISO week 48,
November and (in December) T1 share them. So the release is cut into independent **blocks**
``(profile, period_end)``; in a block one school has one ``L`` and one ``A`` unknown, shared by every
period, family and table that ends that day, and one active-accounts unknown ``Act`` per period.

What the attacker knows (the constraints)
-----------------------------------------
* every published cell: its loaded, loaded-with-known-activation, activated, loaded-with-known-activity and
  active accounts are sums over its schools (published schools are constants, hidden ones unknowns);
* ``0 <= A <= L``, ``0 <= Act <= L``; a period inside another ending the same day has no more active
  accounts (December ⊂ T1; the week ending 30 November ⊂ November);
* counts cannot decrease as a period's end moves later, and active accounts of a period are bounded by
  those of the periods around it: published school figures of other blocks bound the unknowns
  (accounts and activations only accumulate; a week has no more active accounts than its month);
* integrality: counts are whole numbers (the intervals come from an integer program).

Cross-block relations enter as bounds from *published* figures of other blocks; relations between two
hidden figures of different blocks (e.g. a hidden week and a hidden month of the same school) are not
modelled: docs/disclosure_control.md says so.

Cost
----
Most hidden counts are certified protected without any solver: within an **atom** (unknowns that enter
exactly the same published equations) moving a value from one member to another changes nothing that is
published, so each member can move as far as the others' bounds allow (an exchange certificate: an inner
bound of its range). Only the counts an exchange cannot certify, and the hidden primary-failing cells,
are solved exactly with HiGHS (``highspy``: the LP relaxation, then the integer program where its
vertex is not integral), first within their département and then their académie (the rest of the block
fixed at its true values: ``restrict``), and over the whole block only when a territory does not clear them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from pipelines.privacy import protection_width

INF = float("inf")
# Blocks up to this many unknowns get exact integer ends where the LP vertex is fractional; larger ones
# the LP bound rounded to whole counts (an outer bound of the integer range: docs/disclosure_control.md).
MAX_INTEGER_UNKNOWNS = 300
# Equality row kinds: which count of a cell the row sums.
SIZE, M0N, M0K, M1N, M1K = "size", "m0_n", "m0_k", "m1_n", "m1_k"


@dataclass
class Block:
    """One independent system of equations: the unknowns of one (profile, period_end).

    ``variables``: var (int, 0..n-1), kind ('L', 'A', 'Act'), value (true), lb, ub (bounds from published
    figures of other blocks; 0 / inf when none).
    ``terms``: row, var, coef of the published equalities; ``rhs``: their right-hand sides.
    ``leq``: pairs (small, big) of variables with small <= big.
    ``quantities``: qid, var, coef: the sensitive linear forms; ``qinfo``: qid → dict (true value and what
    to report).
    ``row_cells``: row, family, cell_id: the published cells each equality comes from (the fixes read it);
    ``row_origin``: for a restricted block, each row's index in the block it was cut from.
    """

    key: tuple
    variables: pd.DataFrame
    terms: pd.DataFrame
    rhs: np.ndarray
    leq: pd.DataFrame
    quantities: pd.DataFrame
    qinfo: dict = field(default_factory=dict)
    row_cells: pd.DataFrame | None = None
    row_origin: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.variables)


def _matrix(block: Block):
    """Rows of the block: its equalities (lower = upper = rhs), then its pairs small - big <= 0."""
    n = block.n
    parts, lower, upper = [], [], []
    if len(block.terms):
        parts.append(sparse.csr_matrix((block.terms["coef"].to_numpy(float),
                                        (block.terms["row"].to_numpy(), block.terms["var"].to_numpy())),
                                       shape=(len(block.rhs), n)))
        lower.append(block.rhs)
        upper.append(block.rhs)
    if len(block.leq):
        m = len(block.leq)
        rows = np.concatenate([np.arange(m), np.arange(m)])
        cols = np.concatenate([block.leq["small"].to_numpy(), block.leq["big"].to_numpy()])
        parts.append(sparse.csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]), (rows, cols)), shape=(m, n)))
        lower.append(np.full(m, -INF))
        upper.append(np.zeros(m))
    if not parts:
        return sparse.csc_matrix((0, n)), np.zeros(0), np.zeros(0)
    return sparse.vstack(parts).tocsc(), np.concatenate(lower), np.concatenate(upper)


class _Solver:
    """One HiGHS model per block; each sensitive form is one objective (minimised, then maximised).

    The LP relaxation is solved first (warm-started from the previous objective); when its optimal vertex
    is not integral the same objective is solved again as an integer program, so the ends are exact."""

    def __init__(self, block: Block):
        matrix, lower, upper = _matrix(block)
        self.n = block.n
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n, matrix.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = block.variables["lb"].to_numpy(float)
        lp.col_upper_ = np.where(np.isfinite(block.variables["ub"].to_numpy(float)),
                                 block.variables["ub"].to_numpy(float), highspy.kHighsInf)
        lp.row_lower_ = np.where(np.isfinite(lower), lower, -highspy.kHighsInf)
        lp.row_upper_ = upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        h.passModel(lp)
        self.h = h
        self.index = np.arange(self.n, dtype=np.int32)
        self.key = block.key
        self.integer = False
        self.n_eq = len(block.rhs)
        # Original rows (of the block this one was cut from) of the equalities binding the last LP end.
        self.origin = block.row_origin if block.row_origin is not None else np.arange(self.n_eq)
        self.binding = np.zeros(0, dtype=np.int64)

    def _solve(self, cost: np.ndarray, maximise: bool, integer: bool) -> tuple[str, float, np.ndarray | None]:
        h = self.h
        h.changeColsCost(self.n, self.index, cost)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize)
        if integer != self.integer:  # switching clears the warm start: only when needed
            kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
            h.changeColsIntegrality(self.n, self.index, np.full(self.n, kind))
            self.integer = integer
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "unbounded", INF if maximise else -INF, None
        raise RuntimeError(f"protection audit: block {self.key} has no feasible solution "
                           f"(the published figures are inconsistent): {h.modelStatusToString(status)}")

    def end(self, cost: np.ndarray, maximise: bool) -> float:
        """The min or max of ``cost · x``; ``binding`` then holds the equalities with a non-zero dual at the
        LP optimum (the published cells that pin this end: the fix hides one of them)."""
        state, value, x = self._solve(cost, maximise, integer=False)
        if state == "optimal" and self.n_eq:
            dual = np.asarray(self.h.getSolution().row_dual)[:self.n_eq]
            self.binding = self.origin[np.nonzero(np.abs(dual) > 1e-9)[0]]
        else:
            self.binding = np.zeros(0, dtype=np.int64)
        if state == "optimal" and np.abs(x - np.round(x)).max(initial=0.0) > 1e-6:
            if self.n <= MAX_INTEGER_UNKNOWNS:
                state, value, _ = self._solve(cost, maximise, integer=True)
            else:  # the LP bound, rounded inwards: a range that holds the integer one
                value = np.floor(value + 1e-9) if maximise else np.ceil(value - 1e-9)
        return value


def protection_intervals(block: Block, qids: list | None = None, need: dict | None = None) -> pd.DataFrame:
    """Exact [lo, hi] of each sensitive quantity of the block given everything published.

    With ``need`` (qid → protection width), a quantity whose maximum already lies ``need`` above its true
    value is not minimised (the truth is feasible, so its range is wide enough): ``lo`` is then NaN.
    ``binding``: the equalities (rows of the unrestricted block) binding either end.
    """
    solver = _Solver(block)
    out = []
    wanted = block.quantities if qids is None else block.quantities[block.quantities["qid"].isin(qids)]
    for qid, q in wanted.groupby("qid", sort=False):
        c = np.zeros(block.n)
        np.add.at(c, q["var"].to_numpy(), q["coef"].to_numpy(float))
        info = block.qinfo.get(qid, {})
        offset = info.get("offset", 0.0)
        hi = solver.end(c, maximise=True) + offset
        binding = solver.binding
        if need is not None and hi - info["value"] >= need[qid] - 1e-9:
            out.append({"qid": qid, "lo": np.nan, "hi": hi, "binding": ()})
            continue
        lo = solver.end(c, maximise=False) + offset
        binding = tuple(np.union1d(binding, solver.binding).tolist())
        out.append({"qid": qid, "lo": lo, "hi": hi, "binding": binding})
    return pd.DataFrame(out, columns=["qid", "lo", "hi", "binding"])


def exchange_widths(block: Block) -> pd.Series:
    """Certified (inner) width of each sensitive quantity's range, without a solver; index qid.

    Unknowns with the same equality signature (same published rows, same coefficients) form an atom: moving
    t from one member to others leaves every published figure unchanged. With every other unknown at its
    true value, a member can go down by min(its room down, the others' room up) and up symmetrically; that
    range is feasible, hence inside the attacker's range. Rooms come from the bounds and the <= pairs.
    """
    v = block.variables
    n = block.n
    value = v["value"].to_numpy(float)
    lb = v["lb"].to_numpy(float).copy()
    ub = v["ub"].to_numpy(float).copy()
    if len(block.leq):  # others at their true values: a pair bounds each side
        small, big = block.leq["small"].to_numpy(), block.leq["big"].to_numpy()
        np.minimum.at(ub, small, value[big])
        np.maximum.at(lb, big, value[small])
    down = np.maximum(value - lb, 0.0)
    up = np.maximum(ub - value, 0.0)
    # Equality signature of each variable: its (row, coef) pairs, hashed.
    t = block.terms
    sig = pd.Series(0, index=range(n), dtype="int64")
    if len(t):
        h = pd.util.hash_pandas_object(t[["row", "coef"]], index=False).to_numpy()
        sig_sum = np.zeros(n, dtype=np.uint64)
        np.add.at(sig_sum, t["var"].to_numpy(), h)
        sig = pd.Series(sig_sum.astype(np.int64))
    in_rows = np.bincount(t["var"].to_numpy(), minlength=n) > 0 if len(t) else np.zeros(n, dtype=bool)
    atoms = pd.factorize(pd.Series(list(zip(v["kind"].to_numpy(), sig.to_numpy()))))[0]
    tot_down = np.bincount(atoms, weights=down)
    tot_up = np.bincount(atoms, weights=np.where(np.isfinite(up), up, 1e18))
    others_down = tot_down[atoms] - down
    others_up = tot_up[atoms] - np.where(np.isfinite(up), up, 1e18)
    var_width = np.minimum(down, others_up) + np.minimum(up, others_down)
    # A variable in no published equation moves freely within its own bounds.
    var_width[~in_rows] = (up + down)[~in_rows]
    # Unit forms (L, A, Act, L - A, L - Act of one school) move by at least as much as their best single
    # unknown, the others fixed (an atom's other members are other schools' unknowns, not in the form).
    # Cell forms (sums over schools) may move less (two members of one atom cancel): the solver decides.
    q = block.quantities
    unit_q = [qid for qid, info in block.qinfo.items() if info["scope"] == "unit"]
    qq = q[q["qid"].isin(unit_q)]
    widths = pd.Series(0.0, index=list(block.qinfo))
    if len(qq):
        w = var_width[qq["var"].to_numpy()] * qq["coef"].abs().to_numpy(float)
        widths.update(pd.Series(w).groupby(qq["qid"].to_numpy()).max())
    return widths


def restrict(block: Block, keep: np.ndarray) -> Block:
    """The block with every unknown outside ``keep`` (a boolean mask) fixed at its true value.

    Its feasible set is a slice of the block's through the true point, so the range of a form whose
    unknowns are all kept is *inside* its range in the whole block: wide enough here means wide enough.
    Forms with an unknown outside ``keep`` are dropped."""
    v = block.variables
    value = v["value"].to_numpy(float)
    new_id = np.full(block.n, -1)
    new_id[keep] = np.arange(int(keep.sum()))
    variables = v[keep].copy()
    variables["var"] = np.arange(len(variables))
    lb, ub = variables["lb"].to_numpy(float).copy(), variables["ub"].to_numpy(float).copy()
    t = block.terms
    rhs = block.rhs.copy()
    if len(t):
        kept = keep[t["var"].to_numpy()]
        fixed = t[~kept]
        np.subtract.at(rhs, fixed["row"].to_numpy(), fixed["coef"].to_numpy(float) * value[fixed["var"].to_numpy()])
        t = t[kept]
        rows = np.unique(t["row"].to_numpy())
        row_id = np.full(len(rhs), -1)
        row_id[rows] = np.arange(len(rows))
        t = pd.DataFrame({"row": row_id[t["row"].to_numpy()], "var": new_id[t["var"].to_numpy()],
                          "coef": t["coef"].to_numpy(float)})
        rhs = rhs[rows]
    else:
        rows = np.zeros(0, dtype=np.int64)
    origin = (block.row_origin if block.row_origin is not None else np.arange(len(block.rhs)))[rows]
    leq = block.leq
    if len(leq):
        small, big = leq["small"].to_numpy(), leq["big"].to_numpy()
        ks, kb = keep[small], keep[big]
        np.minimum.at(ub, new_id[small[ks & ~kb]], value[big[ks & ~kb]])  # small <= a fixed big
        np.maximum.at(lb, new_id[big[kb & ~ks]], value[small[kb & ~ks]])  # big >= a fixed small
        leq = pd.DataFrame({"small": new_id[small[ks & kb]], "big": new_id[big[ks & kb]]})
    variables["lb"], variables["ub"] = lb, ub
    q = block.quantities
    inside = q.assign(ok=keep[q["var"].to_numpy()]).groupby("qid")["ok"].all()
    qids = set(inside[inside].index)
    q = q[q["qid"].isin(qids)]
    q = q.assign(var=new_id[q["var"].to_numpy()])
    return Block(block.key, variables, t, rhs, leq, q, {k: block.qinfo[k] for k in qids},
                 row_cells=block.row_cells, row_origin=origin)


# Territories tried before the whole block, smallest first: most hidden counts are protected by schools
# of their own département, and a solve there is much cheaper than one over the nation.
TERRITORIES = ("departement_code", "academie_code")
# Above this many unknowns (a national block: ~130 k at 43 k schools) a count that its académie does not
# clear is called exposed without a national solve (each costs minutes there). The académie range is an
# inner bound of the true one, so this errs on the side of hiding more: docs/disclosure_control.md.
WHOLE_BLOCK_MAX_UNKNOWNS = 20_000


def audit_block(block: Block) -> tuple[list[dict], int]:
    """The exposed quantities of the block (dicts of qinfo plus lo, hi, width needed), and how many
    quantities needed the solver.

    Each count the exchange certificate leaves is solved first with the unknowns outside its territory
    (its département, then its académie) fixed at their true values (``restrict``): a range wide enough
    there is wide enough in the block. Only the rest are solved over the whole block."""
    if block.quantities.empty:
        return [], 0
    truth = {qid: info["value"] for qid, info in block.qinfo.items()}
    need = {qid: protection_width(val) for qid, val in truth.items()}
    certified = exchange_widths(block)
    todo = [qid for qid in block.qinfo if certified.get(qid, 0.0) < need[qid]]
    n_solved = len(todo)
    ranges: dict = {}  # qid → (lo, hi, binding rows) in the last territory tried
    for column in TERRITORIES:
        if not todo or column not in block.variables or block.variables[column].isna().all():
            continue
        territory = block.variables[column].fillna("").to_numpy()
        q = block.quantities[block.quantities["qid"].isin(todo)]
        where = pd.Series(territory[q["var"].to_numpy()]).groupby(q["qid"].to_numpy()).agg(
            lambda s: s.iloc[0] if s.nunique() == 1 and s.iloc[0] else None).dropna()
        cleared = set()
        for code, qids in where.groupby(where).groups.items():
            sub = restrict(block, territory == code)
            wide = protection_intervals(sub, list(qids), need)
            ok = wide["lo"].isna() | (wide["hi"] - wide["lo"] >= wide["qid"].map(need) - 1e-9)
            cleared.update(wide.loc[ok, "qid"])
            ranges.update({qid: (lo, hi, rows) for qid, lo, hi, rows in wide.itertuples(index=False)})
        todo = [qid for qid in todo if qid not in cleared]
    if not todo:
        return [], n_solved
    exposed = []
    if block.n > WHOLE_BLOCK_MAX_UNKNOWNS:  # the académie's verdict stands for what it could not clear
        exposed = [{**block.qinfo[qid], "qid": qid, "lo": ranges[qid][0], "hi": ranges[qid][1],
                    "binding": ranges[qid][2], "width_needed": need[qid]} for qid in todo if qid in ranges]
        todo = [qid for qid in todo if qid not in ranges]
        if not todo:
            return exposed, n_solved
    intervals = protection_intervals(block, todo, need)
    for qid, lo, hi, rows in intervals.itertuples(index=False):
        if not np.isnan(lo) and hi - lo < need[qid] - 1e-9:
            exposed.append({**block.qinfo[qid], "qid": qid, "lo": lo, "hi": hi, "binding": rows,
                            "width_needed": need[qid]})
    return exposed, n_solved
