"""Tendances: weekly active rate over the school year, school holidays shaded, data-gap weeks flagged."""

import pandas as pd
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt

ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
st.title("Tendances hebdomadaires")
st.caption(f"année scolaire {f.school_year} · {fmt.PROFILES[f.profile].lower()} · {fmt.LEVELS[f.level].lower()} · "
           f"{fmt.SECTEURS[f.secteur].lower()}")

academie = f.academie
series = data.weekly(v, scope, f.profile, f.school_year, academie, f.level, f.secteur)
if series.empty:
    st.info("Aucune série hebdomadaire publiée pour ces filtres.")
    st.stop()
series["name"] = ["France" if g == "nation" else ctx.academie_name(a)
                  for g, a in zip(series["geo_level"], series["academie_code"])]
holidays = data.holidays(v, scope, academie, f.school_year)
gaps = data.data_gaps(v, scope, academie)
if len(gaps):
    weeks = set(pd.to_datetime(series["week_start"]).dt.date)
    gaps = gaps[pd.to_datetime(gaps["week_start"]).dt.date.isin(weeks) & (gaps["schools_flagged"] > 0)]
title = f"Taux d'usage actif par semaine — {ctx.academie_name(academie)} et France"
ui.chart(charts.weekly(series, holidays, gaps, title), key="weekly")
zone = ctx.academies.set_index("academie_code")["zone"].get(academie) if academie else None
st.caption(("Vacances de la zone " + str(zone) + " (calendrier officiel 2025-2026 ; certaines dates d'outre-mer et "
            "de Corse sont approchées)." if zone else "Vacances scolaires des zones A, B et C.")
           + " Triangles : semaines où au moins un établissement a un volume d'événements anormalement bas "
             "(trou de données probable, à ne pas lire comme une baisse d'usage).")

table = series.assign(**{
    "Territoire": series["name"],
    "Semaine": [fmt.long_date(w) for w in series["week_start"]],
    "Taux d'usage actif": [ui.rate_text(r, s) for r, s in zip(series["active_rate"], series["suppressed"])],
    "Sessions": [fmt.SECRET if s else fmt.number(x) for x, s in zip(series["sessions"], series["suppressed"])],
    "Part mobile": [ui.rate_text(r, s) for r, s in zip(series["mobile_share"], series["suppressed"])],
    "Trou de données": [
        fmt.number(int(gaps.loc[pd.to_datetime(gaps["week_start"]).dt.date == pd.Timestamp(w).date(),
                                "schools_flagged"].sum())) if len(gaps) and g != "nation" else ""
        for w, g in zip(series["week_start"], series["geo_level"])],
})[["Territoire", "Semaine", "Taux d'usage actif", "Sessions", "Part mobile", "Trou de données"]]
ui.table(table, f"tendances_{f.school_year}_{f.profile}.csv", "dl_weekly")
