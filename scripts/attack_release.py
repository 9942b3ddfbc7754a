"""An attacker's search of a published release for hidden school counts that linear algebra recovers.

Independent of the publisher's code: it reads only the serving copy (what the dashboard, its downloads and
the weekly reports show) and, to tell which recovered figures the primary rule hides, optionally the
warehouse. For every profile and period end it stacks every published cell of every period ending that
day (loaded and activated accounts are the same there), and for every period its active accounts; the
unknowns are the schools whose figures are not published; a school's count is recovered when its unit
vector lies in the row space of the published equations (exact, SVD).

    uv run python scripts/attack_release.py --serving PATH [--warehouse PATH] [--reports DIR]

With ``--reports`` (a week's folder of weekly reports, HTML), it first checks that the reports add no
equation: every account or school count in their text and every value of their charts (rates in points,
two decimals) must be a figure the serving copy publishes for that académie or France; what is not is
listed. Then the reports' figures are a subset of the serving copy and the search below covers them.

It also tries to recover the denominators that feature-reach cells do not publish from their 95 % margins
(``reach_margin``): a margin must be a class of the documented ladder on a cell of at least 10 schools; under
the binomial model with any intra-school correlation (``se² = r(1 − r)((1 − ρ)/N + ρ/S)``, 0 ≤ ρ ≤ 1) such a
class bounds the denominator N from below only (see ``reach_denominators``), never to a range.

Prints what it found and exits 1 when a report figure is not published, a recovered count fails the
primary rule, a reach margin is not a class or pins its denominator, or a standard error is not recomputable.

It also recomputes every standard error of the adoption cells from the serving copy alone
(``standard_errors``): a parent or pupil cell's must follow from the cell's published figures and the
published schools, a staff cell's must be a documented class; a standard error that does not could carry
hidden school figures.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np

ATTRS = ("academie_code", "departement_code", "level", "secteur", "education_prioritaire", "rural_urban",
         "ips_quintile")


def _members(schools: dict, geo_level, geo_code, level, secteur, breakdown, value) -> list[str]:
    out = []
    for uai, s in schools.items():
        if geo_level == "academie" and s["academie_code"] != geo_code:
            continue
        if geo_level == "departement" and s["departement_code"] != geo_code:
            continue
        if (level != "all" and s["level"] != level) or (secteur != "all" and s["secteur"] != secteur):
            continue
        if breakdown != "all" and (s.get(breakdown) or "inconnu") != value:
            continue
        out.append(uai)
    return out


def recoverable(matrix: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    if matrix.size == 0:
        return np.zeros(matrix.shape[1], dtype=bool)
    _, s, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((s > s.max() * max(matrix.shape) * np.finfo(float).eps * 10).sum()) if s.size else 0
    return (vt[:rank] ** 2).sum(axis=0) > 1 - tol


def attack(srv) -> list[dict]:
    schools = {r[0]: dict(zip(("uai", *ATTRS), r)) for r in srv.execute(
        f"SELECT uai, {', '.join(ATTRS)} FROM schools").fetchall()}
    for s in schools.values():
        for a in ATTRS:
            s[a] = s[a] if s[a] is not None else "inconnu"
    # breakdown cells of a profile use the profile's own national IPS quintile
    quintiles = dict(((u, p), q) for u, p, q in srv.execute("SELECT * FROM school_ips_quintiles").fetchall())
    by_profile = {p: {u: s | {"ips_quintile": quintiles.get((u, p), "inconnu")} for u, s in schools.items()}
                  for p in {p for _, p in quintiles}}
    ends = dict(((t, p), e) for t, p, e in srv.execute("SELECT period_type, period, period_end FROM periods").fetchall())
    published = {(t, p, prof, u): (loaded, activated, active) for t, p, prof, u, loaded, activated, active in srv.execute(
        "SELECT period_type, period, profile, uai, loaded, activated, active FROM school_adoption "
        "WHERE NOT suppressed").fetchall()}
    # School figures published at a period end are known for every period ending that day.
    known_end = {(prof, ends[(t, p)], u): v for (t, p, prof, u), v in published.items()}
    cells = srv.execute("""SELECT period_type, period, profile, geo_level, geo_code, level, secteur, breakdown,
        breakdown_value, schools, loaded, activated, active FROM adoption_cells WHERE NOT suppressed""").fetchall()
    blocks: dict[tuple, list] = defaultdict(list)
    for t, p, prof, *key, n_schools, loaded, activated, active in cells:
        members = _members(by_profile.get(prof, schools), *key)
        if len(members) != n_schools:
            continue  # schools without figures for this profile: the attacker cannot place the cell exactly
        end = ends[(t, p)]
        for measure, total in (("loaded", loaded), ("activated", activated)):
            blocks[(prof, str(end), measure)].append((members, total, None))
        blocks[(prof, f"{t} {p}", "active")].append((members, active, (t, p)))
    found = []
    for (prof, when, measure), rows in blocks.items():
        unknown = sorted({u for members, _, period in rows for u in members
                          if (measure != "active" and (prof, _date(when), u) not in known_end)
                          or (measure == "active" and (period[0], period[1], prof, u) not in published)})
        if not unknown:
            continue
        col = {u: j for j, u in enumerate(unknown)}
        matrix = np.zeros((len(rows), len(unknown)))
        for i, (members, _, _) in enumerate(rows):
            for u in members:
                if u in col:
                    matrix[i, col[u]] = 1.0
        for j in np.flatnonzero(recoverable(matrix)):
            found.append({"profile": prof, "when": when, "measure": measure, "uai": unknown[j]})
    return found


# A count followed by what it counts; "au moins N comptes" states the rule, not a figure.
COUNT = re.compile(r"(?<!au moins\s)(?<![\d,])(\d{1,3}(?:[ \u202f\u00a0]\d{3})*|\d+)\s+(?:comptes|établissements|actifs)")
PLOT = re.compile(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', re.S)


def report_figures(path: Path) -> tuple[list[int], list[float]]:
    """The account and school counts of a report's text and the numbers of its charts."""
    page = path.read_text(encoding="utf-8")
    charts = [v for m in PLOT.finditer(page) for trace in json.loads(m.group(1))
              for axis in ("x", "y") for v in (trace.get(axis) or []) if isinstance(v, (int, float))]
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)))
    counts = [int(re.sub(r"\D", "", m.group(1))) for m in COUNT.finditer(text)]
    return counts, charts


