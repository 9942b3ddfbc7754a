"""Académie: départements, gaps by IPS quintile, secteur, éducation prioritaire, rural/urban and level,
funnel plot and IPS scatter of its schools, Theil decomposition."""

import pandas as pd
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt

ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
academie = f.academie
if academie is None or not scope.allows(academie):
    st.error("Aucune académie dans votre périmètre.")
    st.stop()
name = ctx.academie_name(academie)

st.title(f"Académie de {name}" if not name.startswith(("A", "É", "E", "O")) else f"Académie d'{name}")
st.caption(ui.filters_caption(ctx))

own = data.cells(v, scope, f.period_type, f.period, f.profile, "academie", academie=academie, level=f.level,
                 secteur=f.secteur)
france = data.cells(v, scope, f.period_type, f.period, f.profile, "nation", level=f.level, secteur=f.secteur)
fr_rate = None if france.empty or france["suppressed"].iloc[0] else france["active_rate"].iloc[0]
if own.empty:
    st.info("Aucune donnée pour ces filtres.")
    st.stop()
row = own.iloc[0]
sup = bool(row["suppressed"])
c1, c2, c3, c4 = st.columns(4)
gap = float(row["active_rate"] - fr_rate) if not sup and fr_rate is not None and pd.notna(row["active_rate"]) else None
# The gap to France with its 95 % interval, the two rates as independent estimates: the académie is part of France,
# so this overstates the variance of the gap (conservative).
gap_se = None if gap is None else fmt.independent_se(row["active_rate_se"], france["active_rate_se"].iloc[0])
c1.metric("Taux d'usage actif", fmt.rate_with_margin(row["active_rate"], row["active_rate_se"], sup),
          None if gap is None else fmt.points(gap, ascii_minus=True),
          delta_color="off" if fmt.change_significant(gap, gap_se) is False else "normal",
          help="± : demi-largeur de l'intervalle à 95 % (l'établissement comme unité). Écart à la France en points "
               "(flèche, grise quand l'écart n'est pas significatif).")
c2.metric("Taux d'activation", fmt.rate_with_margin(row["activation_rate"], row["activation_rate_se"], sup),
          help="Comptes activés / comptes chargés ; ± : demi-largeur de l'intervalle à 95 %.")
c3.metric("France", fmt.rate_with_margin(fr_rate, None if fr_rate is None else france["active_rate_se"].iloc[0]))
c4.metric("Établissements", fmt.number(row["schools"]))
if gap is not None:
    st.caption(f"Écart à la France : {fmt.gap_interval(gap, *fmt.wald_bounds(gap, gap_se))}.")

# --- départements -------------------------------------------------------------------------------------
st.subheader("Départements")
deps = data.cells(v, scope, f.period_type, f.period, f.profile, "departement", academie=academie, level=f.level,
                  secteur=f.secteur)
dep_frame = data.departements(v, scope)
dep_names = dict(zip(dep_frame["departement_code"], dep_frame["departement_name"]))
left, right = st.columns([3, 2])
with left:
    shapes = data.shapes(v, scope, "departement", academie=academie)
    if len(shapes):
        by_code = {r.geo_code: r for r in deps.itertuples()}
        values = {c: (None if r.suppressed else r.active_rate) for c, r in by_code.items()}
        labels = {c: f"<b>{dep_names.get(c, c)}</b><br>taux d'usage actif : "
                     + (fmt.rate_with_margin(by_code[c].active_rate, by_code[c].active_rate_se, by_code[c].suppressed)
                        if c in by_code
                        else fmt.NOT_AVAILABLE) for c in shapes["code"]}
        ui.chart(charts.choropleth(shapes, values, labels, set(deps.loc[deps["suppressed"], "geo_code"]),
                                   "Taux d'usage actif par département", insets=False, height=420),
                 key="map_departements")
with right:
    ui.table(ui.cell_table(deps, "Département", dep_names), f"departements_{academie}_{f.period}.csv", "dl_deps")

# --- social gradient and breakdowns -------------------------------------------------------------------
st.subheader("Écarts d'usage")
bd = data.cell_breakdowns(v, scope, f.period_type, f.period, f.profile, "academie", academie, f.level)
equity = data.equity(v, scope, f.period_type, f.period, f.profile, f.level, scope_level="academie",
                     academie=academie)
measures = {r.measure: r for r in equity.itertuples()}


def measure_text(key, kind="points"):
    """The measure with its 95 % interval, « écart non significatif » when the interval holds 0 (1 for the RII)."""
    m = measures.get(key)
    if m is None:
        return fmt.NOT_AVAILABLE
    if m.suppressed:
        return fmt.SECRET
    if kind == "ratio":
        return fmt.gap_interval(m.value, m.ci_low, m.ci_high, null=1.0, ratio=True)
    return fmt.gap_interval(m.value, m.ci_low, m.ci_high)


