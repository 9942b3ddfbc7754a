"""A weekly report as one self-contained French HTML page (plotly.js inlined once: opens offline)."""

from __future__ import annotations

import datetime as dt
import html

import plotly.io as pio

from pipelines import fr_format as fr
from pipelines.defs.reports.content import IGNORED_SERVICES, NOT_SIGNIFICANT_CHANGE, Report
from pipelines.defs.reports.weeks import PARIS

LEVEL_LABELS = {"ecole": "école", "college": "collège", "lycee": "lycée"}
METRIC_LABELS = {
    "active_rate": ("Taux d'activité", "des comptes chargés ont ouvert au moins une session dans la semaine"),
    "activation_rate": ("Taux d'activation", "des comptes chargés ont été activés"),
    "visits_per_active": ("Visites par compte actif", "sessions dans la semaine, en moyenne"),
    "mobile_share": ("Part du mobile", "des sessions passent par l'application mobile"),
}
MAX_NATIONAL_FLAGGED = 60
COLORS = {"scope": "#1f4e9c", "france": "#9aa5b1", "q1": "#c0392b", "q5": "#27ae60"}

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Marianne", "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1e2430; margin: 0;
       font-size: 14px; line-height: 1.45; background: #fff; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
header { border-bottom: 3px solid #1f4e9c; margin-bottom: 16px; padding-bottom: 8px; }
.kicker { text-transform: uppercase; letter-spacing: .06em; font-size: 12px; color: #1f4e9c; margin: 0; }
h1 { font-size: 26px; margin: 4px 0; }
h2 { font-size: 18px; color: #1f4e9c; margin: 22px 0 8px; border-bottom: 1px solid #d8dee6; padding-bottom: 3px;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 15px; margin: 14px 0 6px; break-after: avoid; }
.week { font-size: 15px; margin: 0; }
.demo { background: #fff4d6; border: 1px solid #e0b94a; padding: 6px 10px; margin: 10px 0 0; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 8px 0; }
.card { border: 1px solid #d8dee6; border-radius: 6px; padding: 10px; break-inside: avoid; }
.card .label { font-size: 12px; color: #4a5563; margin: 0; }
.card .value { font-size: 24px; font-weight: 700; margin: 2px 0; }
.card .hint { font-size: 11px; color: #6b7683; margin: 0 0 4px; }
.card .delta { font-size: 12px; margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid #e3e7ec; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f2f5f9; font-weight: 600; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.group td { background: #f8f9fb; font-weight: 600; }
.secret { color: #8a6d00; font-style: italic; }
.up { color: #1d7a3e; } .down { color: #b03a2e; } .flat { color: #4a5563; }
.widen { color: #b03a2e; font-weight: 600; white-space: nowrap; }
.narrow { color: #1d7a3e; font-weight: 600; white-space: nowrap; }
.note { font-size: 12px; color: #4a5563; }
.small { font-size: 11px; }
table.gaps { table-layout: fixed; }
.chart { break-inside: avoid; page-break-inside: avoid; margin: 6px 0 12px; }
footer { margin-top: 26px; border-top: 1px solid #d8dee6; padding-top: 8px; font-size: 11.5px; color: #3d4652; }
footer dt { font-weight: 600; } footer dd { margin: 0 0 4px 0; }
@media print { main { padding: 0; max-width: none; } body { font-size: 12px; } .card .value { font-size: 20px; } }
"""


# ------------------------------------------------------------------------------------------ helpers
def esc(text) -> str:
    return html.escape("" if text is None else str(text))


def html_table(header: str, rows) -> str:
    """A table from the cells of its header row (``<th>`` HTML) and its body rows (``<tr>`` HTML)."""
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def secret() -> str:
    return f'<span class="secret">{fr.SECRET}</span>'


def pct(rate, suppressed: bool = False) -> str:
    return secret() if suppressed else esc(fr.percent(rate))


def delta_html(value, kind: str = "rate", se: float | None = None, then: str = "") -> str:
    """A change, coloured by its sign, followed by ``then`` (« par rapport à … »); with ``se`` (its standard
    error) its 95 % interval comes last, and a change whose interval holds 0 is grey and says « évolution non
    significative »."""
    if value is None:
        return fr.NOT_AVAILABLE + then
    show = fr.points if kind == "rate" else fr.signed_number
    text = show(value)
    significant = fr.change_significant(value, se)
    css = ("flat" if significant is False else
           "up" if value > 0.0005 else ("down" if value < -0.0005 else "flat"))
    out = f'<span class="{css}">{esc(text)}</span>{then}'
    if significant is None:
        return out
    low, high = fr.wald_bounds(value, se)
    verdict = "" if significant else f" ; {fr.NOT_SIGNIFICANT_CHANGE}"
    return out + (f' <span class="small">(IC 95 % : {esc(show(low))} à {esc(show(high))}'
                  f"{esc(verdict)})</span>")


def metric_margin(m) -> str:
    """The half-width of a headline figure's 95 % interval: '±0,8 pt' (a rate), '±0,2' (visits)."""
    return fr.margin(m.se) if m.kind == "rate" else f"±{fr.number(fr.Z95 * m.se, 1)}"


def metric_value(value, kind: str, suppressed: bool) -> str:
    if suppressed:
        return secret()
    if value is None:
        return fr.NOT_AVAILABLE
    return esc(fr.number(value, 1) if kind == "number" else fr.percent(value))


def academie_title(name: str) -> str:
    """'Rennes' → 'Académie de Rennes', 'Amiens' → "Académie d'Amiens", 'Guyane' → 'Académie de la Guyane'."""
    if name in ("Guadeloupe", "Martinique", "Guyane"):
        return f"Académie de la {name}"
    if name[:1].upper() in "AEIOUYÉÈÊÂÎÔ":
        return f"Académie d'{name}"
    return f"Académie de {name}"


def report_title(report: Report) -> str:
    return "France entière" if report.is_national else academie_title(report.name)


def week_short(day: dt.date) -> str:
    return f"S{day.isocalendar().week}"


def week_label(report: Report) -> str:
    return fr.iso_week_label(report.weeks.current)


def generated_label(moment: dt.datetime) -> str:
    return f"{fr.long_date(moment.date())} à {moment:%H:%M} (heure de Paris)"


def published_label(report: Report) -> str:
    """When the serving copy the report reads was published, in Paris time."""
    if not report.published_at:
        return fr.NOT_AVAILABLE
    return generated_label(dt.datetime.fromisoformat(report.published_at).astimezone(PARIS))


# ------------------------------------------------------------------------------------------- charts
# Figures are plain dicts rendered without validation: plotly's template machinery costs ~0.2 s a figure.
_AXIS = dict(gridcolor="#e3e7ec", zerolinecolor="#c9d1db", linecolor="#c9d1db", automargin=True)
_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": False}
_HOVER_Y = "%{x} : %{y:.1f} %<extra>%{fullData.name}</extra>"


def _layout(title: str, height: int = 300, left: int = 60, **extra) -> dict:
    return dict(
        title=dict(text=title, font=dict(size=14), x=0.01), separators=", ", width=680, height=height,
        margin=dict(l=left, r=20, t=60, b=40), paper_bgcolor="white", plot_bgcolor="white",
        font=dict(family="DejaVu Sans, Arial, sans-serif", size=12, color="#1e2430"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), hoverlabel=dict(font=dict(size=12)),
        **extra,
    )


def _pct_points(values) -> list[float | None]:
    return [None if v is None else round(100 * v, 2) for v in values]


def _line(x, y, name, color, dash="solid", width=2, se=None) -> dict:
    """A line of rates; ``se``: their standard errors, drawn as 95 % error bars in the line's colour."""
    line = dict(type="scatter", mode="lines+markers", x=x, y=_pct_points(y), name=name,
                line=dict(color=color, dash=dash, width=width), hovertemplate=_HOVER_Y)
    if se is not None:
        line["error_y"] = _se_error_bars(se, color)
    return line


def _se_error_bars(ses, color: str = "#1e2430") -> dict:
    """Symmetric 95 % error bars (points) from published standard errors; none where a point has none."""
    return dict(type="data", color=color, thickness=1.2, width=4,
                array=[None if se is None else round(100 * fr.Z95 * se, 2) for se in ses])


def trend_chart(report: Report) -> dict:
    """The 12 weeks' parent active rates, each week with its 95 % interval (error bars from the week cell's
    published standard error, the school as the unit)."""
    weeks = [week_short(d) for d, _, _ in report.trend]
    france = [f for _, _, f in report.trend]
    france_se = [f for _, f in report.trend_se]
    if report.is_national:
        data = [_line(weeks, france, "France", COLORS["scope"], width=3, se=france_se),
                _line(weeks, report.quintile_trend.get("1", []), "1er quintile d'IPS (moins favorisés)",
                      COLORS["q1"], "dot", se=report.quintile_trend_se.get("1", [])),
                _line(weeks, report.quintile_trend.get("5", []), "5e quintile d'IPS (plus favorisés)",
                      COLORS["q5"], "dot", se=report.quintile_trend_se.get("5", []))]
    else:
        data = [_line(weeks, [s for _, s, _ in report.trend], report_title(report), COLORS["scope"], width=3,
                      se=[s for s, _ in report.trend_se]),
                _line(weeks, france, "France", COLORS["france"], "dot", se=france_se)]
    layout = _layout("Taux d'activité des parents, 12 dernières semaines",
                     xaxis=dict(_AXIS, type="category"),
                     yaxis=dict(_AXIS, ticksuffix="\u202f%", rangemode="tozero"))
    return dict(data=data, layout=layout)


def quintile_chart(report: Report) -> dict:
    labels = ["Q1", "Q2", "Q3", "Q4", "Q5"]
    data = []

    def bars(i):  # 95 % error bars (points) from the cells' published standard errors
        return _se_error_bars([report.quintile_se[q][i] for q in "12345"])

    if not report.is_national:
        data.append(dict(type="bar", x=labels, y=_pct_points([report.quintiles[q][0] for q in "12345"]),
                         name=report_title(report), marker=dict(color=COLORS["scope"]), hovertemplate=_HOVER_Y,
                         error_y=bars(0)))
    data.append(dict(type="bar", x=labels, y=_pct_points([report.quintiles[q][1] for q in "12345"]), name="France",
                     marker=dict(color=COLORS["scope"] if report.is_national else COLORS["france"]),
                     hovertemplate=_HOVER_Y, error_y=bars(1)))
    layout = _layout("Taux d'activité des parents par quintile d'IPS (Q1 = moins favorisés)", barmode="group",
                     xaxis=dict(_AXIS, type="category"),
                     yaxis=dict(_AXIS, ticksuffix="\u202f%", rangemode="tozero"))
    return dict(data=data, layout=layout)


def _class_error_bars(reaches, margins) -> dict:
    """95 % error bars (points) of reach bars from their rounded margins, clipped to [0, 100]."""
    bounds = [fr.margin_bounds(r, m) for r, m in zip(reaches, margins)]
    plus = [None if hi is None else round(100 * (hi - r), 2) for r, (_, hi) in zip(reaches, bounds)]
    minus = [None if lo is None else round(100 * (r - lo), 2) for r, (lo, _) in zip(reaches, bounds)]
    return dict(type="data", symmetric=False, array=plus, arrayminus=minus, color="#1e2430", thickness=1.2, width=4)


def reach_chart(report: Report) -> dict:
    rows = [r for r in report.reach if r.service not in IGNORED_SERVICES][::-1]
    names = [fr.label(fr.SERVICES, r.service) for r in rows]
    hover = "%{y} : %{x:.1f} %<extra>%{fullData.name}</extra>"
    data = [dict(type="bar", orientation="h", y=names, x=_pct_points([r.reach for r in rows]),
                 name=report_title(report), marker=dict(color=COLORS["scope"]), hovertemplate=hover,
                 error_x=_class_error_bars([r.reach for r in rows], [r.margin for r in rows]))]
    if not report.is_national:
        data.append(dict(type="bar", orientation="h", y=names, x=_pct_points([r.national for r in rows]),
                         name="France", marker=dict(color=COLORS["france"]), hovertemplate=hover,
                         error_x=_class_error_bars([r.national for r in rows], [r.national_margin for r in rows])))
    height = int(90 + 24 * max(len(rows), 1) * (1 if report.is_national else 1.6))
    layout = _layout("Part des parents actifs ayant utilisé chaque service", height=height, left=170,
                     barmode="group", xaxis=dict(_AXIS, ticksuffix="\u202f%", rangemode="tozero"),
                     yaxis=dict(_AXIS, type="category"))
    return dict(data=data, layout=layout)


def _chart_notes(report: Report) -> dict[str, str]:
    """What a chart cannot show by itself: points left out for the small-cell rule or for lack of schools."""
    notes = {"trend": "", "quintiles": ""}
    if report.trend_secret and not report.is_national:
        weeks = ", ".join(week_short(d) for d in report.trend_secret)
        notes["trend"] = f'<p class="note">Semaines non tracées ({fr.SECRET}) : {esc(weeks)}.</p>'
    if not report.is_national:
        parts = []
        secret_q = [f"Q{q}" for q, state in report.quintile_states.items() if state == "secret"]
        absent_q = [f"Q{q}" for q, state in report.quintile_states.items() if state == "absent"]
        if secret_q:
            parts.append(f"{', '.join(secret_q)} : {fr.SECRET}")
        if absent_q:
            parts.append(f"{', '.join(absent_q)} : aucun établissement suivi")
        if parts:
            notes["quintiles"] = (f'<p class="note">Barres absentes ({esc(report_title(report))}) : '
                                  f'{esc(" ; ".join(parts))}.</p>')
    return notes


def charts_html(report: Report) -> dict[str, str]:
    """The report's charts as HTML fragments; the first one carries plotly.js (inlined, no CDN). No quintile
    chart when no quintile rate of the week is published."""
    figures = {"trend": trend_chart(report), "quintiles": quintile_chart(report), "reach": reach_chart(report)}
    if all(v is None for pair in report.quintiles.values() for v in pair):
        del figures["quintiles"]
    out, first = {}, True
    for key, fig in figures.items():
        out[key] = '<div class="chart">' + pio.to_html(
            fig, full_html=False, include_plotlyjs=first, config=_CONFIG, div_id=f"graphique-{key}",
            validate=False,
        ) + "</div>"
        first = False
    notes = _chart_notes(report)
    if "quintiles" not in figures:
        out["quintiles"] = ""
        notes["quintiles"] = ('<p class="note">Pas de graphique par quintile d\'IPS : aucun taux de quintile n\'est '
                              "publié pour la semaine.</p>")
    for key, note in notes.items():
        out[key] += note
    return out


# ----------------------------------------------------------------------------------------- sections
PREVIOUS_WEEK = " par rapport à la semaine précédente"


def _cards(report: Report) -> str:
    parent = report.parent
    if not parent.metrics:
        return '<p class="note">Aucun compte parent suivi cette semaine.</p>'
    year = report.weeks.year_ago
    cards = []
    for name, (label, hint) in METRIC_LABELS.items():
        m = parent.metrics[name]
        lines = [f'<p class="delta">{delta_html(m.previous_delta, m.kind, m.previous_se, PREVIOUS_WEEK)}</p>']
        if report.has_year_ago:
            then = f" par rapport à la semaine {year.isocalendar().week} de {year.isocalendar().year}"
            lines.append(f'<p class="delta">{delta_html(m.year_delta, m.kind, m.year_se, then)}</p>')
        margin = "" if m.se is None else f'<p class="delta">{esc(metric_margin(m))} (intervalle de confiance à 95 %)</p>'
        cards.append(
            f'<div class="card"><p class="label">{esc(label)}</p>'
            f'<p class="value">{metric_value(m.value, m.kind, m.suppressed)}</p>{margin}'
            f'<p class="hint">{esc(hint)}</p>{"".join(lines)}</div>'
        )
    cell = parent.cell
    if parent.suppressed:
        detail = "Effectifs : " + secret() + "."
    else:
        plural = "s" if cell.schools > 1 else ""
        detail = (f"{esc(fr.number(cell.loaded))} comptes parents chargés dans {esc(fr.number(cell.schools))} "
                  f"établissement{plural} suivi{plural}"
                  + ("" if cell.active is None else f", dont {esc(fr.number(cell.active))} actifs cette semaine")
                  + ".")
    return f'<div class="cards">{"".join(cards)}</div><p class="note">{detail}</p>'


def _year_note(report: Report) -> str:
    year = report.weeks.year_ago
    if report.has_year_ago:
        return ""
    if year is None:
        return ('<p class="note">Comparaison sur un an indisponible : la semaine '
                f'{report.weeks.current.isocalendar().week} n\'existait pas l\'année précédente.</p>')
    return (f'<p class="note">Comparaison sur un an indisponible : aucune donnée pour la semaine '
            f'{year.isocalendar().week} de {year.isocalendar().year}.</p>')


def _profiles_table(report: Report) -> str:
    """Pupils and teachers: one row per profile, each figure with its changes underneath."""
    year = report.weeks.year_ago
    rows = []
    for headline in report.headlines[1:]:
        label = fr.PROFILES[headline.profile]
        if not headline.metrics:
            rows.append(f'<tr><td>{esc(label)}</td><td colspan="{len(METRIC_LABELS)}">aucun compte suivi</td></tr>')
            continue
        cells = [f"<td>{esc(label)}</td>"]
        for name in METRIC_LABELS:
            m = headline.metrics[name]
            changes = delta_html(m.previous_delta, m.kind, m.previous_se)
            if report.has_year_ago:
                changes += f" · {delta_html(m.year_delta, m.kind, m.year_se)}"
            margin = "" if m.se is None else f'<br><span class="small">{esc(metric_margin(m))}</span>'
            cells.append(f'<td class="num">{metric_value(m.value, m.kind, m.suppressed)}{margin}'
                         f'<br><span class="small">{changes}</span></td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    header = "<th>Profil</th>" + "".join(f"<th class=num>{esc(label)}</th>" for label, _ in METRIC_LABELS.values())
    legend = ("Sous chaque valeur : demi-largeur de son intervalle de confiance à 95 % (l'établissement comme "
              "unité ; pour les enseignants, arrondie vers le haut à une classe, et pas d'intervalle pour les "
              "visites), puis son évolution par rapport à la semaine précédente, avec son intervalle")
    if report.has_year_ago:
        legend += f" · évolution depuis la semaine {year.isocalendar().week} de {year.isocalendar().year}"
    return html_table(header, rows) + f'<p class="note">{esc(legend)}.</p>'


def _gap_interval(low, high) -> str:
    """A gap's 95 % interval under it, « écart non significatif » when it holds 0."""
    if low is None or high is None:
        return '<br><span class="small">intervalle non publié</span>'
    return (f'<br><span class="small">{esc(fr.points(low))} à {esc(fr.points(high))}'
            + ("" if fr.significant(low, high) else f"<br>{esc(fr.NOT_SIGNIFICANT)}") + "</span>")


def _gaps_section(report: Report) -> str:
    rows = []
    for g in report.gaps:
        if g.missing:
            rows.append(f'<tr><td>{esc(g.label)}</td><td colspan="5" class="note">{esc(g.missing)}</td></tr>')
            continue
        if g.suppressed:
            rows.append(f'<tr><td>{esc(g.label)}</td><td>{secret()}</td><td class="num">{secret()}</td>'
                        f'<td class="num">—</td><td class="num">—</td><td></td></tr>')
            continue
        groups = (f"{esc(g.high_label)} : {esc(fr.rate_with_margin(g.high, g.high_se))}<br>"
                  f"{esc(g.low_label)} : {esc(fr.rate_with_margin(g.low, g.low_se))}")
        trend = {"se creuse": "widen", "se resserre": "narrow"}.get(g.trend, "flat")
        verdict = ('<br><span class="small">évolution significative</span>'
                   if g.trend in ("se creuse", "se resserre", "stable") else "")
        change = esc(fr.points(g.change))
        if g.change_se is not None:
            sign = -1.0 if g.value < 0 else 1.0  # the change of |gap| while the gap keeps its sign
            d = sign * (g.value - g.previous)
            change += (f'<br><span class="small">{esc(fr.points(d - fr.Z95 * g.change_se))} à '
                       f'{esc(fr.points(d + fr.Z95 * g.change_se))}</span>')
        previous = "" if g.previous is None else _gap_interval(*g.previous_ci)
        rows.append(
            f"<tr><td>{esc(g.label)}</td><td>{groups}</td>"
            f'<td class="num">{esc(fr.points(g.value))}{_gap_interval(g.ci_low, g.ci_high)}</td>'
            f'<td class="num">{esc(fr.points(g.previous))}{previous}</td><td class="num">{change}</td>'
            f'<td class="{trend}">{esc(g.trend or "—")}{verdict}</td></tr>'
        )
    table = ('<table class="gaps"><colgroup><col style="width:30%"><col style="width:22%"><col style="width:11%">'
             '<col style="width:13%"><col style="width:12%"><col style="width:12%"></colgroup>'
             "<thead><tr><th>Écart de taux d'activité des parents</th><th>Groupes cette semaine</th>"
             "<th class=num>Écart (IC 95 %)</th><th class=num>Semaine précédente</th>"
             "<th class=num>Variation de l'écart (IC 95 %)</th><th>Tendance</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    if report.sii is not None:
        s = report.sii
        verdict = "" if s.significant else f" : {fr.NOT_SIGNIFICANT}"
        b = report.sii_previous
        before = ("" if b is None else
                  f" ; {esc(fr.points(b.value))} la semaine précédente ({esc(fr.points(b.low))} à "
                  f"{esc(fr.points(b.high))}{'' if b.significant else f' : {fr.NOT_SIGNIFICANT}'})")
        sii = (f"<p>Indice de pente de l'inégalité (SII) selon l'IPS, calculé sur les cinq quintiles d'IPS : "
               f"<strong>{esc(fr.points(s.value))}</strong> cette semaine (intervalle de confiance à 95 % : "
               f"{esc(fr.points(s.low))} à {esc(fr.points(s.high))}{verdict}){before}. C'est l'écart de taux "
               "d'activité des parents estimé entre le haut et le bas de l'échelle sociale, chaque quintile pesant "
               "son nombre de comptes parents.</p>")
    else:
        sii = (f'<p class="note">Indice de pente de l\'inégalité (SII) sur les quintiles d\'IPS : '
               f'{esc(report.sii_note)}.</p>')
    note = ('<p class="note">Un écart « se creuse » quand sa valeur absolue augmente d\'au moins 0,5 point en une '
            "semaine, « se resserre » quand elle diminue d'autant, et seulement si cette variation est "
            "significative : son intervalle de confiance à 95 % (les deux semaines traitées comme deux estimations "
            f"indépendantes) ne contient pas 0 ; sinon « {NOT_SIGNIFICANT_CHANGE} ». Un écart non significatif "
            "une semaine peut ainsi avoir une évolution significative, et l'inverse. Les quintiles d'IPS sont "
            "nationaux, pondérés par les comptes parents (Q1 : 20 % des familles dans les établissements les moins "
            "favorisés).</p>")
    return table + sii + note


PREVIOUS_FLAG = {"haut": "au-dessus", "bas": "en dessous", "aucun": "dans les limites"}


def _flagged_section(report: Report) -> str:
    if report.trimester is None:
        return f'<p class="note">{esc(report.funnel_note)}.</p>'
    trimester = fr.period_label("trimester", report.trimester)
    intro = ("<p>Les taux hebdomadaires des établissements ne sont pas publiés : les signalements portent sur le "
             f"trimestre qui contient la semaine, <strong>{esc(trimester)}</strong>, tel que publié à ce jour. Un "
             "établissement est signalé quand le taux d'activité de ses parents sur le trimestre s'écarte du taux "
             "de référence de son niveau dans son académie (entonnoir aux limites ajustées de la surdispersion) "
             "au-delà de ce que le hasard explique, après correction des tests multiples : au plus 5 % de faux "
             "signalements attendus parmi tous ceux de la publication (Benjamini-Hochberg). ")
    if report.previous_trimester is None:
        intro += "Aucun trimestre précédent n'est publié : sont listés tous les établissements signalés.</p>"
    else:
        intro += ("Sont listés les établissements signalés sur ce trimestre qui ne l'étaient pas sur le trimestre "
                  f"précédent, {esc(fr.period_label('trimester', report.previous_trimester))}.</p>")
    if report.funnel_note:
        return intro + f'<p class="note">{esc(report.funnel_note)}.</p>'
    flagged = report.flagged
    extra = ""
    if report.is_national and len(flagged) > MAX_NATIONAL_FLAGGED:
        extra = (f'<p class="note">… et {len(flagged) - MAX_NATIONAL_FLAGGED} autres établissements : voir les '
                 "rapports des académies.</p>")
        flagged = flagged[:MAX_NATIONAL_FLAGGED]
    if not flagged:
        return intro + "<p>Aucun établissement n'est nouvellement sorti des limites sur ce trimestre.</p>"
    head = (["Académie"] if report.is_national else []) + [
        "Établissement", "Commune", "Niveau", "Signal", "Trimestre précédent", "Taux d'activité des parents",
        "Comptes parents", "Taux de référence"]
    rows = []
    for s in flagged:
        signal = ('<span class="up">au-dessus</span>' if s.flag == "haut" else '<span class="down">en dessous</span>')
        previous = secret() if s.previous == "secret" else esc(PREVIOUS_FLAG.get(s.previous, fr.NOT_AVAILABLE))
        cells = ([f"<td>{esc(s.academie_name)}</td>"] if report.is_national else []) + [
            f"<td>{esc(s.name)}</td>", f"<td>{esc(s.commune)}</td>", f"<td>{esc(LEVEL_LABELS.get(s.level, s.level))}</td>",
            f"<td>{signal}</td>", f"<td>{previous}</td>",
            f'<td class="num">{pct(s.rate)}<br><span class="small">{esc(fr.brackets(s.low, s.high))}</span></td>',
            f'<td class="num">{esc(fr.number(s.loaded))}</td>', f'<td class="num">{pct(s.target)}</td>']
        rows.append(f"<tr>{''.join(cells)}</tr>")
    note = ("<p class=\"note\">Sous le taux de l'établissement, son intervalle de confiance à 95 % (Wilson, les "
            "comptes de l'établissement comme unités) ; le signalement tient compte en plus de la dispersion entre "
            "établissements comparables. Le taux de référence est celui de son niveau dans son académie. "
            f"Les établissements sous {fr.SECRET} sur le trimestre ne sont ni évalués ni nommés.</p>")
    return intro + html_table("".join(f"<th>{esc(h)}</th>" for h in head), rows) + extra + note


def _class_interval(reach, margin) -> str:
    """The rounded 95 % interval of a reach under it, '[39,0 ; 45,0]' (nothing without a published margin)."""
    if reach is None or margin is None:
        return ""
    return f'<br><span class="small">{esc(fr.brackets(*fr.margin_bounds(reach, margin)))}</span>'


def _reach_section(report: Report, chart: str) -> str:
    if not report.reach:
        return "<p>Aucune donnée d'usage des services pour cette période.</p>"
    if report.reach_period == "week":
        period = f"<p>Période : {esc(week_label(report))}.</p>"
    else:
        period = (f"<p>Période : <strong>mois de {esc(fr.period_label('month', report.weeks.month))}</strong>, car "
                  f"{esc(report.reach_note)}.</p>")
    candidates = [r for r in report.reach if r.service not in IGNORED_SERVICES and r.reach is not None]
    lowest = candidates[:3]
    summary = ""
    if lowest:
        items = ", ".join(f"{esc(fr.label(fr.SERVICES, r.service))} (ignoré par "
                          f"{esc(fr.rate_with_class_margin(1 - r.reach, r.margin))} des parents actifs)"
                          for r in lowest)
        summary = f"<p>Les services que les familles ignorent le plus : {items}.</p>"
    head = (["Service", "Parents actifs l'ayant utilisé", "IC 95 % (arrondi)", "L'ont ignoré"]
            + ([] if report.is_national else ["France"]))
    rows = []
    for r in report.reach:
        if r.service in IGNORED_SERVICES:
            continue
        interval = ("—" if r.suppressed or r.margin is None else
                    esc(fr.brackets(*fr.margin_bounds(r.reach, r.margin))))
        cells = [f"<td>{esc(fr.label(fr.SERVICES, r.service))}</td>",
                 f'<td class="num">{pct(r.reach, r.suppressed)}</td>', f'<td class="num">{interval}</td>',
                 f'<td class="num">{pct(None if r.reach is None else 1 - r.reach, r.suppressed)}</td>']
        if not report.is_national:
            cells.append(f'<td class="num">{pct(r.national, r.national_suppressed)}'
                         f'{_class_interval(r.national, r.national_margin)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f'<th{" class=num" if i else ""}>{esc(h)}</th>' for i, h in enumerate(head))
    table = html_table(header, rows)
    qrows = []
    for r in report.reach:
        if r.service in IGNORED_SERVICES:
            continue
        cells = "".join(f'<td class="num">{pct(r.by_quintile[q], r.by_quintile[q] is None)}'
                        f'{_class_interval(r.by_quintile[q], r.quintile_margins.get(q))}</td>'
                        if q in r.by_quintile else '<td class="num">—</td>' for q in "12345")
        qrows.append(f"<tr><td>{esc(fr.label(fr.SERVICES, r.service))}</td>{cells}</tr>")
    qtable = ("<h3>Usage des services par quintile d'IPS de l'établissement</h3>"
              + html_table("<th>Service</th>" + "".join(f"<th class=num>Q{q}</th>" for q in "12345"), qrows)
              + '<p class="note">Q1 : établissements les moins favorisés, Q5 : les plus favorisés ; sous chaque usage, '
              "son intervalle de confiance à 95 % arrondi (pas d'intervalle sous dix établissements) ; « — » : aucun "
              "établissement de ce quintile n'est suivi.</p>")
    note = ('<p class="note">Intervalles de confiance à 95 % de l\'usage des services : l\'établissement comme unité, '
            "arrondis vers le haut à une classe (±1, 2, 3, 5, 7, 10, 15, 20, 30 ou 50 points) pour ne pas laisser "
            "retrouver le nombre de parents actifs, qui n'est pas publié ; « — » : moins de dix établissements, pas "
            "d'intervalle publié.</p>")
    return period + summary + chart + table + note + qtable


def _quality_section(report: Report) -> str:
    parts = ["<h3>Baisses de volume probables</h3>"]
    note = ('<p class="note">Établissements dont le volume de la semaine est inférieur de plus de 80 % à ce qu\'ils '
            "reçoivent d'habitude à cette période : leurs taux de la semaine sont probablement sous-estimés.</p>")
    if not report.data_gaps:
        parts.append("<p>Aucun établissement ne présente de baisse de volume anormale cette semaine.</p>")
    elif report.is_national:
        rows = [f"<tr><td>{esc(g['academie'])}</td><td class=num>{esc(fr.number(g['schools']))}</td></tr>"
                for g in report.data_gaps]
        parts.append(html_table("<th>Académie</th><th class=num>Établissements concernés</th>", rows) + note)
    else:
        n = report.data_gaps[0]["schools"]
        parts.append(f"<p>{esc(fr.number(n))} établissement{'s' if n > 1 else ''} de l'académie "
                     f"présente{'nt' if n > 1 else ''} une baisse de volume probable cette semaine.</p>" + note)
    month = fr.period_label("month", report.weeks.month)
    parts.append(f"<h3>Établissements connus seulement par les exports statistiques ODE ({esc(month)})</h3>")
    if report.ode_only:
        items = "".join(f"<li>{esc(s['name'])} ({esc(s['commune'])}"
                        f"{', ' + esc(s['academie']) if report.is_national else ''})</li>" for s in report.ode_only)
        parts.append(f"<ul>{items}</ul><p class=\"note\">Pour ces établissements, seuls les comptes chargés, "
                     "activés et les visiteurs uniques sont connus : pas de sessions, de mobile ni de services.</p>")
    else:
        parts.append("<p>Aucun : tous les établissements suivis transmettent leurs événements.</p>")
    if report.is_national:
        parts.append(_operations_section(report))
    return "".join(parts)


def _operations_section(report: Report) -> str:
    """Ingestion incidents of the week (national report): counts, reasons and file names only."""
    ops = report.operations
    if ops is None:
        return ("<h3>Lignes mises en quarantaine et fichiers rejetés pendant la semaine</h3>"
                "<p>Non disponible : l'entrepôt n'a pas été lu pour ce rapport.</p>")
    quarantine = [f"<tr><td>{esc(q['reason'])}</td><td class=num>{esc(fr.number(q['rows']))}</td>"
                  f"<td class=num>{esc(fr.number(q['files']))}</td></tr>" for q in ops.quarantine]
    rejected = [f"<tr><td>{esc(f['file_name'])}</td><td>{esc(f['format'])}</td>"
                f"<td>{esc(str(f['error'])[:200])}</td></tr>" for f in ops.rejected]
    parts = []
    for title, header, rows, empty in (
        ("Lignes mises en quarantaine pendant la semaine", "<th>Motif</th><th class=num>Lignes</th>"
         "<th class=num>Fichiers</th>", quarantine, "Aucune ligne mise en quarantaine pendant la semaine."),
        ("Fichiers rejetés pendant la semaine", "<th>Fichier</th><th>Format</th><th>Motif</th>", rejected,
         "Aucun fichier rejeté pendant la semaine."),
    ):
        parts.append(f"<h3>{title}</h3>" + (html_table(header, rows) if rows else f"<p>{empty}</p>"))
    return "".join(parts)


LEVER_LABELS = {"workshop": "Atelier de médiation", "teacher_training": "Formation des enseignants à l'ENT (dix points "
                 "de plus)", "household_equipment": "Équipement numérique des foyers (dix points de plus)"}
LEVER_METHODS = {"did_event_study": "étude d'événement", "context_glm": "modèle de contexte",
                 "naive": "comparaison naïve (biaisée)"}
GAP_COMPONENTS = {"gap": "Écart observé", "explained": "Expliqué par la composition", "unexplained": "Non expliqué",
                  "ips": "dont IPS", "household_equipment": "dont équipement des foyers",
                  "teacher_training": "dont formation des enseignants", "secteur": "dont secteur",
                  "education_prioritaire": "dont éducation prioritaire", "rurality": "dont rural / urbain",
                  "level": "dont niveau", "workshop": "dont ateliers", "academie": "dont académie"}


def _lever_points(value: float) -> str:
    return esc(fr.points(value / 100))


def _lever_interval(e) -> str:
    """'a à b' (points), and 'écart non significatif' when the interval contains 0."""
    text = f"{_lever_points(e.low)} à {_lever_points(e.high)}"
    return text if e.significant else f"{text} ; écart non significatif"


def _lever_figure(e) -> str:
    return f"<strong>{_lever_points(e.value)}</strong> (intervalle de confiance à 95 % : {_lever_interval(e)})"


def _levers_section(report: Report) -> str:
    levers = report.levers
    if levers.school_year is None:
        return "<p>Aucune estimation des leviers n'est publiée.</p>"
    intro = (f"<p>Estimations de l'année scolaire {esc(levers.school_year)} sur les "
             f"{esc(fr.number(levers.schools_used))} établissements dont le taux annuel des parents est publié "
             "(tableau de bord, page Leviers ; méthodes sur la page Méthodologie).</p>")
    if report.is_national:
        rows = [f"<tr><td>{esc(LEVER_LABELS.get(lever, lever))}</td><td>{esc(LEVER_METHODS.get(method, method))}</td>"
                f"<td class=num>{_lever_points(e.value)}</td><td class=num>{_lever_interval(e)}</td>"
                f"<td class=num>{esc(fr.number(e.n_schools))}</td></tr>" for lever, method, e in levers.effects]
        table = html_table("<th>Levier</th><th>Méthode</th><th class=num>Effet</th><th class=num>Intervalle de "
                           "confiance à 95 %</th><th class=num>Établissements</th>", rows)
        split = [f"<tr><td>{esc(GAP_COMPONENTS.get(c, c))}</td><td class=num>{_lever_points(e.value)}</td>"
                 f"<td class=num>{_lever_interval(e)}</td></tr>"
                 for c, e in sorted(levers.q5_q1.items(), key=lambda kv: list(GAP_COMPONENTS).index(kv[0])
                                    if kv[0] in GAP_COMPONENTS else len(GAP_COMPONENTS))]
        q5 = ("<h3>Écart Q5 − Q1 : ce qu'explique la composition</h3>"
              + html_table("<th>Partie</th><th class=num>Points</th><th class=num>Intervalle de confiance à 95 %</th>",
                           split) if split else "")
        note = ('<p class="note">Effet d\'un atelier sur le taux d\'activité annuel des parents de l\'établissement '
                "qui le tient. La comparaison naïve (établissements avec atelier contre les autres) est biaisée : "
                "les ateliers vont d'abord aux établissements les moins favorisés.</p>")
        return intro + (table if rows else "<p>Aucun effet publié.</p>") + note + q5
    parts = []
    if levers.workshop is not None:
        source = "de l'académie" if levers.workshop_own else "nationale"
        parts.append(f"Un atelier de médiation ajoute en fin d'année {_lever_figure(levers.workshop)} au taux "
                     f"d'activité des parents de l'établissement qui le tient (étude d'événement {source}).")
    if levers.context is not None:
        parts.append(f"À contexte comparable, l'académie se situe à {_lever_figure(levers.context)} d'une académie "
                     "moyenne.")
    if levers.gap is not None and levers.explained is not None:
        share = levers.explained_share
        parts.append(f"Son écart à la France est de {_lever_figure(levers.gap)}, dont {_lever_figure(levers.explained)} "
                     "expliqué par la composition de ses établissements"
                     + (f", soit {esc(fr.percent(share))} de l'écart." if share is not None else "."))
    paragraph = f"<p>{' '.join(parts)}</p>" if parts else ""
    scenario = ""
    if levers.scenario is not None:
        s = levers.scenario
        plural = "s" if s.workshops > 1 else ""
        sii = (f"SII {esc(fr.SII_REFUSALS[s.sii_refusal])}" if s.sii_refusal else
               f"un SII qui passe de {_lever_figure(s.sii_before)} à {_lever_figure(s.sii_after)}, soit une variation "
               f"de {_lever_figure(s.sii_change)}")
        scenario = (f"<p>Avec {esc(fr.number(s.workshops))} atelier{plural} dans les établissements en tête du "
                    f"classement : {_lever_figure(s.points)} pour le taux d'activité des parents de l'académie "
                    f"({esc(fr.percent(s.rate_before / 100))} → {esc(fr.percent(s.rate_after / 100))}) ; {sii}.</p>")
    targets = ""
    if levers.targets:
        rows = [f"<tr><td class=num>{esc(fr.number(t.rank))}</td><td>{esc(t.name)}</td><td>{esc(t.commune)}</td>"
                f"<td>{esc(LEVEL_LABELS.get(t.level, t.level))}</td>"
                f"<td class=num>{esc(fr.number(t.extra_active.value))}</td>"
                f"<td class=num>{esc(fr.number(t.extra_active.low))} à {esc(fr.number(t.extra_active.high))}</td></tr>"
                for t in levers.targets]
        targets = ("<h3>Les établissements où un atelier apporterait le plus de parents actifs</h3>"
                   + html_table("<th class=num>Rang</th><th>Établissement</th><th>Commune</th><th>Niveau</th>"
                                "<th class=num>Parents actifs en plus attendus</th><th class=num>Intervalle</th>", rows)
                   + '<p class="note">Établissements sans atelier cette année et dont le taux annuel est publié ; '
                   "l'effet national d'un atelier est supposé le même partout.</p>")
    return intro + paragraph + scenario + targets


def _academies_section(report: Report) -> str:
    rows = "".join(
        f"<tr><td>{esc(a['name'])}</td><td class=num>{esc(fr.number(a['schools']))}</td>"
        f"<td class=num>{pct(a['rate'], a['suppressed'])}"
        + ("" if a["se"] is None else f'<br><span class="small">{esc(fr.margin(a["se"]))}</span>')
        + f"</td><td class=num>{delta_html(a['delta'], se=a['delta_se'])}</td></tr>"
        for a in report.academies)
    return html_table("<th>Académie</th><th class=num>Établissements suivis</th>"
                      "<th class=num>Taux d'activité des parents</th><th class=num>Évolution sur une semaine</th>", rows)


def _footer(report: Report) -> str:
    demo = ("<dd><strong>Les données de ce rapport sont synthétiques</strong> (démonstration) : elles sont produites "
            "par le générateur de l'Observatoire, calibré sur des chiffres d'usage publiés, et ne décrivent aucun "
            "établissement réel.</dd>" if report.demo else
            "<dd>En démonstration, les journaux d'usage sont synthétiques ; les données de référence sont réelles.</dd>")
    return f"""
<footer>
<h2>Méthodologie</h2>
<dl>
<dt>Comptes chargés, activés, actifs</dt>
<dd>Taux d'activation = comptes activés / comptes chargés. Taux d'activité = comptes ayant ouvert au moins une
session dans la semaine / comptes chargés (établissements dont l'activité est connue).</dd>
<dt>Sessions</dt>
<dd>Une session commence à chaque connexion (LOGIN) ou après 30 minutes ou plus sans événement. Visites par compte
actif = sessions / comptes actifs ; part du mobile = sessions depuis l'application mobile / sessions.</dd>
<dt>Services</dt>
<dd>Usage d'un service = part des comptes actifs qui l'ont utilisé au moins une fois dans la période ; la part
restante l'a ignoré.</dd>
<dt>Semaines</dt>
<dd>Semaines ISO (du lundi au dimanche), heure de Paris (Europe/Paris).</dd>
<dt>Secret statistique</dt>
<dd>Chaque chiffre de ce rapport est un chiffre de la copie de diffusion de l'Observatoire (celle que lit le
tableau de bord), publiée le {esc(published_label(report))}, ou un calcul sur ces seuls chiffres (évolutions,
écarts, SII). Un taux n'y est publié que s'il porte sur au moins {report.min_n} comptes et qu'au moins
{report.min_k} comptes sont de chaque côté (comptés et non comptés) ; sinon il est remplacé par
« {fr.SECRET} », tout comme les chiffres qui permettraient de le retrouver par soustraction. Une évolution ou
un écart n'est donné que si ses deux termes sont publiés. Les effectifs d'un établissement sous secret ne sont
jamais publiés, et les chiffres hebdomadaires des établissements jamais.</dd>
<dt>Écarts et signalements</dt>
<dd>Les taux de groupe somment numérateurs et dénominateurs des établissements. SII : régression pondérée du
taux d'activité de chacun des cinq quintiles d'IPS sur son rang social (ridit), chaque quintile pesant ses
comptes parents chargés ; intervalle de confiance à 95 %. Intervalles des taux et des écarts : fondés sur un
modèle, l'établissement comme unité (effet de grappe estimé sur les établissements publiés) ; un écart dont
l'intervalle contient 0 est dit « écart non significatif » ; une évolution d'écart n'est dite « se creuse » ou
« se resserre » que si l'intervalle de la variation ne contient pas 0. L'évolution d'un taux d'activité (sur une
semaine, sur un an) porte son intervalle, les deux semaines traitées comme deux estimations indépendantes (ce qui
l'élargit : prudent), et se lit « évolution non significative » quand il contient 0. Graphique des 12 semaines :
barres d'erreur à 95 % du taux de chaque semaine. Usage des services et taux des enseignants
(dont les chiffres par établissement ne sont pas publiés) : variance de l'établissement comme unité, intervalle
arrondi vers le haut à une classe, sans intervalle sous dix établissements. Entonnoir : Spiegelhalter (2005),
limites ajustées de la surdispersion, sur les taux trimestriels des établissements publiés ; signalements corrigés des tests
multiples (Benjamini-Hochberg, 5 %).</dd>
<dt>Leviers</dt>
<dd>Estimations refaites à chaque publication sur les seuls établissements dont le taux annuel des parents est
publié : étude d'événement des ateliers de médiation (chaque établissement comparé, depuis la semaine qui précède
son atelier, à des établissements comparables qui n'en ont pas encore tenu ou n'en tiennent pas), modèle de
contexte, décomposition d'Oaxaca–Blinder des écarts. Hypothèses : tendances parallèles, pas d'anticipation, pas de
diffusion entre établissements ; données observationnelles. Classement : même effet d'un atelier partout.</dd>
<dt>Sources</dt>
<dd>Journaux d'usage des ENT (exports anonymisés par établissement, identifiants pseudonymisés). Indices de
position sociale (IPS) et annuaire des établissements : Ministère de l'Éducation nationale,
data.education.gouv.fr, Licence Ouverte 2.0.</dd>
{demo}
</dl>
<p>Rapport généré le {esc(generated_label(report.generated_at))} par l'Observatoire ENT.</p>
</footer>"""


def render_report(report: Report) -> str:
    """The whole report as one HTML document (French, self-contained)."""
    title = report_title(report)
    week = week_label(report)
    charts = charts_html(report)
    demo = ('<p class="demo">Données de démonstration : les chiffres de ce rapport sont produits à partir de '
            "journaux synthétiques.</p>" if report.demo else "")
    scope = "en France" if report.is_national else f"dans l'{title[0].lower()}{title[1:]}"
    academies = ("<section id=\"academies\"><h2>Taux d'activité des parents par académie</h2>"
                 f"{_academies_section(report)}</section>" if report.is_national else "")
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Observatoire ENT – {esc(title)} – {esc(week)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<p class="kicker">Observatoire ENT · Rapport hebdomadaire</p>
<h1>{esc(title)}</h1>
<p class="week">{esc(week[0].upper() + week[1:])}</p>
{demo}
</header>
<section id="chiffres-cles">
<h2>Les familles et l'ENT cette semaine</h2>
<p>Usage de l'ENT par les parents {esc(scope)} au cours de la {esc(week)}.</p>
{_cards(report)}
{_year_note(report)}
{charts["trend"]}
<h3>Élèves et enseignants</h3>
{_profiles_table(report)}
</section>
<section id="ecarts">
<h2>Écarts entre familles</h2>
{_gaps_section(report)}
{charts["quintiles"]}
</section>
{academies}
<section id="signalements">
<h2>Établissements nouvellement hors des limites</h2>
{_flagged_section(report)}
</section>
<section id="services">
<h2>Les services que les familles ignorent</h2>
{_reach_section(report, charts["reach"])}
</section>
<section id="leviers">
<h2>Leviers : ce qui réduit l'écart</h2>
{_levers_section(report)}
</section>
<section id="qualite">
<h2>Qualité des données de la semaine</h2>
{_quality_section(report)}
</section>
{_footer(report)}
</main>
</body>
</html>
"""


__all__ = ["academie_title", "render_report", "report_title"]
