"""Fit guards of the SII / RII: separation and near-separation (overlap), support on the social scale,
range of the published values; and the asset-check rules that block a release when one escapes them."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.defs.equity.checks import SUMMARY_RULES
from pipelines.quality.violations import violations
from pipelines.defs.equity.summary_measures import summary_rows
from pipelines.equity import (
    MIN_OVERLAP,
    RankSupport,
    SeparationError,
    logit_overlap,
    rank_support,
    ridit,
    sii_rii,
    sii_rii_refusal,
)


def test_overlap_by_hand():
    # ranks 1..4, 10 accounts each, active 0, 2, 8, 10: the best threshold is between 2 and 3
    # (up: 2 active below + 2 inactive above = 4); at rank 2 itself (excluded): 0 + 2 + 0 = 2
    y = np.array([0.0, 0.2, 0.8, 1.0])
    assert logit_overlap(y, [10] * 4, [1, 2, 3, 4]) == pytest.approx(2.0)
    # reversed direction gives the same overlap
    assert logit_overlap(y[::-1], [10] * 4, [1, 2, 3, 4]) == pytest.approx(2.0)


@pytest.mark.parametrize("y", [[0, 0, 0, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0.5, 1, 1, 1]])
def test_separated_data_are_refused(y):
    """Complete (0 then 1) and quasi-complete (a free unit at the threshold) separation: no estimate."""
    rank = np.arange(6.0)
    assert logit_overlap(y, [20] * 6, rank) == 0
    with pytest.raises(SeparationError):
        sii_rii(y, [20] * 6, rank, "logit")
    sii_rii(y, [20] * 6, rank, "linear")  # the linear line always exists


def test_separated_group_is_not_written_and_is_counted():
    n = 12
    rates = pd.DataFrame({
        "period_type": "school_year", "period": "2025-2026", "profile": "personnel",
        "uai": [f"S{i}" for i in range(n)], "academie_code": "A", "departement_code": "d", "level": "college",
        "secteur": "public", "education_prioritaire": "hors_ep", "rural_urban": "urbain",
        "ips": np.linspace(80, 130, n), "loaded": 3, "active_rate": [0.0] * 6 + [1.0] * 6,
    })
    frame, failed = summary_rows(rates)
    assert not frame["measure"].isin(["sii", "rii"]).any()
    assert failed["sii_separated"] >= 1 and failed["rii_separated"] >= 1


def _fit_and_support(y, w, rank):
    fit = sii_rii(y, w, rank, "logit")
    return fit, rank_support(ridit(rank, w))


def test_near_separation_is_refused_and_a_healthy_fit_is_not():
    rank = np.arange(12.0)
    # one active account below the threshold and one inactive above: overlap 2 < MIN_OVERLAP
    y = np.array([0.0] * 5 + [0.1] + [0.9] + [1.0] * 5)
    fit, support = _fit_and_support(y, np.full(12, 10.0), rank)
    assert 0 < fit.overlap < MIN_OVERLAP
    assert sii_rii_refusal(fit, support, "rii") == "near_separation"
    rng = np.random.default_rng(1)
    y = np.clip(0.3 + 0.02 * rank + rng.normal(0, 0.03, 12), 0.05, 0.95)
    fit, support = _fit_and_support(y, np.full(12, 100.0), rank)
    assert fit.overlap >= MIN_OVERLAP
    assert sii_rii_refusal(fit, support, "sii") is None and sii_rii_refusal(fit, support, "rii") is None


def test_rank_support_counts_each_side():
    assert rank_support([0.1, 0.2, 0.5, 0.7, 0.9]) == RankSupport(5, 2, 2)
    rank = np.arange(12.0)
    y = np.clip(0.3 + 0.02 * rank, 0, 1)
    fit = sii_rii(y, np.full(12, 100.0), rank, "logit")
    assert sii_rii_refusal(fit, RankSupport(9, 4, 5)) == "too_few_schools"
    assert sii_rii_refusal(fit, RankSupport(12, 3, 9)) == "thin_side"
    # one big school holding the bottom half: three schools below, the guard refuses
    w = np.array([600.0, 10, 10] + [60.0] * 9)
    assert rank_support(ridit(rank, w)).below == 1


def test_out_of_range_interval_is_refused():
    rank = np.arange(12.0)
    y = np.array([0.02, 0.01, 0.03, 0.02, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 0.95, 0.97])
    fit, support = _fit_and_support(y, np.full(12, 200.0), rank)
    assert fit.overlap >= MIN_OVERLAP and fit.rii_upper > 100
    assert sii_rii_refusal(fit, support, "rii") == "out_of_range"


def test_check_rules_block_the_rii_of_566():
    """The release's out-of-range RII of the issue, and an SII of 1 with a zero-width interval."""
    con = duckdb.connect()
    con.execute("CREATE TABLE equity_summary (measure VARCHAR, value DOUBLE, ci_low DOUBLE, ci_high DOUBLE, "
                "n_schools INTEGER, weight_total BIGINT)")
    con.execute("INSERT INTO equity_summary VALUES ('rii', 1.4, 1.1, 1.8, 40, 4000), ('sii', 0.1, -0.02, 0.2, 40, 4000)")
    assert not any(violations(con, "equity_summary", SUMMARY_RULES).values())
    con.execute("INSERT INTO equity_summary VALUES ('rii', 566, 9, 35448, 12, 300), ('sii', 1, 1, 1, 12, 300), "
                "('sii', 0.2, 0.1, 0.3, 6, 600)")
    found = violations(con, "equity_summary", SUMMARY_RULES)
    assert found["rii_out_of_range"] == 1 and found["sii_without_interval"] == 1
    assert found["sii_on_fewer_than_min_ranked_schools"] == 1


