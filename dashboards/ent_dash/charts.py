"""Plotly figures with French labels. Maps are drawn as filled polygons on plain axes (no geo base map to
download, so they render offline), with the overseas académies as insets beside metropolitan France."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from pipelines import fr_format as fmt

COLORSCALE = "YlGnBu"
SECRET_COLOR = "#d9d9d9"
NO_DATA_COLOR = "#f2f2f2"
ACCENT = "#1f5fa8"
FRANCE = "#c0392b"
LAYOUT = dict(separators=", ", margin=dict(l=10, r=10, t=40, b=10), font=dict(size=12),
              hoverlabel=dict(align="left"))
# Overseas académies drawn as insets on the left of the metropolitan map (order, top to bottom).
INSETS = ("32", "31", "33", "28", "43")
METRO_LAT = 46.5


# plotly.js speaks English (modebar tooltips, date ticks, decimal point): every chart is drawn with this
# French locale, passed in its config (ui.chart), since Streamlit registers no plotly locale.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "locale": "fr",
    "locales": {"fr": {
        "dictionary": {
            "Autoscale": "Échelle automatique", "Box Select": "Sélection rectangulaire",
            "Lasso Select": "Sélection au lasso", "Download plot as a png": "Télécharger le graphique (PNG)",
            "Download plot as a PNG": "Télécharger le graphique (PNG)", "Fullscreen": "Plein écran",
            "Download plot": "Télécharger le graphique", "Pan": "Déplacer", "Reset axes": "Réinitialiser les axes",
            "Reset view": "Réinitialiser la vue", "Zoom": "Zoom", "Zoom in": "Zoom avant", "Zoom out": "Zoom arrière",
            "Toggle Spike Lines": "Afficher ou masquer les repères",
            "Show closest data on hover": "Survol : donnée la plus proche",
            "Compare data on hover": "Survol : comparer les données",
            "Double-click to zoom back out": "Double-cliquez pour revenir à la vue d'ensemble",
            "Double-click on legend to isolate one trace": "Double-cliquez sur la légende pour isoler une série",
            "Taking snapshot - this may take a few seconds": "Capture en cours, quelques secondes…",
            "Snapshot succeeded": "Capture réussie",
            "Sorry, there was a problem downloading your snapshot!": "Le téléchargement de la capture a échoué.",
        },
        "format": {
            "days": [d.capitalize() for d in (fmt.DAYS[6], *fmt.DAYS[:6])],
            "shortDays": [d[:3] + "." for d in (fmt.DAYS[6], *fmt.DAYS[:6])],
            "months": list(fmt.MONTHS), "shortMonths": list(fmt.MONTHS_SHORT),
            "periods": ["", ""], "dateTime": "%A %e %B %Y, %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
            "decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"],
            "year": "%Y", "month": "%b %Y", "dayMonth": "%-d %b", "dayMonthYear": "%-d %b %Y",
        },
    }},
}


def layout(fig: go.Figure, title: str | None = None, height: int = 420, **kwargs) -> go.Figure:
    fig.update_layout(**LAYOUT, title=title, height=height, **kwargs)
    return fig


def _rings(geometry: dict):
    for polygon in geometry["coordinates"]:
        for ring in polygon:
            yield np.asarray(ring, dtype=float)


def _project(shapes: pd.DataFrame, insets: bool) -> dict[str, list[np.ndarray]]:
    """Rings per code in map units: x = lon·cos(46.5°), y = lat; overseas académies moved into insets."""
    scale_x = math.cos(math.radians(METRO_LAT))
    out: dict[str, list[np.ndarray]] = {}
    for code, geojson in zip(shapes["code"], shapes["geojson"]):
        rings = list(_rings(json.loads(geojson)))
        if insets and code in INSETS:
            allpts = np.vstack(rings)
            lo, hi = allpts.min(axis=0), allpts.max(axis=0)
            size = max(hi - lo) or 1.0
            box, top = 1.7, 51.0 - INSETS.index(code) * 2.05
            moved = []
            for r in rings:
                xy = (r - lo) / size * box
                moved.append(np.column_stack([-8.2 + xy[:, 0] + (box - (hi[0] - lo[0]) / size * box) / 2,
                                              top - box + xy[:, 1]]))
            out[code] = moved
        else:
            if insets:  # metropolitan académies only: drop far-away parts (Saint-Pierre-et-Miquelon, Normandie)
                rings = [r for r in rings if -6 <= r[:, 0].mean() <= 10 and 41 <= r[:, 1].mean() <= 52] or rings
            out[code] = [np.column_stack([r[:, 0] * scale_x, r[:, 1]]) for r in rings]
    return out


def choropleth(shapes: pd.DataFrame, values: dict[str, float | None], labels: dict[str, str],
               suppressed: set[str], title: str, insets: bool = True, height: int = 520,
               colorbar_title: str = "Taux") -> go.Figure:
    """Choropleth of académies or départements. ``values`` are rates (0-1); hover shows ``labels``."""
    projected = _project(shapes, insets)
    known = [v for v in values.values() if v is not None and not (isinstance(v, float) and math.isnan(v))]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    fig = go.Figure()
    for code, rings in projected.items():
        xs, ys = [], []
        for r in rings:
            xs += [*r[:, 0], None]
            ys += [*r[:, 1], None]
        v = values.get(code)
        if code in suppressed:
            color = SECRET_COLOR
        elif v is None or (isinstance(v, float) and math.isnan(v)):
            color = NO_DATA_COLOR
        else:
            color = sample_colorscale(COLORSCALE, [(v - lo) / (hi - lo)])[0]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=color,
                                 line=dict(color="white", width=0.6), hoveron="fills", hoverinfo="name",
                                 name=labels.get(code, code), showlegend=False))
    if insets and any(c in projected for c in INSETS):
        for i, code in enumerate(INSETS):
            if code in projected:
                top = 51.0 - i * 2.05
                fig.add_shape(type="rect", x0=-8.3, x1=-6.4, y0=top - 1.8, y1=top + 0.1,
                              line=dict(color="#bbbbbb", width=0.5))
    # Colour bar: an invisible marker trace carrying the scale.
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
        marker=dict(colorscale=COLORSCALE, cmin=100 * lo, cmax=100 * hi, color=[100 * lo], showscale=True,
                    colorbar=dict(title=colorbar_title, ticksuffix=" %", thickness=12, len=0.6))))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return layout(fig, title, height, plot_bgcolor="white")


def _error(frame: pd.DataFrame, value: str, low: str, high: str) -> dict:
    """Plotly asymmetric error bars (percent scale) from interval columns."""
    return dict(type="data", symmetric=False, array=100 * (frame[high] - frame[value]).astype(float),
                arrayminus=100 * (frame[value] - frame[low]).astype(float), color="#555", thickness=1, width=3)


def interval_bars(frame: pd.DataFrame, value: str, low: str, high: str) -> dict:
    """Asymmetric 95 % error bars (percent scale) of horizontal bars; rows without bounds get none."""
    def part(a, b):
        return [None if pd.isna(x) or pd.isna(y) else 100 * (float(x) - float(y)) for x, y in zip(a, b)]
    return dict(type="data", symmetric=False, array=part(frame[high], frame[value]),
                arrayminus=part(frame[value], frame[low]), color="#333", thickness=1.2, width=4)


def heat_scatter(frame: pd.DataFrame, title: str) -> go.Figure:
    """HEAT-style scatter: mean adoption (y) against SII (x), one bubble per académie, with the SII's 95 %
    interval (horizontal bars) and the rate's (vertical bars); a hollow bubble: SII not significant."""
    significant = ~((frame["sii_low"] <= 0) & (frame["sii_high"] >= 0))
    fig = go.Figure(go.Scatter(
        x=100 * frame["sii"], y=100 * frame["rate"], mode="markers+text", text=frame["name"],
        textposition="top center", textfont=dict(size=9),
        error_x=_error(frame, "sii", "sii_low", "sii_high"),
        error_y=dict(type="data", array=100 * fmt.Z95 * frame["rate_se"].astype(float), color="#999",
                     thickness=1, width=0),
        marker=dict(size=np.sqrt(frame["schools"].clip(lower=1)) * 2 + 6, color=ACCENT, opacity=0.7,
                    symbol=np.where(significant, "circle", "circle-open"), line=dict(color=ACCENT, width=2)),
        hovertext=frame["hover"], hoverinfo="text"))
    fig.add_vline(x=0, line=dict(color="#999", dash="dot"))
    fig.update_xaxes(title="Indice de pente des inégalités (SII, points)", ticksuffix=" pts", zeroline=False)
    fig.update_yaxes(title="Taux d'usage actif moyen", ticksuffix=" %")
    return layout(fig, title, 460)


