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
if holidays.empty:
    holidays_text = (f"Calendrier des vacances {f.school_year} non disponible dans cette version : "
                     "les vacances ne sont pas ombrées.")
elif zone in ("A", "B", "C"):
    holidays_text = f"Vacances de la zone {zone} (calendrier officiel {f.school_year})."
elif zone:
    holidays_text = (f"Vacances de l'académie ({f.school_year}) : certaines dates de Corse et d'outre-mer sont "
                     "approchées.")
else:
    holidays_text = f"Vacances scolaires des zones A, B et C ({f.school_year})."
st.caption(holidays_text + " Bande ombrée : intervalle à 95 % du taux de la semaine (l'établissement comme "
           "unité, voir Méthodologie)." + " Triangles : semaines où au moins un établissement a un volume d'événements anormalement "
           "bas (trou de données probable, à ne pas lire comme une baisse d'usage).")