def bar_frame(breakdown, mapping, level_rows=False):
    if level_rows:
        rows = bd[(bd["breakdown"] == "all") & (bd["level"] != "all") & (bd["secteur"] == "all")]
        keys = rows["level"]
    elif breakdown == "secteur":
        rows = bd[(bd["breakdown"] == "all") & (bd["secteur"] != "all")]
        keys = rows["secteur"]
    else:
        rows = bd[bd["breakdown"] == breakdown]
        keys = rows["breakdown_value"]
    out = pd.DataFrame({"category": [fmt.label(mapping, k) for k in keys],
                        "rate": [None if s else r for r, s in zip(rows["active_rate"], rows["suppressed"])],
                        "text": [fmt.rate_with_margin(r, e, s) for r, e, s in
                                 zip(rows["active_rate"], rows["active_rate_se"], rows["suppressed"])],
                        "se": [None if s else e for e, s in zip(rows["active_rate_se"], rows["suppressed"])],
                        "schools": rows["schools"].to_numpy()})
    out["rate"] = out["rate"].astype(float)
    out["se"] = out["se"].astype(float)
    return out


q = bar_frame("ips_quintile", fmt.QUINTILES)
if q.empty:
    st.info("Pas de répartition par quintile, éducation prioritaire ou milieu pour ce profil "
            "(les agrégats des personnels sont publiés par territoire, niveau et secteur seulement).")
col1, col2 = st.columns(2)
with col1:
    ui.chart(charts.bars(q, "category", "rate", "text", "Par quintile d'IPS de l'établissement",
                         reference=fr_rate, se="se"), key="bars_quintile")
    st.markdown(f"**SII** (pente sociale) : {measure_text('sii')}  \n**RII** (rapport) : "
                f"{measure_text('rii', 'ratio')}  \n**Écart Q5 − Q1** : {measure_text('q5_q1_gap')}")
    st.caption("Quintiles nationaux d'IPS pondérés par les comptes du profil. SII : différence de taux entre le "
               "haut et le bas de l'échelle sociale (régression sur le rang social) ; RII : leur rapport. "
               "Intervalles à 95 % fondés sur un modèle, l'établissement comme unité (voir Méthodologie) ; "
               "SII et RII ne sont publiés que sur au moins 10 établissements, dont 4 de chaque côté de l'IPS médian."
               + (" Indicateurs calculés tous secteurs confondus." if f.secteur != "all" else ""))
with col2:
    tab_s, tab_ep, tab_ru, tab_l = st.tabs(["Secteur", "Éducation prioritaire", "Rural / urbain", "Niveau"])
    with tab_s:
        ui.chart(charts.bars(bar_frame("secteur", fmt.SECTEURS), "category", "rate", "text", None,
                             reference=fr_rate, height=260, se="se"), key="bars_secteur")
    with tab_ep:
        ui.chart(charts.bars(bar_frame("education_prioritaire", fmt.EP), "category", "rate", "text", None,
                             reference=fr_rate, height=260, se="se"), key="bars_ep")
        st.caption("L'appartenance à l'éducation prioritaire n'est connue que là où l'annuaire de l'éducation "
                   "est chargé (départements 35 et 94 dans les données de référence actuelles).")
    with tab_ru:
        ui.chart(charts.bars(bar_frame("rural_urban", fmt.RURAL_URBAN), "category", "rate", "text", None,
                             reference=fr_rate, height=260, se="se"), key="bars_ru")
    with tab_l:
        if f.level == "all":
            ui.chart(charts.bars(bar_frame(None, fmt.LEVELS, level_rows=True), "category", "rate", "text",
                                 None, reference=fr_rate, height=260, se="se"), key="bars_level")
        else:
            st.info("Choisissez « Tous niveaux » pour comparer les niveaux.")
    breakdown_rows = pd.concat([bar_frame(b, m).assign(**{"Répartition": fmt.BREAKDOWNS[b]}) for b, m in
                                (("ips_quintile", fmt.QUINTILES), ("secteur", fmt.SECTEURS),
                                 ("education_prioritaire", fmt.EP), ("rural_urban", fmt.RURAL_URBAN))])
with st.expander("Tableau des écarts"):
    ui.table(breakdown_rows.rename(columns={"category": "Catégorie", "text": "Taux d'usage actif",
                                            "schools": "Établissements"})[
        ["Répartition", "Catégorie", "Taux d'usage actif", "Établissements"]],
        f"ecarts_{academie}_{f.period}.csv", "dl_gaps")

# --- schools: funnel plot and IPS scatter -------------------------------------------------------------
st.subheader("Établissements")
schools = data.schools(v, scope, f.period_type, f.period, f.profile, academie, f.level, f.secteur)
if schools.empty:
    st.info("Les taux par établissement sont publiés pour les parents et les élèves "
            "(pour les personnels, la plupart des établissements ont moins de 11 comptes).")
