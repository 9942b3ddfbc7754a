"""Derived figures of the release, computed from what the disclosure engine cleared and nothing else.

A model output or a summary measure fitted on every school would be one more equation on the hidden
schools (the score equations of the expected-rate GLM, an SII, a funnel target recovered suppressed
figures in an attack on an earlier release). Here they are computed on the **published** school figures
only, which anyone can read: they add no information about what is hidden (docs/disclosure_control.md).
The warehouse keeps the all-school versions (``equity_summary``, ``school_flags``) for analysts.
"""

from __future__ import annotations

import pandas as pd

from pipelines.defs.equity.school_flag_measures import flag_rows
from pipelines.defs.equity.summary_measures import summary_rows

# What the dashboard and the reports show of the equity summary.
PUBLISHED_MEASURES = frozenset({"mean_rate", "sii", "rii", "q5_q1_gap", "theil_total", "theil_between",
                                "theil_within", "theil_between_share"})
SUMMARY_PERIOD_TYPES = ("school_year", "trimester", "month")
FLAG_PERIOD_TYPES = ("school_year", "trimester")


def published_school_rates(con, units: str, quintiles: bool) -> pd.DataFrame:
    """Published school figures with a measured active rate, shaped like ``school_rates.sql``."""
    join_q = "LEFT JOIN school_ips_quintiles q USING (uai)" if quintiles else ""
    quintile = "q.ips_quintile" if quintiles else "NULL::INTEGER"
    return con.sql(f"""
        SELECT u.period_type, u.period, u.period_start, u.profile, u.uai, s.academie_code, s.departement_code,
               s.level, s.secteur, s.education_prioritaire, s.rural_urban, s.ips,
               {quintile} AS national_ips_quintile, u.size AS loaded, u.m1_k AS active,
               u.m1_k / u.size AS active_rate
        FROM {units} u JOIN schools s USING (uai) {join_q}
        WHERE u.published AND u.m1_n > 0 AND u.size > 0
        ORDER BY u.period_start, u.period_type, u.period, u.profile, u.uai
    """).df()


def published_flags(rates: pd.DataFrame) -> pd.DataFrame:
    """Shrunk rates, expected rates and funnel positions of the published schools, fitted on them only."""
    return flag_rows(rates[rates.period_type.isin(FLAG_PERIOD_TYPES)].reset_index(drop=True))


def published_equity(rates: pd.DataFrame) -> pd.DataFrame:
    """The equity measures the release shows, computed on the published schools only."""
    frame, _ = summary_rows(rates[rates.period_type.isin(SUMMARY_PERIOD_TYPES)].reset_index(drop=True),
                            PUBLISHED_MEASURES)
    return frame
