"""French formatting and the suppression rule."""

import datetime as dt

import duckdb
import pytest

from pipelines import fr_format
from pipelines.privacy import publishable, publishable_sql


def test_french_numbers_and_dates():
    assert fr_format.percent(0.125) == "12,5\u202f%"
    assert fr_format.percent(0.125, suppressed=True) == "secret statistique"
    assert fr_format.number(1234567.891, 2) == "1\u202f234\u202f567,89"
    assert fr_format.points(-0.0123) == "−1,2\u202fpt"
    assert fr_format.long_date(dt.date(2025, 11, 3)) == "lundi 3 novembre 2025"
    assert fr_format.iso_week_label(dt.date(2025, 11, 10)) == "semaine 46 (du lundi 10 au dimanche 16 novembre 2025)"
    assert fr_format.iso_week_label(dt.date(2025, 12, 29)).startswith("semaine 1 (du lundi 29 décembre au")


@pytest.mark.parametrize("n,k,ok", [(11, 3, True), (10, 3, False), (11, 2, False), (11, 9, False), (11, 8, True),
                                    (None, 3, False), (100, 0, False)])
def test_suppression_rule_in_python_and_sql(n, k, ok):
    assert publishable(n, k) is ok
    assert duckdb.sql(f"SELECT {publishable_sql('n', 'k')} FROM (SELECT ?::INT AS n, ?::INT AS k)",
                      params=[n, k]).fetchall()[0][0] is ok


def test_labels_short_dates_and_periods():
    assert fr_format.points(-0.023, ascii_minus=True) == "-2,3\u202fpt"
    assert fr_format.label(fr_format.QUINTILES, 1) == "Q1 (IPS le plus bas)"
    assert fr_format.period_label("month", "2025-11") == "novembre 2025"
    assert fr_format.period_label("trimester", "2025-2026 T1").startswith("2025-2026, 1er trimestre")
    assert fr_format.period_label("week", "2025-W45", dt.date(2025, 11, 3)) == "semaine du lundi 3 novembre 2025"


def test_plain_numbers_with_their_interval():
    """Visits per active account: '3,4 ±0,2' (half-width 1.96 se), a change '+0,3 (IC 95 % : …)' in plain numbers,
    « évolution non significative » when its interval holds 0."""
    assert fr_format.number_with_margin(3.42, 0.1) == "3,4 ±0,2"
    assert fr_format.number_with_margin(3.42, None) == "3,4"
    assert fr_format.signed_number(-0.26) == "−0,3" and fr_format.signed_number(0) == "±0,0"
    assert fr_format.change_interval(0.3, 0.1, plain=True) == "+0,3 (IC 95 % : +0,1 à +0,5)"
    assert fr_format.change_interval(0.1, 0.1, plain=True) == ("+0,1 (IC 95 % : −0,1 à +0,3, "
                                                               "évolution non significative)")
