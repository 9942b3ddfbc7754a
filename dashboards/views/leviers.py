"""Leviers: what narrows the gap. The workshop's effect (event study, context model, naive comparison), the
effects of teacher training and household equipment, the académie à contexte comparable, its gap to France
split into composition and the rest, and where to send mediators (budget scenarios, ranked schools).

Every figure is a ``levers_*`` table of the serving copy: the publisher refits the methods on the published
schools only (pipelines/defs/publication/levers.py). Estimates in points (13.2 = 13,2 pt)."""

import pandas as pd
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt
from pipelines.equity import MIN_RANKED_SCHOOLS, MIN_SCHOOLS_PER_SIDE

LEVERS = {"workshop": "Atelier de médiation", "teacher_training": "Formation des enseignants à l'ENT",
          "household_equipment": "Équipement numérique des foyers"}
METHODS = {"did_event_study": "étude d'événement", "context_glm": "modèle de contexte",
           "naive": "comparaison naïve (biaisée)"}
UNITS = {"workshop": "un atelier", "teacher_training": "+10 points de taux de formation",
         "household_equipment": "+10 points de taux d'équipement"}
# The "what works" table: (lever, national or académie row, method), in this order.
EFFECT_ROWS = (("workshop", False, "did_event_study"), ("workshop", True, "did_event_study"),
               ("workshop", False, "context_glm"), ("teacher_training", False, "context_glm"),
               ("household_equipment", False, "context_glm"), ("workshop", False, "naive"))
COMPONENTS = {"gap": "Écart observé", "explained": "Expliqué par la composition", "unexplained": "Non expliqué",
              "ips": "dont IPS", "household_equipment": "dont équipement des foyers",
              "teacher_training": "dont formation des enseignants", "secteur": "dont secteur",
              "education_prioritaire": "dont éducation prioritaire", "rurality": "dont rural / urbain",
              "level": "dont niveau", "workshop": "dont ateliers", "academie": "dont académie"}


def pts(value) -> str:
    return fmt.points(value / 100)


def interval(low, high) -> str:
    return f"{pts(low)} à {pts(high)}"


def reading(low, high) -> str:
    """'écart non significatif' when the 95 % interval contains 0."""
    return "écart non significatif" if low <= 0 <= high else "significatif à 95 %"


def scenario_sii(scenarios: pd.DataFrame, column: str) -> list[str]:
    """A scenario's SII (points) with its 95 % interval, or why the fit guards did not publish it."""
    return [fmt.gap_interval(v / 100, lo / 100, hi / 100) if pd.isna(refusal) else fmt.SII_REFUSALS[refusal]
            for v, lo, hi, refusal in zip(scenarios[column], scenarios[f"{column}_ci_low"],
                                          scenarios[f"{column}_ci_high"], scenarios["sii_refusal"])]


def with_interval(row) -> str:
    return f"{pts(row.estimate)} (IC à 95 % : {interval(row.ci_low, row.ci_high)} ; {reading(row.ci_low, row.ci_high)})"


ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
academie = f.academie
st.title("Leviers")
fit = data.lever_fit(v)
if not fit:
    st.info("Aucune estimation des leviers n'est publiée : l'entrepôt ne contient pas encore le contexte des "
            "établissements (formation des enseignants, équipement des foyers), les ateliers de médiation et "
            "l'activité des parents depuis la rentrée, ou aucune année scolaire ne compte de sessions de parents.")
    st.stop()
territory = ctx.academie_name(academie) if academie else None
st.caption(f"Parents · année scolaire {fit['school_year']} · estimations sur les "
           f"{fmt.number(fit['schools_used'])} établissements dont le taux annuel est publié (sur "
           f"{fmt.number(fit['schools_total'])} suivis) · les filtres de période, de profil, de niveau et de secteur "
           "ne s'appliquent pas à cette page.")

# --- 1. what works ------------------------------------------------------------------------------------
st.subheader("Ce qui fait bouger l'usage des parents")
effects = data.levers(v, scope, "levers_effects")
effects = effects[effects["scale"] == "points"]
picked = []
for lever, own, method in EFFECT_ROWS:
    rows = effects[(effects["lever"] == lever) & (effects["method"] == method)
                   & (effects["academie_code"] == academie if own else effects["academie_code"].isna())]
    if own and academie is None:
        continue
    picked += [(r, territory if own else "France") for r in rows.itertuples()]
if not picked:
    st.info("Aucun effet publié : trop peu d'établissements publiés ont un contexte connu ou ont tenu un atelier.")
