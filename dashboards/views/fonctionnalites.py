"""Fonctionnalités: feature reach per service (share of active accounts that used it), what families
ignore, and how it varies with the school's IPS quintile."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt

REACH_INTERVAL_NOTE = (
    "Barres noires : intervalle de confiance à 95 %, l'établissement comme unité, arrondi vers le haut à une "
    "classe (±1, 2, 3, 5, 7, 10, 15, 20, 30 ou 50 points) pour ne pas laisser retrouver le nombre de comptes "
    "actifs, qui n'est pas publié ; pas d'intervalle sous 10 établissements. Deux portées dont les intervalles "
    "se chevauchent ne sont pas nettement différentes.")

ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
st.title("Fonctionnalités")
st.caption(ui.filters_caption(ctx, with_secteur=False) + " · tous secteurs")

areas = (["FR"] if scope.national else []) + ([f.academie] if f.academie else [])
choice = st.radio("Territoire", areas, horizontal=True, key="reach_area",
                  format_func=lambda c: "France" if c == "FR" else f"Académie : {ctx.academie_name(c)}")
academie = None if choice == "FR" else f.academie
if academie is not None and not scope.allows(academie):
    st.stop()

frame = data.reach(v, scope, f.period_type, f.period, f.profile, f.academie, f.level)
if frame.empty:
    st.info("Portée des fonctionnalités non publiée pour ces filtres.")
    st.stop()
frame = frame[frame["service"] != "connexion"].copy()
frame["service_label"] = frame["service"].map(lambda s: fmt.SERVICES.get(s, s))
here = frame[(frame["geo_level"] == ("nation" if academie is None else "academie"))]
france = frame[frame["geo_level"] == "nation"]

overall = here[here["breakdown"] == "all"].copy()
fr_overall = france[france["breakdown"] == "all"].set_index("service")
overall["ignored"] = [None if s or pd.isna(r) else 1 - r for r, s in zip(overall["reach"], overall["suppressed"])]
overall = overall.sort_values("reach", na_position="last")
overall["text"] = [ui.rate_text(r, s) for r, s in zip(overall["reach"], overall["suppressed"])]
bounds = [fmt.margin_bounds(r, m) if not s else (None, None)
          for r, m, s in zip(overall["reach"], overall["reach_margin"], overall["suppressed"])]
overall["low"], overall["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
overall["interval"] = [fmt.rate_with_class_margin(r, m, s) for r, m, s in
                       zip(overall["reach"], overall["reach_margin"], overall["suppressed"])]

st.subheader("Ce que les comptes actifs utilisent — et ignorent")
fig = go.Figure()
fig.add_trace(go.Bar(y=overall["service_label"], x=100 * overall["reach"].astype(float), orientation="h",
                     name="utilisé", marker_color=charts.ACCENT, text=overall["text"], textposition="inside",
                     insidetextanchor="start", error_x=charts.interval_bars(overall, "reach", "low", "high"),
                     hoverinfo="text",
                     hovertext=[f"{s} : {t}" for s, t in zip(overall["service_label"], overall["interval"])]))
if academie is not None and len(fr_overall):
    fr = [fr_overall["reach"].get(s) if not fr_overall["suppressed"].get(s, True) else None for s in overall["service"]]
    fig.add_trace(go.Scatter(y=overall["service_label"], x=[None if x is None else 100 * x for x in fr],
                             mode="markers", name="France", marker=dict(color=charts.FRANCE, symbol="line-ns-open",
                                                                        size=18, line=dict(width=3))))
fig.update_xaxes(ticksuffix=" %", range=[0, 100], title="Part des comptes actifs ayant utilisé le service")
ui.chart(charts.layout(fig, None, 60 + 32 * max(len(overall), 3),
                        legend=dict(orientation="h", y=-0.2)), key="reach_bars")
st.caption(REACH_INTERVAL_NOTE)

st.subheader("Selon le milieu social de l'établissement")
by_q = here[here["breakdown"] == "ips_quintile"].copy()
if by_q.empty:
    st.info("Pas de découpage par quintile d'IPS publié pour ces filtres.")
else:
    by_q["quintile_label"] = by_q["breakdown_value"].map(lambda q: fmt.QUINTILES.get(q, q))
    by_q = by_q.sort_values(["breakdown_value"])
    ui.chart(charts.reach_heatmap(by_q, "Part des comptes actifs n'ayant jamais utilisé le service"),
             key="reach_heatmap")
    st.caption("Lecture : une case foncée signale une fonctionnalité ignorée par une grande part des familles "
               "actives de ces établissements. Les cases « secret statistique » regroupent trop peu de comptes."
               + (" Quintiles calculés tous niveaux confondus." if f.level != "all" else ""))

shown = here.sort_values(["service_label", "breakdown", "breakdown_value"])  # the territory chosen above
table = pd.DataFrame({
    "Territoire": "France" if academie is None else ctx.academie_name(academie),
    "Service": shown["service_label"],
    "Catégorie": [("Tous" if b == "all" else fmt.QUINTILES.get(x, x)) for b, x in
                  zip(shown["breakdown"], shown["breakdown_value"])],
    "Portée (comptes actifs l'ayant utilisé)": [ui.rate_text(r, s) for r, s in zip(shown["reach"], shown["suppressed"])],
    "IC 95 % (arrondi)": [fmt.SECRET if s else ("intervalle non publié (moins de 10 établissements)" if pd.isna(m)
                                                 else fmt.rate_with_class_margin(r, m)) for r, m, s in
                          zip(shown["reach"], shown["reach_margin"], shown["suppressed"])],
    "Ignoré": [fmt.SECRET if s else fmt.percent(None if pd.isna(r) else 1 - r) for r, s in
               zip(shown["reach"], shown["suppressed"])],
    "Établissements": [fmt.number(x) for x in shown["schools"]],
})
ui.table(table, f"fonctionnalites_{choice}_{f.period}_{f.profile}.csv", "dl_reach")