def bars(frame: pd.DataFrame, category: str, value: str, text: str, title: str, reference: float | None = None,
         reference_label: str = "France", height: int = 320, color: str = ACCENT, se: str | None = None,
         bounds: tuple[str, str] | None = None) -> go.Figure:
    """Horizontal bars of rates (0-1) with their French labels; suppressed bars have no length. ``se``: column
    of standard errors, drawn as 95 % error bars; ``bounds``: (low, high) columns of asymmetric intervals."""
    error = (dict(type="data", array=100 * fmt.Z95 * frame[se].astype(float), color="#333", thickness=1.2, width=4)
             if se is not None and se in frame else
             interval_bars(frame, value, *bounds) if bounds is not None else None)
    fig = go.Figure(go.Bar(y=frame[category], x=100 * frame[value].astype(float), orientation="h", error_x=error,
                           text=frame[text], textposition="inside", insidetextanchor="start",
                           marker_color=color, hoverinfo="text",
                           hovertext=[f"{c} : {t}" for c, t in zip(frame[category], frame[text])]))
    if reference is not None and not pd.isna(reference):
        fig.add_vline(x=100 * reference, line=dict(color=FRANCE, dash="dash"),
                      annotation_text=f"{reference_label} {fmt.percent(reference)}", annotation_position="top")
    fig.update_xaxes(ticksuffix=" %", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", title=None)
    return layout(fig, title, height)


LEVEL_SYMBOLS = {"ecole": "circle", "college": "square", "lycee": "diamond"}
LEVEL_LINE_COLORS = {"ecole": "#6c7a89", "college": "#8e44ad", "lycee": "#b9770e", "inconnu": "#888888"}


def funnel(schools: pd.DataFrame, title: str) -> go.Figure:
    """Funnel plot: active rate against loaded accounts, with the published 95 % and 99.8 % limits.

    The model's limits belong to a target (académie × level: écoles sit far below collèges), so each
    target gets its own pair of funnels and reference line, drawn in its level's colour; points are
    coloured by their flag (Benjamini-Hochberg over the release) and shaped by their level (école ●,
    collège ■, lycée ◆). Periods without published limits (months) show the points only: the funnel is
    the serving copy's, never recomputed here."""
    pts = schools.dropna(subset=["active_rate", "loaded"]).sort_values("loaded")
    fig = go.Figure()
    if len(pts):
        limited = pts.dropna(subset=["funnel_low95"]).assign(level=lambda d: d["level"].fillna("inconnu"))
        groups = [(float(t), g) for (t, _), g in limited.groupby(["funnel_target", "level"], sort=True)]
        source = ("limites du modèle (surdispersion prise en compte), une par niveau ; ● école, ■ collège, "
                  "◆ lycée ; couleur : signalé après correction des tests multiples" if groups else
                  "limites publiées pour l'année scolaire et les trimestres seulement")
        several = len(groups) > 1
        for i, (ref, g) in enumerate(groups):
            level = g["level"].iloc[0] if "level" in g else "inconnu"
            color = LEVEL_LINE_COLORS.get(level, "#888888") if several else "#888888"
            suffix = f" — {fmt.label(fmt.LEVELS, level).lower()}" if several else ""
            n = g["loaded"].astype(float).to_numpy()
            for key, dash, name in (("funnel_high998", "dot", "99,8 %"), ("funnel_low998", "dot", None),
                                    ("funnel_high95", "dash", "95 %"), ("funnel_low95", "dash", None)):
                fig.add_trace(go.Scatter(x=n, y=100 * np.clip(g[key].astype(float).to_numpy(), 0, 1), mode="lines",
                                         line=dict(color=color, dash=dash, width=1),
                                         name=f"{name}{suffix}" if name else key, legendgroup=f"limits{i}",
                                         showlegend=name is not None, hoverinfo="skip"))
            fig.add_hline(y=100 * ref, line=dict(color=color if several else FRANCE, width=1),
                          annotation_text=f"référence{suffix} {fmt.percent(ref)}",
                          annotation_position="bottom right")
        flag = pts["funnel_flag"].fillna("")
        colors = np.where(flag == "bas", "#d35400", np.where(flag == "haut", "#27ae60", ACCENT))
        hover = [
            f"<b>{r.name}</b><br>{r.commune_name}<br>n = {fmt.number(r.loaded)} comptes<br>"
            f"taux d'usage actif : {fmt.percent(r.active_rate)}<br>attendu à IPS comparable : {fmt.percent(r.expected_rate)}"
            + (f"<br>{fmt.FUNNEL_FLAGS.get(r.funnel_flag, '')}" if isinstance(r.funnel_flag, str) else "")
            + (f"<br>q (Benjamini-Hochberg) : {fmt.number(r.funnel_q, 3)}" if pd.notna(getattr(r, "funnel_q", None))
               else "")
            for r in pts.itertuples()
        ]
        fig.add_trace(go.Scatter(x=pts["loaded"].astype(float), y=100 * pts["active_rate"].astype(float),
                                 mode="markers", marker=dict(color=colors, size=8, line=dict(color="white", width=0.5),
                                                             symbol=[LEVEL_SYMBOLS.get(x, "circle") for x in pts["level"]]),
                                 name="établissements", hovertext=hover, hoverinfo="text"))
        fig.add_annotation(text=source, xref="paper", yref="paper", x=0, y=-0.2, showarrow=False,
                           font=dict(size=10, color="#666"))
    fig.update_xaxes(title="Comptes chargés (n)", type="log")
    fig.update_yaxes(title="Taux d'usage actif", ticksuffix=" %")
    return layout(fig, title, 460, legend=dict(orientation="h", y=1.02, x=1, xanchor="right"))


def ips_scatter(schools: pd.DataFrame, fits: pd.DataFrame, academie_name: str, title: str) -> go.Figure:
    """Adoption against IPS, bubble size = loaded accounts, with weighted fits (académie and France)."""
    pts = schools.dropna(subset=["active_rate", "ips"])
    fig = go.Figure()
    if len(pts):
        hover = [f"<b>{r.name}</b><br>{r.commune_name}<br>IPS {fmt.number(r.ips, 1)}<br>"
                 f"taux : {fmt.percent(r.active_rate)}<br>n = {fmt.number(r.loaded)}" for r in pts.itertuples()]
        fig.add_trace(go.Scatter(x=pts["ips"], y=100 * pts["active_rate"].astype(float), mode="markers",
                                 marker=dict(size=np.sqrt(pts["loaded"].astype(float).clip(lower=1)) / 1.5 + 4,
                                             color=ACCENT, opacity=0.55),
                                 name="établissements", hovertext=hover, hoverinfo="text"))
        xs = np.linspace(float(pts["ips"].min()), float(pts["ips"].max()), 20)
        for geo, color, name in (("academie", ACCENT, academie_name), ("nation", FRANCE, "France")):
            fit = fits[fits["geo_level"] == geo]
            if len(fit) and pd.notna(fit["slope"].iloc[0]):
                slope, intercept = float(fit["slope"].iloc[0]), float(fit["intercept"].iloc[0])
                fig.add_trace(go.Scatter(x=xs, y=100 * (intercept + slope * xs), mode="lines",
                                         line=dict(color=color, width=2, dash="solid" if geo == "academie" else "dash"),
                                         name=f"ajustement pondéré — {name} ({fmt.points(slope * 10)} par 10 pts d'IPS)"))
    fig.update_xaxes(title="Indice de position sociale (IPS)")
    fig.update_yaxes(title="Taux d'usage actif", ticksuffix=" %")
    return layout(fig, title, 460, legend=dict(orientation="h", y=-0.25))


def weekly(series: pd.DataFrame, holidays: pd.DataFrame, gaps: pd.DataFrame, title: str) -> go.Figure:
    """Weekly active rate (France and the académie), holidays shaded, data-gap weeks flagged."""
    fig = go.Figure()
    for h in holidays.itertuples():
        fig.add_vrect(x0=pd.Timestamp(h.first_day), x1=pd.Timestamp(h.last_day) + pd.Timedelta(days=1),
                      fillcolor="#f5cba7", opacity=0.25 if holidays["zone"].nunique() > 1 else 0.45,
                      line_width=0, layer="below")
    for (geo, name), color in zip(series.groupby(["geo_level", "name"], sort=False).groups, (FRANCE, ACCENT)):
        s = series[(series["geo_level"] == geo) & (series["name"] == name)]
        band = s.dropna(subset=["active_rate_se"]) if "active_rate_se" in s else s.iloc[:0]
        if len(band):  # 95 % interval of the weekly rate, shaded
            half = fmt.Z95 * band["active_rate_se"].astype(float)
            rate = band["active_rate"].astype(float)
            fig.add_trace(go.Scatter(
                x=list(band["week_start"]) + list(band["week_start"])[::-1],
                y=list(100 * (rate + half)) + list(100 * (rate - half))[::-1], fill="toself",
                fillcolor="rgba(192,57,43,0.15)" if geo == "nation" else "rgba(31,95,168,0.18)", line=dict(width=0),
                hoverinfo="skip", name=f"intervalle à 95 % — {name}", showlegend=True))
        fig.add_trace(go.Scatter(
            x=s["week_start"], y=100 * s["active_rate"].astype(float), mode="lines+markers", name=name,
            line=dict(color=FRANCE if geo == "nation" else ACCENT, width=2), marker=dict(size=4),
            hovertext=[f"{name}<br>semaine du {fmt.long_date(w)}<br>{fmt.percent(r, suppressed=bool(sup))}"
                       for w, r, sup in zip(s["week_start"], s["active_rate"], s["suppressed"])],
            hoverinfo="text"))
    if len(gaps):
        fig.add_trace(go.Scatter(
            x=gaps["week_start"], y=[0] * len(gaps), mode="markers", name="trou de données probable",
            marker=dict(symbol="triangle-up", size=11, color="#8e44ad"),
            hovertext=[f"semaine du {fmt.long_date(w)} : {int(n)} établissement(s) sans données plausibles"
                       for w, n in zip(gaps["week_start"], gaps["schools_flagged"])], hoverinfo="text"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker=dict(size=12, color="#f5cba7", symbol="square"),
                             name="vacances scolaires"))
    fig.update_yaxes(title="Taux d'usage actif hebdomadaire", ticksuffix=" %", rangemode="tozero")
    fig.update_xaxes(title=None, tickformat="%d/%m")
    return layout(fig, title, 440, legend=dict(orientation="h", y=-0.15))


def reach_heatmap(frame: pd.DataFrame, title: str) -> go.Figure:
    """Share of active accounts that never used each service (1 − reach), service × IPS quintile; the hover
    gives its 95 % interval (``reach_margin``, a rounded-up class) when published."""
    services = list(dict.fromkeys(frame["service_label"]))
    quintiles = list(dict.fromkeys(frame["quintile_label"]))
    z, text, hover = [], [], []
    for s in services:
        row, trow, hrow = [], [], []
        for qn in quintiles:
            cell = frame[(frame["service_label"] == s) & (frame["quintile_label"] == qn)]
            if len(cell) and not bool(cell["suppressed"].iloc[0]) and pd.notna(cell["reach"].iloc[0]):
                ignored = 1 - float(cell["reach"].iloc[0])
                margin = cell["reach_margin"].iloc[0] if "reach_margin" in cell else None
                row.append(100 * ignored)
                trow.append(fmt.percent(ignored))
                hrow.append(fmt.rate_with_class_margin(ignored, None if pd.isna(margin) else margin))
            else:
                row.append(None)
                trow.append(fmt.SECRET if len(cell) and bool(cell["suppressed"].iloc[0]) else fmt.NOT_AVAILABLE)
                hrow.append(trow[-1])
        z.append(row)
        text.append(trow)
        hover.append(hrow)
    fig = go.Figure(go.Heatmap(z=z, x=quintiles, y=services, text=text, texttemplate="%{text}", colorscale="OrRd",
                               colorbar=dict(title="ignoré", ticksuffix=" %"), hoverinfo="text",
                               hovertext=[[f"{s} — {qn} : {t}" for qn, t in zip(quintiles, hr)]
                                          for s, hr in zip(services, hover)]))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, title, 60 + 34 * max(len(services), 3))


