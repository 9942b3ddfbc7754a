"""Vue nationale: académies on a map, HEAT-style scatter (adoption vs SII), headline figures and change."""

import pandas as pd
import streamlit as st

from ent_dash import charts, data, ui
from pipelines import fr_format as fmt
from pipelines import users as accounts

ctx = ui.current()
f, v, scope = ctx.filters, ctx.version, ctx.scope
if not scope.national:  # not in an académie user's navigation; refused again here
    accounts.audit("scope_refused", login=ctx.principal.login, page="nationale")
    st.error("Cette page est réservée aux utilisateurs nationaux.")
    st.stop()

st.title("Vue nationale")
st.caption(ui.filters_caption(ctx))

nation = data.cells(v, scope, f.period_type, f.period, f.profile, "nation", level=f.level, secteur=f.secteur)
before = (data.cells(v, scope, f.period_type, f.previous, f.profile, "nation", level=f.level, secteur=f.secteur)
          if f.previous else pd.DataFrame())


def change(col):
    """Change of a France figure since the previous period (None when either is not published)."""
    if nation.empty or before.empty or bool(nation["suppressed"].iloc[0]) or bool(before["suppressed"].iloc[0]):
        return None
    now, then = nation[col].iloc[0], before[col].iloc[0]
    return None if pd.isna(now) or pd.isna(then) else float(now - then)


def delta(col):
    d = change(col)
    if d is None:
        return None
    return fmt.points(d, ascii_minus=True) if col in RATES else fmt.signed_number(d).replace("−", "-")


def change_se(col):
    """Standard error of a France figure's change (the two periods as independent estimates)."""
    return None if change(col) is None else fmt.independent_se(nation[f"{col}_se"].iloc[0],
                                                                before[f"{col}_se"].iloc[0])


def delta_color(col):
    """Grey arrow when the change's 95 % interval holds 0 (« évolution non significative »)."""
    return "off" if fmt.change_significant(change(col), change_se(col)) is False else "normal"


RATES = ("active_rate", "activation_rate", "mobile_share")
FIGURES = {"active_rate": "taux d'usage actif", "activation_rate": "taux d'activation",
           "mobile_share": "part mobile", "visits_per_active": "visites par compte actif"}


if nation.empty:
    st.info("Aucune donnée pour ces filtres.")
else:
    row = nation.iloc[0]
    sup = bool(row["suppressed"])
    # two rows of three: a rate with its ± does not fit in a fifth of the page
    (c1, c2, c3), (c4, c5, _) = st.columns(3), st.columns(3)
    c1.metric("Taux d'usage actif", fmt.rate_with_margin(row["active_rate"], row["active_rate_se"], sup),
              delta("active_rate"), delta_color=delta_color("active_rate"),
              help="Comptes ayant ouvert au moins une session sur la période / comptes chargés ; ± : demi-largeur "
                   "de l'intervalle à 95 % (l'établissement comme unité).")
    c2.metric("Taux d'activation", fmt.rate_with_margin(row["activation_rate"], row["activation_rate_se"], sup),
              delta("activation_rate"), delta_color=delta_color("activation_rate"),
              help="Comptes activés / comptes chargés ; ± : demi-largeur de l'intervalle à 95 %.")
    c3.metric("Part mobile", fmt.rate_with_margin(row["mobile_share"], row["mobile_share_se"], sup),
              delta("mobile_share"), delta_color=delta_color("mobile_share"),
              help="Part des sessions ouvertes depuis l'application mobile ; ± : demi-largeur de l'intervalle à 95 %.")
    c4.metric("Visites par compte actif", ui.visits_with_margin(row["visits_per_active"], row["visits_per_active_se"],
                                                                sup),
              delta("visits_per_active"), delta_color=delta_color("visits_per_active"),
              help="Sessions / comptes actifs ; ± : demi-largeur de l'intervalle à 95 %.")
    c5.metric("Établissements", fmt.number(row["schools"]),
              help=f"{fmt.SECRET if sup else fmt.number(row['loaded'])} comptes chargés")
    if f.previous:
        changes = [f"{label} : {fmt.change_interval(change(col), change_se(col), plain=col not in RATES)}"
                   for col, label in FIGURES.items() if change(col) is not None]
        st.caption(f"Évolution par rapport à la période précédente ({fmt.period_label(f.period_type, f.previous)}), "
                   "en points de pourcentage (visites : en nombre)."
                   + ("" if not changes else " " + " ; ".join(changes) + ". Les deux périodes sont traitées comme "
                      "deux estimations indépendantes (prudent), flèche grise quand l'évolution n'est pas "
                      "significative."))

aca = data.cells(v, scope, f.period_type, f.period, f.profile, "academie", level=f.level, secteur=f.secteur)
aca_before = (data.cells(v, scope, f.period_type, f.previous, f.profile, "academie", level=f.level,
                         secteur=f.secteur) if f.previous else pd.DataFrame(columns=aca.columns))
