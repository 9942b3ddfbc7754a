"""The dbt project agrees with the rest of the pipeline on what it shares with it."""

from __future__ import annotations

import yaml

from pipelines.defs.ingest.partitions import FIRST_WEEK
from tests.lake.dbt_run import DBT_PROJECT


def test_default_window_starts_at_the_first_weekly_partition():
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    assert project["vars"]["first_week"] == FIRST_WEEK


def test_period_models_default_to_the_first_weekly_partition():
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    assert project["vars"]["from_day"] == FIRST_WEEK