def estimates(frame: pd.DataFrame, label: str, title: str | None, highlight: str | None = None,
              height: int | None = None) -> go.Figure:
    """Horizontal dot plot of estimates in points (``estimate``, ``ci_low``, ``ci_high``, already × 100) with
    their 95 % intervals as error bars; the row whose ``label`` is ``highlight`` is drawn in red."""
    est, low, high = (frame[c].astype(float).to_numpy() for c in ("estimate", "ci_low", "ci_high"))
    colors = [FRANCE if name == highlight else ACCENT for name in frame[label]]
    hover = [f"{name} : {fmt.points(e / 100)} (IC à 95 % : {fmt.points(lo / 100)} à {fmt.points(hi / 100)})"
             for name, e, lo, hi in zip(frame[label], est, low, high)]
    fig = go.Figure(go.Scatter(
        x=est, y=frame[label], mode="markers", marker=dict(color=colors, size=9),
        error_x=dict(type="data", symmetric=False, array=high - est, arrayminus=est - low, color="#7f8c8d",
                     thickness=1.5, width=4),
        hovertext=hover, hoverinfo="text"))
    fig.add_vline(x=0, line=dict(color="#999", dash="dot"))
    fig.update_xaxes(title="points de taux d'usage actif", ticksuffix=" pt", zeroline=False)
    fig.update_yaxes(autorange="reversed", title=None, type="category")
    return layout(fig, title, height or 80 + 30 * max(len(frame), 2))


