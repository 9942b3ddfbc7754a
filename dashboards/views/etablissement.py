"""Établissement: one school against its expected rate and similar schools, with suppression."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt
from pipelines import users as accounts

ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
st.title("Établissement")
academie = f.academie
if academie is None:
    st.stop()

listing = data.school_list(v, scope, academie)
if listing.empty:
    st.info("Aucun établissement publié dans cette académie.")
    st.stop()
uais = listing["uai"].tolist()
labels = {r.uai: f"{r.name} — {r.commune_name} ({r.uai})" for r in listing.itertuples()}
requested = st.query_params.get("uai")
if requested:
    if requested in labels:
        st.session_state["school_uai"] = requested
    else:
        accounts.audit("scope_refused", login=ctx.principal.login, requested_uai=requested, via="query")
        st.toast("Établissement hors de votre périmètre.")
    del st.query_params["uai"]
if st.session_state.get("school_uai") not in labels:
    if st.session_state.get("school_uai") is not None:
        accounts.audit("scope_refused", login=ctx.principal.login, requested_uai=str(st.session_state["school_uai"]),
                       via="session_state")
    st.session_state["school_uai"] = uais[0]
uai = st.selectbox("Établissement", uais, key="school_uai", format_func=lambda u: labels.get(u, u))

info = data.school_info(v, scope, uai)
if info.empty:  # outside the scope: the query returns nothing
    st.stop()
school = info.iloc[0]
st.subheader(f"{school['name']} — {school['commune_name']}")
st.caption(f"UAI {uai} · {fmt.label(fmt.LEVELS, school['level'])} · {fmt.label(fmt.SECTEURS, school['secteur'])} · "
           f"{fmt.label(fmt.EP, school['education_prioritaire'])} · {fmt.label(fmt.RURAL_URBAN, school['rural_urban'])} "
           f"· IPS {fmt.number(school['ips'], 1)} ({fmt.label(fmt.QUINTILES, school['ips_quintile'])})")

rows = data.schools(v, scope, f.period_type, f.period, f.profile, academie)
me = rows[rows["uai"] == uai]
if me.empty:
    st.info(f"Pas de taux publié par établissement pour ce profil ({fmt.PROFILES[f.profile].lower()}) "
            "ou cette période.")
    st.stop()
r = me.iloc[0]
sup = bool(r["suppressed"])
observed_low, observed_high = fmt.wilson(r["active"], r["loaded"], sup)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Taux d'usage actif observé", ui.rate_text(r["active_rate"], sup),
          help="Son intervalle de confiance à 95 % (Wilson, sur les comptes de l'établissement) est donné "
               "sous les chiffres.")
c2.metric("Attendu à IPS comparable", fmt.percent(r["expected_rate"]))
c3.metric("Taux lissé (bayésien)", fmt.SECRET if sup else fmt.percent(r["shrunk_rate"]),
          help="Estimation empirique-bayésienne qui tient compte de la taille de l'établissement ; son intervalle "
               "a posteriori à 95 % est donné sous les chiffres.")
c4.metric("Observé − attendu", fmt.SECRET if sup else fmt.points(r["observed_minus_expected"]))
if sup:
    st.warning("**Secret statistique** : moins de 11 comptes, ou moins de 3 comptes actifs ou non actifs, "
               "ou masqué pour qu'aucun chiffre masqué ne puisse être retrouvé par soustraction.")
else:
    # Observed − expected with the observed rate's interval (the expected rate, fitted on every published school
    # of the académie, taken as known).
    gap = r["observed_minus_expected"]
    st.caption(
        f"Taux observé : {fmt.rate_interval(r['active_rate'], observed_low, observed_high)} (IC 95 %, Wilson, "
        "les comptes de l'établissement comme unités) · taux lissé : "
        f"{fmt.rate_interval(r['shrunk_rate'], r['shrunk_low'], r['shrunk_high'])} (intervalle a posteriori à "
        "95 %) · observé − attendu à IPS comparable : "
        + (fmt.NOT_AVAILABLE if pd.isna(gap) else fmt.gap_interval(
            gap, *((None, None) if observed_low is None else
                   (observed_low - r["expected_rate"], observed_high - r["expected_rate"]))))
        + " (incertitude des comptes seulement) ; face aux établissements comparables, surdispersion comprise : "
        + (f"{fmt.FUNNEL_FLAGS[r['funnel_flag']]} du funnel plot (après correction des tests multiples)."
           if isinstance(r["funnel_flag"], str) else
           "dans les limites du funnel plot." if pd.notna(r["funnel_low95"]) else
           "pas de funnel plot publié pour ce type de période."))

similar = data.similar_schools(v, scope, uai, f.period_type, f.period, f.profile)
aca = data.cells(v, scope, f.period_type, f.period, f.profile, "academie", academie=academie, level=school["level"])
bars = pd.DataFrame({
    "category": ["Cet établissement", "Attendu à IPS comparable", "Établissements semblables (médiane)",
                 f"Académie ({fmt.label(fmt.LEVELS, school['level']).lower()})"],
    "rate": [None if sup else r["active_rate"], r["expected_rate"],
             similar["active_rate"].median() if len(similar) else None,
             None if aca.empty or aca["suppressed"].iloc[0] else aca["active_rate"].iloc[0]],
})
bars["rate"] = bars["rate"].astype(float)
bars["text"] = [fmt.SECRET if (i == 0 and sup) else fmt.percent(x) for i, x in enumerate(bars["rate"])]
# 95 % intervals where there is one: the school's (Wilson) and the académie's (its published standard error).
aca_se = None if aca.empty or aca["suppressed"].iloc[0] else aca["active_rate_se"].iloc[0]
aca_bounds = fmt.wald_bounds(bars["rate"].iloc[3], aca_se)
bars["low"] = [observed_low, None, None, aca_bounds[0]]
bars["high"] = [observed_high, None, None, aca_bounds[1]]
ui.chart(charts.bars(bars, "category", "rate", "text", "Comparaison", height=260, bounds=("low", "high")),
         key="school_bars")
st.caption("Barres noires : intervalles à 95 % (établissement : Wilson sur ses comptes ; académie : l'établissement "
           "comme unité, quand son erreur type est publiée). Le taux attendu et la médiane des établissements "
           "semblables n'en ont pas.")

history = data.school_history(v, scope, uai, f.profile, "month")
if len(history):
    months = [fmt.period_label("month", p) for p in history["period"]]
    bounds = [fmt.wilson(k, n, s) for k, n, s in zip(history["active"], history["loaded"], history["suppressed"])]
    history["low"], history["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=history["period_start"], y=100 * history["active_rate"].astype(float),
                             mode="lines+markers", name="observé (IC 95 %)", line=dict(color=charts.ACCENT),
                             error_y=charts.interval_bars(history, "active_rate", "low", "high"),
                             hovertext=[f"{m} : {fmt.rate_interval(x, lo, hi)}" for m, x, lo, hi in
                                        zip(months, history["active_rate"], history["low"], history["high"])],
                             hoverinfo="text"))
    if history["expected_rate"].notna().any():
        fig.add_trace(go.Scatter(x=history["period_start"], y=100 * history["expected_rate"].astype(float),
                                 mode="lines", name="attendu", line=dict(color=charts.FRANCE, dash="dash"),
                                 hovertext=[f"{m} : attendu {fmt.percent(x)}"
                                            for m, x in zip(months, history["expected_rate"])], hoverinfo="text"))
    fig.update_yaxes(ticksuffix=" %", title="Taux d'usage actif mensuel")
    ui.chart(charts.layout(fig, "Mois par mois, avec l'intervalle à 95 % de chaque mois (les mois sous secret "
                                "statistique sont absents)", 320), key="school_history")

st.subheader("Établissements semblables")
st.caption("Même académie, même niveau, IPS le plus proche ; seuls les établissements publiés figurent.")
ui.table(pd.DataFrame({
    "Établissement": similar["name"], "Commune": similar["commune_name"],
    "Secteur": [fmt.label(fmt.SECTEURS, x) for x in similar["secteur"]],
    "IPS": [fmt.number(x, 1) for x in similar["ips"]],
    "Taux d'usage actif (IC 95 %)": [fmt.rate_interval(x, *fmt.wilson(k, n)) for x, k, n in
                                     zip(similar["active_rate"], similar["active"], similar["loaded"])],
    "Attendu": [fmt.percent(x) for x in similar["expected_rate"]],
}), f"semblables_{uai}_{f.period}.csv", "dl_similar",
    "Intervalle à 95 % de Wilson sur les comptes de chaque établissement (les comptes comme unités).")