else:
    table = pd.DataFrame({
        "Levier": [LEVERS.get(r.lever, r.lever) for r, _ in picked],
        "Pour": [UNITS.get(r.lever, "") for r, _ in picked],
        "Territoire": [t for _, t in picked],
        "Méthode": [METHODS.get(r.method, r.method) for r, _ in picked],
        "Effet": [pts(r.estimate) for r, _ in picked],
        "IC à 95 %": [interval(r.ci_low, r.ci_high) for r, _ in picked],
        "Lecture": [reading(r.ci_low, r.ci_high) for r, _ in picked],
        "Établissements": [fmt.number(r.n_schools) for r, _ in picked],
    })
    chart_rows = pd.DataFrame({"label": [f"{LEVERS.get(r.lever, r.lever)} — {METHODS.get(r.method, r.method)} ({t})"
                                         for r, t in picked],
                               "estimate": [r.estimate for r, _ in picked], "ci_low": [r.ci_low for r, _ in picked],
                               "ci_high": [r.ci_high for r, _ in picked]})
    ui.chart(charts.estimates(chart_rows, "label", "Effet sur le taux d'usage actif des parents (points, IC à 95 %)"),
             key="lever_effects")
    ui.table(table, f"leviers_effets_{fit['school_year']}.csv", "dl_lever_effects",
             "Établissements : ceux qui ont tenu un atelier (atelier), ou tous ceux du modèle de contexte. "
             "L'étude d'événement est l'estimation de référence de l'effet d'un atelier. La comparaison naïve "
             "(établissements avec atelier contre les autres) est biaisée : les ateliers vont d'abord aux "
             "établissements à faible IPS et en éducation prioritaire, où l'usage est plus faible ; elle mélange "
             "l'effet de l'atelier et le choix des établissements, et n'est montrée que pour mémoire.")

# --- 2. event study -----------------------------------------------------------------------------------
st.subheader("L'effet d'un atelier, semaine après semaine")
study = data.levers(v, scope, "levers_event_study")
study = study[(study["scale"] == "points") & study["academie_code"].isna()]
if study.empty:
    st.info("Pas d'étude d'événement publiée : aucun établissement publié n'a tenu d'atelier cette année.")
else:
    ui.chart(charts.event_study(study, "Parents actifs depuis la rentrée : établissements avec atelier contre "
                                       "établissements comparables (France, points)"), key="lever_event_study")
    p = fit.get("pretrend_p")
    if p is None or pd.isna(p):
        verdict = "Le test des tendances antérieures n'a pas pu être calculé (trop peu de semaines avant les ateliers)."
    elif p >= 0.05:
        verdict = (f"Avant l'atelier, les établissements qui l'ont tenu évoluaient comme les établissements "
                   f"comparables (test des tendances antérieures : p = {fmt.number(p, 2)}) : l'hypothèse de "
                   "tendances parallèles n'est pas contredite.")
    else:
        verdict = (f"Avant l'atelier, les établissements qui l'ont tenu s'écartaient déjà des établissements "
                   f"comparables (test des tendances antérieures : p = {fmt.number(p, 2)}) : l'effet est à lire "
                   "avec prudence.")
    st.markdown(verdict)
    st.caption("Semaine 0 : celle de l'atelier ; semaine −1 : la référence (écart nul par construction). Points gris : "
               "les semaines avant l'atelier, où l'écart devrait être nul si les établissements étaient comparables. "
               "Barres : intervalles à 95 % semaine par semaine ; zone bleue : bande à 95 % valable pour toutes "
               "les semaines à la fois.")

# --- 3. académie à contexte comparable -----------------------------------------------------------------
st.subheader("L'académie à contexte comparable")
academies = data.levers(v, scope, "levers_academie_effects")
academies = academies[academies["scale"] == "points"].assign(
    name=lambda d: [ctx.academie_name(c) for c in d["academie_code"]])
own = academies[academies["academie_code"] == academie]
if len(own):
    st.markdown(f"**{territory}** : {with_interval(own.iloc[0])} par rapport à une académie moyenne dont les "
                "établissements auraient le même contexte.")
if scope.national and len(academies):
    ranked = academies.sort_values("estimate", ascending=False)
    ui.chart(charts.estimates(ranked, "name", "Effet de l'académie à contexte comparable (points, IC à 95 %)",
                              highlight=territory), key="lever_academies")
elif own.empty:
    st.info("Pas d'estimation pour l'académie : trop peu de ses établissements ont un taux annuel publié et un "
            "contexte connu.")
st.caption("À contexte comparable : l'écart de taux d'usage actif des parents que le modèle de contexte attribue à "
           "l'académie elle-même, une fois pris en compte l'IPS, l'équipement des foyers, la formation des "
           "enseignants, le secteur, l'éducation prioritaire, le milieu rural ou urbain, le niveau et les ateliers.")

# --- 4. gap explanation -------------------------------------------------------------------------------
st.subheader("Ce qu'explique la composition")
gaps = data.levers(v, scope, "levers_gap_decomposition")


def split(rows: pd.DataFrame) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(COMPONENTS)}
    rows = rows.assign(order=rows["component"].map(order)).sort_values("order")
    return rows.assign(label=[COMPONENTS.get(c, c) for c in rows["component"]])