def check_reports(srv, folder: Path) -> list[dict]:
    """Report figures that are not figures of the serving copy (for the report's académie or France)."""
    missing = []
    for path in sorted(folder.glob("*.html")):
        m = re.match(r"academie-(\w+?)-", path.name)
        geos = ["FR"] + ([m.group(1)] if m else [])
        marks = ", ".join("?" * len(geos))
        # The text's counts are the week's; the charts show parents' weekly rates (all levels and
        # secteurs, by IPS quintile too) and services' reach (of the week or a month).
        counts = {int(v) for row in srv.execute(f"""
            SELECT loaded, activated, active, schools, sessions FROM adoption_cells
            WHERE NOT suppressed AND geo_code IN ({marks}) AND period_type = 'week' AND period = ?""",
            [*geos, folder.name]).fetchall() for v in row if v is not None}
        # the Leviers section names how many published schools the levers were fitted on
        counts |= {int(v) for (v,) in srv.execute("SELECT schools_used FROM levers_fit").fetchall() if v is not None}
        rates = {round(100 * v, 2) for row in srv.execute(f"""
            SELECT active_rate, activation_rate, mobile_share FROM adoption_cells
            WHERE NOT suppressed AND geo_code IN ({marks}) AND period_type = 'week' AND profile = 'parent'
              AND level = 'all' AND secteur = 'all'
            UNION ALL SELECT reach, NULL, NULL FROM reach_cells WHERE NOT suppressed AND geo_code IN ({marks})
              AND profile = 'parent' AND level = 'all' AND secteur = 'all' AND breakdown = 'all'""",
            geos + geos).fetchall() for v in row if v is not None}
        text_counts, chart_values = report_figures(path)
        missing += [{"report": path.name, "count": c} for c in text_counts if c not in counts]
        missing += [{"report": path.name, "chart value": v} for v in chart_values
                    if round(v, 2) not in rates and not float(v).is_integer()]
        print(f"  {path.name}: {len(text_counts)} counts, {len(chart_values)} chart values checked")
    return missing


