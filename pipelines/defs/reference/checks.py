"""Checks on the ``schools`` reference table."""


import dagster as dg
from dagster_duckdb import DuckDBResource

# The IPS of a pupil ranges from 38 to 179 (DEPP, "L'indice de position sociale", 2022 method);
# a school's IPS is a mean of pupils' values, so it must lie within that range.
IPS_MIN, IPS_MAX = 38.0, 179.0

# Plausible number of schools per level in the national IPS files (2022-2025: ~32.5k écoles,
# ~7k collèges, ~3.6k lycées). Outside these bounds a reference file is truncated or duplicated.
PLAUSIBLE_COUNTS = {"ecole": (30_000, 35_000), "college": (6_500, 7_500), "lycee": (3_300, 3_900)}
EXPECTED_ACADEMIES = 30


@dg.asset_check(asset="schools", blocking=True, description="UAI matches ^[0-9]{7}[A-Z]$ and is unique.")
def schools_uai_valid_and_unique(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad, dup = con.execute(
            """
            SELECT count(*) FILTER (WHERE uai IS NULL OR NOT regexp_full_match(uai, '[0-9]{7}[A-Z]')),
                   count(*) - count(DISTINCT uai)
            FROM schools
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(passed=bad == 0 and dup == 0, metadata={"malformed": bad, "duplicates": dup})


@dg.asset_check(asset="schools", blocking=True, description="Every school has an académie of the GeoJSON; all 30 present.")
def schools_academies_match_geojson(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        orphans, present = con.execute(
            """
            SELECT count(*) FILTER (WHERE a.academie_code IS NULL), count(DISTINCT a.academie_code)
            FROM schools s LEFT JOIN academies a USING (academie_code)
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=orphans == 0 and present == EXPECTED_ACADEMIES,
        metadata={"schools_without_academie": orphans, "academies_present": present},
    )


@dg.asset_check(asset="schools", blocking=True, description=f"IPS within the published range [{IPS_MIN:g}, {IPS_MAX:g}].")
def schools_ips_in_published_range(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        out_of_range, missing, lo, hi = con.execute(
            "SELECT count(*) FILTER (WHERE ips NOT BETWEEN ? AND ?), count(*) - count(ips), min(ips), max(ips) FROM schools",
            [IPS_MIN, IPS_MAX],
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=out_of_range == 0,
        metadata={"out_of_range": out_of_range, "ips_ns_null": missing, "ips_min": lo, "ips_max": hi},
    )


@dg.asset_check(asset="schools", blocking=True, description="Number of schools per level is plausible.")
def schools_counts_per_level_plausible(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        counts = dict(con.execute("SELECT level, count(*) FROM schools GROUP BY level").fetchall())
    passed = all(lo <= counts.get(level, 0) <= hi for level, (lo, hi) in PLAUSIBLE_COUNTS.items())
    return dg.AssetCheckResult(
        passed=passed and set(counts) == set(PLAUSIBLE_COUNTS), metadata={f"n_{k}": v for k, v in counts.items()}
    )


schools_checks = [
    schools_uai_valid_and_unique,
    schools_academies_match_geojson,
    schools_ips_in_published_range,
    schools_counts_per_level_plausible,
]