names = dict(zip(ctx.academies["academie_code"], ctx.academies["academie_name"]))
equity = data.equity(v, scope, f.period_type, f.period, f.profile, f.level, scope_level="academie")
sii = equity[equity["measure"] == "sii"].set_index("scope_code")

left, right = st.columns([3, 2])
with left:
    shapes = data.shapes(v, scope, "academie")
    shrunk = data.shrunk_active_rates(v, scope, f.period_type, f.period, f.profile, "academie", level=f.level,
                                      secteur=f.secteur)
    values = {code: rate for code, (rate, _, _) in shrunk.items()}
    observed = {r.geo_code: r for r in aca.itertuples()}
    labels = {code: f"<b>{names.get(code, code)}</b><br>taux d'usage actif lissé : "
                    + (fmt.rate_interval(*shrunk[code]) if code in shrunk else fmt.NOT_AVAILABLE)
                    + "<br>taux observé : "
                    + (fmt.rate_with_margin(r.active_rate, r.active_rate_se, r.suppressed) if (r := observed.get(code))
                       else fmt.NOT_AVAILABLE)
              for code in shapes["code"]}
    suppressed = set(aca.loc[aca["suppressed"], "geo_code"])
    ui.chart(charts.choropleth(shapes, values, labels, suppressed,
                               f"Taux d'usage actif lissé par académie — {fmt.PROFILES[f.profile].lower()}"),
             key="map_academies")
    st.caption("Taux lissé (bayésien empirique, loi bêta-binomiale) : une académie dont le taux est imprécis "
               "(peu d'établissements ou des établissements très différents) est rapprochée du taux commun, pour "
               "ne pas ressortir par hasard ; au survol, son intervalle à 95 % [borne basse ; borne haute], "
               "l'établissement comme unité. Gris : secret "
               "statistique. Les académies d'outre-mer sont représentées en médaillon, à gauche.")
with right:
    if sii.empty:
        st.info("Indicateurs d'équité non publiés pour ces filtres.")
    else:
        heat = aca[~aca["suppressed"]].merge(sii[["value", "ci_low", "ci_high", "suppressed"]].rename(
            columns={"value": "sii", "ci_low": "sii_low", "ci_high": "sii_high", "suppressed": "sii_suppressed"}),
            left_on="geo_code", right_index=True)
        heat = heat[~heat["sii_suppressed"] & heat["sii"].notna()].copy()
        heat["name"] = heat["geo_code"].map(names)
        heat["rate"], heat["rate_se"] = heat["active_rate"], heat["active_rate_se"]
        heat["hover"] = [f"<b>{n}</b><br>taux : {fmt.rate_with_margin(r, e)}<br>SII : {fmt.gap_interval(s, lo, hi)}"
                         for n, r, e, s, lo, hi in zip(heat["name"], heat["rate"], heat["rate_se"], heat["sii"],
                                                       heat["sii_low"], heat["sii_high"])]
        ui.chart(charts.heat_scatter(heat, "Adoption moyenne et inégalité sociale (SII)"), key="heat")
        st.caption("SII : écart de taux d'usage entre le haut et le bas de l'échelle sociale (IPS), en points, "
                   "avec son intervalle à 95 % (barres horizontales) ; bulle creuse : écart non significatif "
                   "(l'intervalle contient 0). Publié pour les académies d'au moins 10 établissements, dont 4 de "
                   "chaque côté de l'IPS médian."
                   + (" Calculé tous secteurs confondus." if f.secteur != "all" else ""))

st.subheader("Tableau des académies")
prev_rates = {r.geo_code: r for r in aca_before.itertuples() if not r.suppressed and pd.notna(r.active_rate)}
display = ui.cell_table(aca, "Académie", names)
display["Évolution (IC 95 %)"] = [
    fmt.change_interval(r.active_rate - p.active_rate, fmt.independent_se(r.active_rate_se, p.active_rate_se))
    if (p := prev_rates.get(r.geo_code)) is not None and not r.suppressed and pd.notna(r.active_rate)
    else fmt.NOT_AVAILABLE
    for r in aca.itertuples()]
display["Taux lissé (IC 95 %)"] = [fmt.rate_interval(*shrunk[c]) if c in shrunk else
                                   (fmt.SECRET if s else fmt.NOT_AVAILABLE)
                                   for c, s in zip(aca["geo_code"], aca["suppressed"])]
display["SII (IC 95 %)"] = [
    fmt.gap_interval(sii.loc[c, "value"], sii.loc[c, "ci_low"], sii.loc[c, "ci_high"])
    if c in sii.index and not sii.loc[c, "suppressed"] else (fmt.SECRET if c in sii.index else fmt.NOT_AVAILABLE)
    for c in aca["geo_code"]]
ui.table(display.sort_values("Académie"), f"academies_{f.period}_{f.profile}.csv", "dl_academies")