# The documented classes of a margin (docs/equity_fit_guards.md, section 2), in points; at least 10 schools.
MARGIN_CLASSES = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 100)
MIN_MARGIN_SCHOOLS = 10


def reach_denominators(srv) -> tuple[list[dict], int]:
    """Reach cells whose margin is not a documented class on at least 10 schools, and how many margins were
    tried. (A class cannot pin N: the set of N it is consistent with is empty or unbounded above.)"""
    from scipy import stats

    rows = srv.execute("""SELECT period_type, period, profile, service, geo_code, level, breakdown_value, schools,
        reach, reach_margin FROM reach_cells WHERE NOT suppressed AND reach_margin IS NOT NULL""").fetchall()
    found = []
    for *key, schools, r, m in rows:
        points = round(100 * m, 6)
        if points not in MARGIN_CLASSES or schools < MIN_MARGIN_SCHOOLS:
            found.append({"cell": key, "margin": m, "schools": schools, "why": "not a class"})
            continue
        below = ([0, *MARGIN_CLASSES][MARGIN_CLASSES.index(points)]) / 100
        t = stats.t.ppf(0.975, schools - 1)
        # se² ranges over [r(1-r)/N, r(1-r)/S] as ρ goes from 0 to 1 (N ≥ S): N is consistent with the class
        # iff r(1-r)/N ≤ (m/t)² and r(1-r)/S > (below/t)²; the second does not depend on N, so the set of
        # consistent N is empty or unbounded above.
        # When consistent, N ≥ r(1-r)(t/m)² is all the class says: a lower bound, never a range.
        if r * (1 - r) / schools <= (below / t) ** 2:
            continue  # the model cannot produce this margin: nothing is learnt about N
    return found, len(rows)


# The standard errors of adoption cells (docs/equity_fit_guards.md, section 2): column -> (rate, a published
# school's k and n, the cell's n), all from published figures.
SE_OF_RATES = {
    "activation_rate_se": ("activation_rate", "activated", "activated / activation_rate", "activated / activation_rate"),
    "active_rate_se": ("active_rate", "active", "active / active_rate", "active / active_rate"),
    "mobile_share_se": ("mobile_share", "round(mobile_share * visits_per_active * active)",
                        "round(visits_per_active * active)", "sessions"),
}
WEEK_OF_TRIMESTER = """SELECT w.period, t.period AS trimester FROM periods w JOIN periods t ON t.period_type = 'trimester'
    AND w.period_start BETWEEN t.period_start AND t.period_end WHERE w.period_type = 'week'"""


def _with_weeks(table: str) -> str:
    return (f"SELECT * FROM {table} UNION ALL SELECT 'week', w.period, x.* EXCLUDE (period_type, period) "
            f"FROM ({WEEK_OF_TRIMESTER}) w JOIN {table} x ON x.period_type = 'trimester' AND x.period = w.trimester")


