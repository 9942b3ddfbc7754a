"""IPS quintiles within each académie, for ``equity_quintiles`` (the national ones come from
``school_ips_quintiles``)."""

import pandas as pd

from pipelines.equity import weighted_quintile

GROUP = ["period_type", "period", "profile", "academie_code"]


def academie_ips_quintiles(rates: pd.DataFrame) -> pd.Series:
    """Family-weighted IPS quintile (1..5) of each school within its académie, per period × profile,
    weighted by the profile's loaded accounts (``weighted_quintile``); NA for a school without IPS."""
    quintile = pd.Series(pd.NA, index=rates.index, dtype="Int64")
    ranked = rates[rates["ips"].notna() & (rates["loaded"] > 0)]
    for _, schools in ranked.groupby(GROUP, sort=False):
        quintile.loc[schools.index] = weighted_quintile(schools["ips"].to_numpy(float), schools["loaded"].to_numpy(float))
    return quintile
