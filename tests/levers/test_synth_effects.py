"""`ent-equity synth --effect NAME=VALUE` plants other parent effects and writes them to truth/parameters.json."""

from __future__ import annotations

import argparse
import json

import numpy as np
import polars as pl
import pytest

from pipelines.synth.adoption_model import PARENT_COEFFICIENTS, fit_adoption, parent_coefficients
from pipelines.synth.calendar import calendar_for
from pipelines.synth.command import add_parser, load_schools
from pipelines.synth.generator import generate
from pipelines.synth.school_frame import build_school_frame
from tests.conftest import REFERENCE_DIR

ACADEMIES = ("27", "33", "43")  # Corse, Guyane, Mayotte: a small national table, seconds not minutes


@pytest.fixture(scope="module")
def schools() -> pl.DataFrame:
    return load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["synth", *argv])


def test_effect_flag_is_repeatable_and_validated(capsys):
    args = parse("--effect", "workshop=0", "--effect", "teacher_training=1.5", "--effect", "REP+=-0.5")
    assert dict(args.effect) == {"workshop": 0.0, "teacher_training": 1.5, "REP+": -0.5}
    assert parse().effect == []
    for bad in ("workshop", "workshop=big", "nonsense=1", "workshop=-0.2", "ips=nan"):
        with pytest.raises(SystemExit):
            parse("--effect", bad)
    assert "unknown effect" in capsys.readouterr().err


def test_parent_coefficients_map_lever_names():
    c = parent_coefficients({"household_equipment": 0.0, "ips": 0.1})
    assert c["household_equipment_rate"] == 0.0 and c["z_ips"] == 0.1
    assert c["workshop"] == PARENT_COEFFICIENTS["workshop"]
    assert parent_coefficients() == PARENT_COEFFICIENTS


def test_zero_workshop_effect_leaves_workshop_schools_unchanged(schools):
    frame = build_school_frame(schools, calendar_for("2025-2026"), seed=3)
    zero = fit_adoption(frame, {"workshop": 0.0})
    np.testing.assert_array_equal(zero.p_with_workshop, zero.p_without_workshop)
    big = fit_adoption(frame, {"workshop": 1.2})
    held = frame["workshop_day"].is_not_null().to_numpy()
    assert held.any()
    lift = big.p_with_workshop[:, 0] - big.p_without_workshop[:, 0]
    assert (lift > 0).all()
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(big.p_with_workshop[:, 0]) - logit(big.p_without_workshop[:, 0]), 1.2)


def test_planted_effects_are_written_to_parameters(schools, tmp_path):
    generate(schools, tmp_path / "landing", tmp_path / "truth", seed=5, n_schools=9, entcore_schools=0,
             effects={"workshop": 0.0, "teacher_training": 2.0})
    parameters = json.loads((tmp_path / "truth" / "parameters.json").read_text())
    assert parameters["adoption"]["planted_effects"] == {
        "workshop": 0.0, "teacher_training": 2.0, "household_equipment": PARENT_COEFFICIENTS["household_equipment_rate"]}
    assert parameters["adoption"]["parent_coefficients"]["teacher_ent_training_rate"] == 2.0
    truth = pl.read_parquet(tmp_path / "truth" / "schools_truth.parquet").filter(pl.col("profile") == "parent")
    assert (truth["p_active_with_workshop"] == truth["p_active_without_workshop"]).all()
