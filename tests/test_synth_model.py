"""Pieces of the synthetic generator: calibration on the national table, sampling, calendar, identifiers,
and the entcore vocabulary shared with ingestion."""

from __future__ import annotations

import argparse
import datetime as dt
import re

import numpy as np
import polars as pl
import pytest

from pipelines.formats.entcore import (
    CHANNEL_UA_PATTERNS,
    CHANNELS,
    MODULE_TO_SERVICE,
    PROFIL_TO_PROFILE,
    PROFILE_TO_PROFIL,
    PROFILES,
    SERVICE_TO_MODULES,
    SERVICES,
    USER_AGENTS,
)
from pipelines.synth.adoption_model import ACTIVATION_TARGET, ACTIVE_TARGET, fit_adoption
from pipelines.synth.calendar import MODEL_PROFILES, ZONE_OF_ACADEMIE, calendar_for, day_weights, utc_offsets_us
from pipelines.synth.command import add_parser, load_schools
from pipelines.synth.ids import counter_matrix, strings_from_matrix, uuid4_matrix
from pipelines.synth.sampling import MIN_PER_ACADEMIE, allocate, sample_schools
from pipelines.synth.school_frame import build_school_frame, rng_for
from pipelines.synth.sessions import SET_ALIAS, SET_ALIAS_PROB, SET_MEMBERS, SET_SIZE
from pipelines.synth.usage_model import MOBILE_SHARE_TARGET, MODEL_SERVICES, VISIT_WEIGHT, fit_usage
from tests.conftest import REFERENCE_DIR

CAL = calendar_for("2025-2026")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return build_school_frame(load_schools(REFERENCE_DIR), CAL, seed=20251)


def test_intercepts_hit_the_national_targets(frame):
    adoption = fit_adoption(frame)
    for j, profile in enumerate(MODEL_PROFILES):
        loaded = frame[f"loaded_{profile}"].to_numpy()
        assert np.average(adoption.p_year[:, j], weights=loaded) == pytest.approx(ACTIVE_TARGET[profile], abs=1e-9)
        assert np.average(adoption.p_activated[:, j], weights=loaded) == pytest.approx(ACTIVATION_TARGET[profile], abs=1e-9)
    assert (adoption.p_without_workshop <= adoption.p_year).all() and (adoption.p_year <= adoption.p_activated).all()
    usage = fit_usage(frame, adoption, np.random.default_rng(0))
    for j, profile in enumerate(MODEL_PROFILES):
        sessions = frame[f"loaded_{profile}"].to_numpy() * adoption.p_year[:, j] * usage.sessions_per_month[:, j]
        assert np.average(usage.mobile_share[:, j], weights=sessions) == pytest.approx(MOBILE_SHARE_TARGET[profile], abs=1e-9)


def test_equipment_follows_ips_and_school_context_is_complete(frame):
    low = frame.filter(pl.col("z_ips") < -1.3)["household_equipment_rate"].mean()
    high = frame.filter(pl.col("z_ips") > 1.3)["household_equipment_rate"].mean()
    assert 0.58 < low < 0.72 and 0.88 < high < 0.96  # 64 % vs 92 % (DEPP 2020)
    assert frame["ips_model"].null_count() == 0 and frame["ips_imputed"].sum() == frame["ips"].null_count()
    assert set(frame["academie_code"].unique()) == set(ZONE_OF_ACADEMIE)


def test_allocation_is_proportional_with_a_floor():
    counts = {"01": 787, "09": 2786, "43": 167, "27": 221}
    alloc = allocate(counts, 40)
    assert sum(alloc.values()) == 40 and min(alloc.values()) >= MIN_PER_ACADEMIE
    assert alloc["09"] > alloc["01"] > alloc["27"] >= alloc["43"]
    assert allocate(counts, 10_000) == counts
    with pytest.raises(ValueError):
        allocate(counts, 11)
    # The demo's floor: every académie at least 50, the rest still in proportion.
    alloc = allocate(counts, 400, min_per_academie=50)
    assert sum(alloc.values()) == 400 and alloc["43"] == alloc["27"] == 50 and alloc["09"] > alloc["01"] > 50
    with pytest.raises(ValueError, match="200 \\(50 per académie\\)"):
        allocate(counts, 199, min_per_academie=50)


def test_sample_is_spread_over_every_academie(frame):
    rows = sample_schools(frame, 300, rng_for(1, 3))
    sampled = frame[rows]
    assert len(set(rows)) == 300 and sampled["academie_code"].n_unique() == 30
    assert sampled.group_by("academie_code").len()["len"].min() >= MIN_PER_ACADEMIE
    assert len(sample_schools(frame, None, rng_for(1, 3))) == frame.height