else:
    published = schools[~schools["suppressed"]]
    col1, col2 = st.columns(2)
    with col1:
        ui.chart(charts.funnel(published, "Diagramme en entonnoir (funnel plot)"), key="funnel")
        st.caption("Un établissement est signalé quand son écart reste significatif après correction des "
                   "tests multiples (taux de fausses découvertes de 5 % sur tous les tests de la publication, "
                   "Benjamini-Hochberg) ; les limites à 95 % et 99,8 % sont tracées pour repère.")
    with col2:
        fits = data.ips_fit(v, scope, f.period_type, f.period, f.profile, academie, f.level, f.secteur)
        ui.chart(charts.ips_scatter(published, fits, name, "Usage et IPS des établissements"), key="ips")
        slopes = [f"{territory} : {fmt.gap_interval(10 * fit.slope, 10 * fit.slope_low, 10 * fit.slope_high)}"
                  for geo, territory in (("academie", name), ("nation", "France"))
                  for fit in fits[(fits["geo_level"] == geo) & fits["slope"].notna()].itertuples()]
        if slopes:
            st.caption("Pente de l'ajustement pondéré, par 10 points d'IPS (IC 95 %, les établissements publiés comme "
                       "unités) — " + " ; ".join(slopes) + ".")
    st.caption(f"{fmt.number(len(published))} établissements publiés sur {fmt.number(len(schools))} ; "
               f"les autres relèvent du secret statistique (moins de 11 comptes, ou moins de 3 actifs ou "
               f"non-actifs, ou secret secondaire).")
    table = pd.DataFrame({
        "Établissement": schools["name"], "Commune": schools["commune_name"], "UAI": schools["uai"],
        "Niveau": [fmt.label(fmt.LEVELS, x) for x in schools["level"]],
        "Secteur": [fmt.label(fmt.SECTEURS, x) for x in schools["secteur"]],
        "IPS": [fmt.number(x, 1) for x in schools["ips"]],
        "Comptes (n)": [fmt.SECRET if s else fmt.number(x) for x, s in zip(schools["loaded"], schools["suppressed"])],
        "Taux d'usage actif (IC 95 %)": [
            fmt.rate_interval(r, *fmt.wilson(k, n, s), suppressed=bool(s))
            for r, k, n, s in zip(schools["active_rate"], schools["active"], schools["loaded"], schools["suppressed"])],
        "Taux lissé (IC 95 %)": [fmt.SECRET if s else fmt.NOT_AVAILABLE if pd.isna(x) else
                                 f"{fmt.percent(x)} ({fmt.percent(lo)} – {fmt.percent(hi)})"
                                 for x, lo, hi, s in zip(schools["shrunk_rate"], schools["shrunk_low"],
                                                         schools["shrunk_high"], schools["suppressed"])],
        "Attendu à IPS comparable": [fmt.percent(x) for x in schools["expected_rate"]],
        "Signal": [fmt.SECRET if s else fmt.FUNNEL_FLAGS.get(x, "") if isinstance(x, str) else ""
                   for x, s in zip(schools["funnel_flag"], schools["suppressed"])],
    })
    ui.table(table, f"etablissements_{academie}_{f.period}.csv", "dl_schools")

# --- Theil --------------------------------------------------------------------------------------------
def theil_interval(m) -> str:
    """'0,0123 [0,0050 ; 0,0201]': a Theil index and its bootstrap interval (the index alone without one)."""
    if pd.isna(m.ci_low) or pd.isna(m.ci_high):
        return f"{fmt.number(m.value, 4)} (intervalle non disponible)"
    return f"{fmt.number(m.value, 4)} [{fmt.number(m.ci_low, 4)} ; {fmt.number(m.ci_high, 4)}]"


st.subheader("Décomposition de Theil")
between, within, share = (measures.get(k) for k in ("theil_between", "theil_within", "theil_between_share"))
if between is None or within is None:
    st.info("Décomposition non publiée pour ces filtres.")
elif between.suppressed or within.suppressed:
    st.info(fmt.SECRET)
else:
    c1, c2, c3 = st.columns(3)
    c1.metric("Inégalité entre départements", fmt.number(between.value, 4))
    c2.metric("Inégalité au sein des départements", fmt.number(within.value, 4))
    c3.metric("Part « entre »", fmt.percent(share.value) if share is not None and not share.suppressed
              else fmt.NOT_AVAILABLE)
    shown = share is not None and not share.suppressed
    st.caption("Intervalles à 95 % (bootstrap sur les établissements publiés) : entre départements "
               f"{theil_interval(between)} ; au sein des départements {theil_interval(within)}"
               + (f" ; part « entre » {fmt.rate_interval(share.value, share.ci_low, share.ci_high)}" if shown else "")
               + ". Indice de Theil T des taux d'usage des établissements (pondérés par les comptes) : la part "
               "« entre » dit combien de l'inégalité tient aux différences entre départements.")