def _summary(path, rows) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE equity_summary (measure VARCHAR, value DOUBLE, ci_low DOUBLE, ci_high DOUBLE, "
                    "n_schools INTEGER, weight_total BIGINT)")
        con.executemany("INSERT INTO equity_summary VALUES (?, ?, ?, ?, ?, ?)", rows)


def test_the_blocking_asset_check_fails_on_an_out_of_range_rii(tmp_path):
    """The Dagster check on ``equity_summary`` is blocking (downstream assets, the serving copy among them, are
    not materialised after it fails) and fails on the issue's RII of 566 [9; 35 448]; it passes a healthy table."""
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.equity.checks import equity_summary_values_valid

    assert [spec.blocking for spec in equity_summary_values_valid.check_specs] == [True]
    _summary(tmp_path / "good.duckdb", [("rii", 1.4, 1.1, 1.8, 40, 4000), ("sii", 0.1, -0.02, 0.2, 40, 4000)])
    _summary(tmp_path / "bad.duckdb", [("rii", 1.4, 1.1, 1.8, 40, 4000), ("rii", 566, 9, 35448, 12, 300)])
    good = equity_summary_values_valid(duckdb=DuckDBResource(database=str(tmp_path / "good.duckdb")))
    bad = equity_summary_values_valid(duckdb=DuckDBResource(database=str(tmp_path / "bad.duckdb")))
    assert good.passed and not bad.passed
    assert bad.metadata["rii_out_of_range"].value == 1


def test_the_publisher_refuses_an_out_of_range_published_sii():
    """The serving copy's equity figures (refitted on the published schools) go through the same rules before
    anything is written: an SII of 1 with a zero-width interval stops the publish; a healthy row is written."""
    from pipelines.defs.publication.publish import _write_equity

    row = dict(period_type="school_year", period="2025-2026", profile="parent", scope="academie", scope_code="14",
               level="all", n_schools=40, weight_total=4000)
    for measure, value, low, high, ok in (("sii", 0.1, -0.02, 0.2, True), ("sii", 1.0, 1.0, 1.0, False),
                                          ("rii", 566.0, 9.0, 35448.0, False)):
        con = duckdb.connect()
        con.execute("ATTACH ':memory:' AS srv")
        frame = pd.DataFrame([{**row, "measure": measure, "value": value, "ci_low": low, "ci_high": high}])
        if ok:
            _write_equity(con, frame)
            assert con.execute("SELECT value FROM srv.equity").fetchall() == [(value,)]
        else:
            with pytest.raises(RuntimeError, match="cannot publish: equity figures out of range"):
                _write_equity(con, frame)
            assert con.execute("SELECT count(*) FROM srv.equity").fetchall() == [(0,)]