left, right = st.columns(2)
with left:
    mine = gaps[(gaps["gap"] == "academie") & (gaps["academie_code"] == academie)]
    if mine.empty:
        st.info("Pas de décomposition de l'écart de l'académie à la France.")
    else:
        parts = mine.set_index("component")
        ui.chart(charts.estimates(split(mine), "label", f"{territory} − France (points, IC à 95 %)"), key="lever_gap")
        st.markdown(f"Écart à la France : {with_interval(parts.loc['gap'])} ; la composition des établissements en "
                    f"explique {with_interval(parts.loc['explained'])}.")
with right:
    q = gaps[gaps["gap"] == "ips_q5_q1"]
    if q.empty:
        st.info("Pas de décomposition de l'écart Q5 − Q1.")
    else:
        ui.chart(charts.estimates(split(q), "label", "France : IPS Q5 − Q1 (points, IC à 95 %)"), key="lever_q5q1")
        parts = q.set_index("component")
        st.markdown(f"Écart Q5 − Q1 : {with_interval(parts.loc['gap'])} ; la composition en explique "
                    f"{with_interval(parts.loc['explained'])}.")
st.caption("Décomposition d'Oaxaca–Blinder sur le modèle de contexte, intervalles par bootstrap sur les "
           "établissements. Les parts « dont » se lisent avec prudence quand la partie expliquée est proche de 0.")

# --- 5. where to act ----------------------------------------------------------------------------------
st.subheader("Où envoyer les médiateurs")
if academie is None:
    st.stop()
scenarios = data.levers(v, scope, "levers_scenarios")
scenarios = scenarios[scenarios["academie_code"] == academie]
if scenarios.empty:
    st.info("Pas de scénario publié pour l'académie : il faut un effet national des ateliers et au moins trois "
            "établissements publiés avec un IPS (dix pour le SII).")
else:
    ui.table(pd.DataFrame({
        "Ateliers": [fmt.number(k) for k in scenarios["workshops"]],
        "Parents actifs en plus": [fmt.number(x) for x in scenarios["extra_active"]],
        "Taux de l'académie avant → après": [f"{fmt.percent(b / 100)} → {fmt.percent(a / 100)}"
                                             for b, a in zip(scenarios["rate_before"], scenarios["rate_after"])],
        "Gain": [pts(x) for x in scenarios["points"]],
        "IC à 95 % du gain": [interval(lo, hi) for lo, hi in zip(scenarios["points_ci_low"], scenarios["points_ci_high"])],
        "SII avant (IC 95 %)": scenario_sii(scenarios, "sii_before"),
        "SII après (IC 95 %)": scenario_sii(scenarios, "sii_after"),
        "Variation du SII (IC 95 %)": scenario_sii(scenarios, "sii_change"),
    }), f"leviers_scenarios_{academie}.csv", "dl_lever_scenarios",
        f"Avec K ateliers dans les K établissements en tête du classement ci-dessous. Taux et SII calculés sur les "
        f"{fmt.number(scenarios['n_schools'].iloc[0])} établissements publiés de l'académie. SII avant et après : "
        "intervalle de Wald de la droite ajustée sur les établissements, publié avec les mêmes règles que le SII "
        f"de l'académie (au moins {fmt.number(MIN_RANKED_SCHOOLS)} établissements dont "
        f"{fmt.number(MIN_SCHOOLS_PER_SIDE)} de chaque côté de l'IPS médian) ; gain et variation du SII : "
        "intervalles issus de l'incertitude sur l'effet national d'un atelier.")
targets = data.lever_targets(v, scope, academie)
if len(targets):
    st.markdown("**Établissements sans atelier cette année, classés par le nombre de parents actifs qu'un atelier "
                "leur apporterait**")
    ui.table(pd.DataFrame({
        "Rang": targets["rank"], "Établissement": targets["name"], "Commune": targets["commune_name"],
        "UAI": targets["uai"], "Niveau": [fmt.label(fmt.LEVELS, x) for x in targets["level"]],
        "Comptes parents": [fmt.number(x) for x in targets["loaded"]],
        "Taux d'usage actif (IC 95 %)": [fmt.rate_interval(x, *fmt.wilson(k, n)) for x, k, n in
                                         zip(targets["active_rate"], targets["active"], targets["loaded"])],
        "Parents actifs en plus attendus": [fmt.number(x) for x in targets["extra_active"]],
        "IC à 95 %": [f"{fmt.number(lo)} à {fmt.number(hi)}"
                      for lo, hi in zip(targets["extra_active_low"], targets["extra_active_high"])],
    }), f"leviers_etablissements_{academie}.csv", "dl_lever_targets",
        "Parents actifs en plus = comptes chargés × (taux avec un atelier − taux actuel), avec l'effet national d'un "
        "atelier, supposé le même partout. Seuls les établissements dont le taux annuel est publié sont classés. "
        "Taux d'usage actif : intervalle à 95 % de Wilson sur les comptes de l'établissement.")
