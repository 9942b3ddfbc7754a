"""Where the published serving file lives (no Dagster import: the dashboard reads this module)."""

from __future__ import annotations

from pathlib import Path

from pipelines.paths import serving_dir

SERVING_FILENAME = "observatoire_serving.duckdb"
# Bumped when the published tables change shape; the dashboard refuses a file of another version.
# 3: levers_* and school_ips_quintiles tables, active_rate_se, funnel_p / funnel_q
# 4: reach_cells.reach_margin; active_rate_se of staff cells (rounded cluster margin)
# 5: activation_rate_se, mobile_share_se, visits_per_active_se; ips_fit.slope_low / slope_high; Theil intervals
SCHEMA_VERSION = "5"


def serving_path() -> Path:
    """The published, read-only DuckDB file the dashboard opens (swapped atomically by each publish)."""
    return serving_dir() / SERVING_FILENAME