def standard_errors(srv) -> tuple[list[dict], int]:
    """Published standard errors that are not a function of the serving copy. A parent or pupil cell's rate
    se must be Kish's ``sqrt(p(1-p)/n (1 + (n/S - 1) rho))`` with rho estimated by moments on the published
    schools (at least 10) of its period × profile × level; visits per active account ``R/R0 sqrt(a/X + b/S)``
    with ``a, b >= 0`` the least squares of the schools' squared deviations on ``x`` and ``x²`` and ``R0`` their
    pooled ratio; weeks take their trimester's. A staff cell's 1.96 × se must be a documented class on at least 10 schools (its school figures
    are never published). Anything else could carry hidden school figures."""
    from pipelines.fr_format import Z95

    found, tried = [], 0
    key = "c.period_type, c.period, c.profile, c.geo_code, c.level, c.secteur, c.breakdown, c.breakdown_value"
    on = "r.period_type = c.period_type AND r.period = c.period AND r.profile = c.profile AND r.level = c.level"
    for column, (rate, k, n, cell_n) in SE_OF_RATES.items():
        srv.execute(f"""CREATE OR REPLACE TEMP TABLE _rho AS
            WITH s AS (SELECT period_type, period, profile, level, ({k})::DOUBLE AS k, ({n})::DOUBLE AS n
                       FROM school_adoption WHERE NOT suppressed AND {rate} > 0),
            q AS (SELECT period_type, period, profile, coalesce(level, 'all') AS level, count(*) AS m,
                         sum(k) / sum(n) AS p, sum(n) AS sn, sum(n * (n - 1)) AS snn FROM s
                  GROUP BY GROUPING SETS ((period_type, period, profile, level), (period_type, period, profile)))
            SELECT q.period_type, q.period, q.profile, q.level,
                   greatest(0, (sum((s.k - s.n * q.p) ^ 2) - q.p * (1 - q.p) * q.sn) / (q.p * (1 - q.p) * q.snn)) AS rho
            FROM q JOIN s USING (period_type, period, profile)
            WHERE (q.level = 'all' OR s.level = q.level) AND q.m >= {MIN_MARGIN_SCHOOLS} AND q.p < 1
            GROUP BY q.period_type, q.period, q.profile, q.level, q.p, q.sn, q.snn""")
        rows = srv.execute(f"""SELECT {key}, c.{column},
                sqrt(c.{rate} * (1 - c.{rate}) / ({cell_n}) * (1 + greatest(({cell_n}) / c.schools - 1, 0) * r.rho))
            FROM adoption_cells c LEFT JOIN ({_with_weeks('_rho')}) r ON {on}
            WHERE NOT c.suppressed AND c.profile IN ('parent', 'eleve') AND c.{rate} > 0 AND c.{rate} < 1
              AND c.{column} IS NOT NULL""").fetchall()
        staff = srv.execute(f"""SELECT {key}, c.schools, c.{column} FROM adoption_cells c
            WHERE NOT c.suppressed AND c.profile NOT IN ('parent', 'eleve') AND c.{column} IS NOT NULL""").fetchall()
        tried += len(rows) + len(staff)
        found += [{"cell": r[:8], column: r[8], "expected": r[9]} for r in rows
                  if r[9] is None or abs(r[8] - r[9]) > 1e-6 * r[9]]
        found += [{"cell": r[:8], column: r[9], "why": "not a class"} for r in staff
                  if round(100 * Z95 * r[9], 6) not in MARGIN_CLASSES or r[8] < MIN_MARGIN_SCHOOLS]
    srv.execute(f"""CREATE OR REPLACE TEMP TABLE _ab AS
        WITH s AS (SELECT period_type, period, profile, level, active::DOUBLE AS x,
                          (visits_per_active * active)::DOUBLE AS y
                   FROM school_adoption WHERE NOT suppressed AND visits_per_active > 0),
        q AS (SELECT period_type, period, profile, coalesce(level, 'all') AS level, count(*) AS m,
                     sum(y) / sum(x) AS ratio FROM s
              GROUP BY GROUPING SETS ((period_type, period, profile, level), (period_type, period, profile))),
        z AS (SELECT q.period_type, q.period, q.profile, q.level, any_value(q.ratio) AS ratio,
                     sum(s.x ^ 2) AS x2, sum(s.x ^ 3) AS x3, sum(s.x ^ 4) AS x4,
                     sum((s.y - q.ratio * s.x) ^ 2 * s.x) AS ex,
                     sum((s.y - q.ratio * s.x) ^ 2 * s.x ^ 2) AS exx
              FROM q JOIN s USING (period_type, period, profile)
              WHERE (q.level = 'all' OR s.level = q.level) AND q.m >= {MIN_MARGIN_SCHOOLS}
              GROUP BY q.period_type, q.period, q.profile, q.level),
        f AS (SELECT *, (ex * x4 - exx * x3) / (x2 * x4 - x3 * x3) AS a0, (exx * x2 - ex * x3) / (x2 * x4 - x3 * x3) AS b0
              FROM z)
        SELECT period_type, period, profile, level, ratio,
               CASE WHEN a0 >= 0 AND b0 >= 0 THEN a0 WHEN b0 < 0 THEN ex / x2 ELSE 0 END AS a,
               CASE WHEN a0 >= 0 AND b0 >= 0 THEN b0 WHEN b0 < 0 THEN 0 ELSE exx / x4 END AS b FROM f""")
    rows = srv.execute(f"""SELECT {key}, c.visits_per_active_se,
            c.visits_per_active / r.ratio * sqrt(r.a * c.visits_per_active / c.sessions + r.b / c.schools)
        FROM adoption_cells c LEFT JOIN ({_with_weeks('_ab')}) r ON {on}
        WHERE NOT c.suppressed AND c.visits_per_active_se IS NOT NULL""").fetchall()
    tried += len(rows)
    found += [{"cell": r[:8], "visits_per_active_se": r[8], "expected": r[9]} for r in rows
              if r[9] is None or abs(r[8] - r[9]) > 1e-6 * r[9]]
    return found, tried


