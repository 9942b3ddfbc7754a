"""An attacker's search of a published release for hidden school counts that linear algebra recovers.

Independent of the publisher's code: it reads only the serving copy (what the dashboard, its downloads and
the weekly reports show) and, to tell which recovered figures the primary rule hides, optionally the
warehouse. For every profile and period end it stacks every published cell of every period ending that
day (loaded and activated accounts are the same there), and for every period its active accounts; the
unknowns are the schools whose figures are not published; a school's count is recovered when its unit
vector lies in the row space of the published equations (exact, SVD).

    uv run python scripts/attack_release.py [--serving PATH] [--warehouse PATH]

Prints what it recovered and exits 1 when a recovered count fails the primary rule.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    srv = duckdb.connect(str(args.serving), read_only=True)
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
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