def test_calendar_holidays_and_summer():
    days = {d: CAL.day_index(d) for d in ("2025-10-20", "2025-10-14", "2026-02-10", "2026-07-20", "2026-03-10")}
    for zone in ("A", "B", "C"):
        weights, school_days = day_weights(CAL, zone, "parent")
        assert weights[days["2025-10-20"]] < 0.5 * weights[days["2025-10-14"]]  # Toussaint (Mon) vs a term Tuesday
        assert weights[days["2026-07-20"]] < 0.05 * weights[days["2025-10-14"]]
        assert school_days[days["2025-10-20"]] == 0 and school_days[days["2025-10-14"]] > 0
    assert day_weights(CAL, "A", "parent")[1][days["2026-02-10"]] == 0  # zone A winter holidays
    assert day_weights(CAL, "C", "parent")[1][days["2026-02-10"]] > 0
    assert day_weights(CAL, "reunion", "parent")[1][days["2026-03-10"]] == 0  # Réunion's 3rd-period break


def test_utc_offsets_follow_daylight_saving_time():
    offsets = utc_offsets_us(CAL.window_start, CAL.n_days, "Europe/Paris") // 3_600_000_000
    hour = lambda date, h: CAL.day_index(date) * 24 + h  # noqa: E731
    assert offsets[hour("2025-10-25", 12)] == 2 and offsets[hour("2025-10-26", 12)] == 1
    assert offsets[hour("2026-03-28", 12)] == 1 and offsets[hour("2026-03-29", 12)] == 2
    assert offsets[hour("2026-03-29", 1)] == 1 and offsets[hour("2026-03-29", 4)] == 2
    assert set(utc_offsets_us(CAL.window_start, CAL.n_days, "Indian/Reunion") // 3_600_000_000) == {4}


def test_identifiers_are_vectorized_strings():
    ids = strings_from_matrix(uuid4_matrix(np.random.default_rng(0), 1000)).to_pylist()
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in ids)
    assert strings_from_matrix(counter_matrix("S-2025-01-", np.array([0, 42, 9_999_999_999]), 10)).to_pylist() == [
        "S-2025-01-0000000000", "S-2025-01-0000000042", "S-2025-01-9999999999",
    ]


def test_service_set_tables():
    assert SET_SIZE[0] == 0 and SET_SIZE[0b1010000001] == 3
    assert list(SET_MEMBERS[0b1010000001][:3]) == [0, 7, 9]
    # The alias table of a set reproduces VISIT_WEIGHT restricted to the set.
    mask, k = 0b1010000001, 3
    implied = np.zeros(len(MODEL_SERVICES))
    for j in range(k):
        implied[SET_MEMBERS[mask, j]] += SET_ALIAS_PROB[mask, j] / k
        implied[SET_ALIAS[mask, j]] += (1 - SET_ALIAS_PROB[mask, j]) / k
    weights = np.array(VISIT_WEIGHT) * [(mask >> s) & 1 for s in range(len(MODEL_SERVICES))]
    assert implied == pytest.approx(weights / weights.sum())


def test_entcore_vocabulary_is_consistent():
    assert set(MODULE_TO_SERVICE.values()) == set(SERVICES)
    assert all(SERVICE_TO_MODULES[s] for s in SERVICES) and SERVICE_TO_MODULES["connexion"] == ("Auth",)
    assert set(PROFIL_TO_PROFILE.values()) == set(PROFILES) and PROFILE_TO_PROFIL["parent"] == "Relative"
    for channel in CHANNELS:
        for ua, _ in USER_AGENTS[channel]:
            matched = next((c for c, pattern in CHANNEL_UA_PATTERNS.items() if re.search(pattern, ua)), "other")
            assert matched == channel, ua


def test_command_options():
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["synth", "--schools", "all"])
    assert (args.schools, args.seed, args.school_year, args.entcore_schools, args.data_dir) == (None, 20251, "2025-2026", 6, None)
    assert parser.parse_args(["synth"]).schools == 600
    with pytest.raises(SystemExit):
        parser.parse_args(["synth", "--schools", "many"])


def test_workshops_fall_on_school_days(frame):
    held = frame.filter(pl.col("workshop_day").is_not_null())
    assert 0.03 < held.height / frame.height < 0.15
    first, last = (CAL.day_index(d) for d in CAL.workshop_period)
    assert held["workshop_day"].min() >= first and held["workshop_day"].max() <= last
    weekdays = {(CAL.window_start + dt.timedelta(days=d)).weekday() for d in held["workshop_day"].unique().to_list()}
    assert weekdays <= {0, 1, 2, 3, 4}