def _date(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serving", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--reports", type=Path, help="a week's folder of weekly reports (HTML)")
    args = parser.parse_args()
    srv = duckdb.connect(str(args.serving), read_only=True)
    unpublished = []
    if args.reports:
        unpublished = check_reports(srv, args.reports)
        print(f"report figures that the serving copy does not publish: {len(unpublished)}")
        for u in unpublished[:20]:
            print("  ", u)
    pinned, tried = reach_denominators(srv)
    print(f"reach margins tried: {tried}; not a documented class (could narrow their denominator): {len(pinned)}")
    for p in pinned[:20]:
        print("  ", p)
    odd_se, tried_se = standard_errors(srv)
    print(f"standard errors tried: {tried_se}; not a function of the serving copy: {len(odd_se)}")
    for o in odd_se[:20]:
        print("  ", o)
    found = attack(srv)
    print(f"hidden school counts recovered exactly: {len(found)}")
    failing = []
    if args.warehouse and found:
        wh = duckdb.connect(str(args.warehouse), read_only=True)
        for f in found:
            rows = wh.execute("""SELECT a.loaded, a.activated, a.active FROM adoption_school a JOIN periods p
                USING (period_type, period) WHERE a.uai = ? AND a.profile::VARCHAR = ?
                AND (p.period_end::VARCHAR = ? OR p.period_type || ' ' || p.period = ?) LIMIT 1""",
                              [f["uai"], f["profile"], f["when"], f["when"]]).fetchall()
            if rows:
                loaded, activated, active = rows[0]
                k = {"loaded": loaded, "activated": activated, "active": active}[f["measure"]]
                if loaded < 11 or (f["measure"] != "loaded" and (k < 3 or loaded - k < 3)):
                    failing.append({**f, "value": k, "loaded": loaded})
        print(f"of which fail the primary rule: {len(failing)}")
    for f in (failing or found)[:20]:
        print("  ", f)
    return 1 if failing or unpublished or pinned or odd_se else 0


if __name__ == "__main__":
    sys.exit(main())
