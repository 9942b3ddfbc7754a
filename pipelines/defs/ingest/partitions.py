"""Weekly partitions: ISO weeks (Monday start) in Europe/Paris, from the 2025-2026 school year on."""

import dagster as dg

FIRST_WEEK = "2025-09-01"

weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=FIRST_WEEK, day_offset=1, timezone="Europe/Paris")
