"""Load the indicator SQL files and fill in the parts generated from Python (lists, grouping sets)."""

from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"

GEOGRAPHIES = ("", "academie_code", "departement_code, academie_code")
BREAKDOWNS = ("", "level", "secteur", "education_prioritaire", "rural_urban")
# Per rollup: the keys of every grouping set, and the breakdowns crossed with each geography.
ROLLUP_KEYS = {
    "adoption_rollup": ("period_type, period, profile", BREAKDOWNS),
    "feature_reach_rollup": ("period_type, period, profile, service", BREAKDOWNS + ("ips_quintile",)),
}


def _grouping_sets(keys: str, breakdowns: tuple[str, ...]) -> str:
    sets = []
    for geo in GEOGRAPHIES:
        for breakdown in breakdowns:
            parts = [keys] + [p for p in (geo, breakdown) if p]
            sets.append("(" + ", ".join(parts) + ")")
    return ",\n        ".join(sets)


def indicator_sql(name: str) -> str:
    """The SQL of ``sql/<name>.sql`` with its generated placeholders filled in."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    return (
        text.replace("{hour_sums}", ", ".join(f"sum(sessions_by_hour[{h}])" for h in range(1, 25)))
        .replace("{weekday_sums}", ", ".join(f"sum(sessions_by_weekday[{d}])" for d in range(1, 8)))
        .replace("{grouping_sets}", _grouping_sets(*ROLLUP_KEYS.get(name, ("", ()))))
    )