def event_study(frame: pd.DataFrame, title: str) -> go.Figure:
    """Workshop effect (points) by week since the workshop: pointwise intervals, the simultaneous band
    shaded, leads (before the workshop, the pre-trend check) in grey, week −1 the reference at 0."""
    f = frame.sort_values("event_time")
    e = f["event_time"].to_numpy()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[*e, *e[::-1]], y=[*f["band_high"], *f["band_low"][::-1]], fill="toself",
                             fillcolor="rgba(31, 95, 168, 0.12)", line=dict(width=0), hoverinfo="skip",
                             name="bande simultanée à 95 %"))
    for part, color, name in ((f[f["event_time"] < 0], "#95a5a6", "avant l'atelier (test des tendances)"),
                              (f[f["event_time"] >= 0], ACCENT, "depuis l'atelier")):
        est = part["estimate"].astype(float).to_numpy()
        fig.add_trace(go.Scatter(
            x=part["event_time"], y=est, mode="markers", marker=dict(color=color, size=7), name=name,
            error_y=dict(type="data", symmetric=False, array=part["ci_high"].astype(float).to_numpy() - est,
                         arrayminus=est - part["ci_low"].astype(float).to_numpy(), color=color, thickness=1),
            hovertext=[f"semaine {t:+d} : {fmt.points(v / 100)} (IC à 95 % : {fmt.points(lo / 100)} à "
                       f"{fmt.points(hi / 100)})"
                       for t, v, lo, hi in zip(part["event_time"], est, part["ci_low"], part["ci_high"])],
            hoverinfo="text"))
    fig.add_trace(go.Scatter(x=[-1], y=[0], mode="markers", marker=dict(color="white", size=8,
                             line=dict(color="#555", width=1.5)), name="semaine −1 : référence", hoverinfo="skip"))
    fig.add_hline(y=0, line=dict(color="#999", dash="dot"))
    fig.add_vline(x=-0.5, line=dict(color="#c0392b", dash="dash"), annotation_text="atelier",
                  annotation_position="top")
    fig.update_xaxes(title="semaines depuis la semaine de l'atelier", dtick=2, zeroline=False)
    fig.update_yaxes(title="écart de parents actifs depuis la rentrée", ticksuffix=" pt")
    return layout(fig, title, 420, legend=dict(orientation="h", y=-0.25))
