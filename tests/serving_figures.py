"""Every figure a weekly report may print, computed by the tests from a serving file alone, and the figures
a report's HTML actually prints.

A report of the week prints figures of the serving copy (rates, counts, reach, trimester school rows, data
gaps, the 95 % margin of a figure from its published standard error, the Wilson interval of a trimester
school rate), changes of a figure between two weeks,
with their interval, gaps between two groups of the same territory with their
interval, the change of a gap with its interval,
the SII of the five IPS-quintile cells, and feature reach with its rounded margin ("[39,0 ; 45,0]"). ``allowed_figures`` lists all of them, as printed
("12,5 %", "+1,2 pt", "1 234", "2,4", "−0,1"), for the territory of one report (an académie report reads
its académie and France; the national report every académie).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from html import unescape
from itertools import product
from pathlib import Path

import duckdb

from pipelines import fr_format as fr
from pipelines.equity import sii_rii

RATES = ("activation_rate", "active_rate", "mobile_share")
GAPS = (("secteur", "prive", "public"), ("education_prioritaire", "REP+", "hors_ep"),
        ("education_prioritaire", "REP", "hors_ep"), ("rural_urban", "rural", "urbain"), ("ips_quintile", "5", "1"))
MONTHS = "|".join(fr.MONTHS)
# Fixed wording of the reports that holds a number (thresholds of the method, not figures).
CONSTANTS = ("limites à 99,8 %", "plus de 80 %", "Q1 : 20 % des familles", "confiance à 95 %", "0,5 point",
             "IC 95 %", "au plus 5 % de faux", "±1, 2, 3, 5, 7, 10, 15, 20, 30 ou 50 points",
             "ne contient pas 0")


def signed(value: float) -> str:
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{fr.number(abs(value), 1)}"


@dataclass
class Allowed:
    percents: set[str] = field(default_factory=set)
    points: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)    # counts and visits per active account
    signed: set[str] = field(default_factory=set)     # changes of visits per active account
    chart: set[float] = field(default_factory=set)    # rates as plotted (percent, 2 decimals)
    names: set[str] = field(default_factory=set)      # school names and communes (may hold digits)

    def rate(self, value) -> None:
        if value is not None:
            self.percents.add(fr.percent(value))
            self.chart.add(round(100 * value, 2))


def _weeks(week_start: dt.date) -> tuple[str, str, str | None, list[str]]:
    from pipelines.defs.reports.weeks import Weeks, iso_period

    weeks = Weeks.of(week_start)
    year = iso_period(weeks.year_ago) if weeks.year_ago else None
    return iso_period(weeks.current), iso_period(weeks.previous), year, weeks.periods


def allowed_figures(serving_file: Path, week_start: dt.date, code: str) -> Allowed:
    """What the report of ``code`` ('FR' or an académie) for the week may print, from the serving file only."""
    cur, prev, year, periods = _weeks(week_start)
    out = Allowed()
    con = duckdb.connect()
    con.execute(f"ATTACH '{Path(serving_file).as_posix()}' AS srv (READ_ONLY)")
    con.execute("USE srv")
    geo = "TRUE" if code == "FR" else f"geo_code IN ('FR', '{code}')"
    academie = "TRUE" if code == "FR" else f"academie_code = '{code}'"
    rows = con.execute(f"""
        SELECT period, profile, geo_code, CASE WHEN secteur <> 'all' THEN 'secteur' ELSE breakdown END,
               CASE WHEN secteur <> 'all' THEN secteur ELSE breakdown_value END,
               suppressed, schools, loaded, active, activation_rate, active_rate, mobile_share, visits_per_active,
               activation_rate_se, active_rate_se, mobile_share_se, visits_per_active_se
        FROM adoption_cells
        WHERE period_type = 'week' AND list_contains(?, period) AND level = 'all'
          AND (secteur = 'all' OR breakdown = 'all') AND {geo}
    """, [periods]).fetchall()
    cells = {}
    for period, profile, g, bd, value, suppressed, schools, loaded, active, *figures in rows:
        out.numbers.add(fr.number(schools))
        if suppressed:
            continue
        names = (*RATES, "visits_per_active")
        cell = dict(zip(names, figures[:4])) | dict(zip((f"{n}_se" for n in names), figures[4:]))
        cells[(period, profile, g, bd, value)] = cell | {"loaded": loaded, "se": cell["active_rate_se"]}
        figures = figures[:4]
        out.points |= {fr.margin(cell[f"{n}_se"]) for n in RATES if cell[f"{n}_se"] is not None}
        if cell["visits_per_active_se"] is not None:
            out.signed.add(f"±{fr.number(fr.Z95 * cell['visits_per_active_se'], 1)}")
        out.numbers |= {fr.number(loaded), fr.number(active), fr.number(figures[-1], 1)}
        for rate in figures[:3]:
            out.rate(rate)
    # Changes of a figure against the previous week and a year earlier.
    for (period, profile, g, bd, value), now in cells.items():
        if period != cur:
            continue
        for other in (prev, year):
            before = cells.get((other, profile, g, bd, value))
            if before is None:
                continue
            # each change with its 95 % interval (the two weeks as independent estimates)
            for name in (*RATES, "visits_per_active"):
                if now[name] is None or before[name] is None:
                    continue
                d = now[name] - before[name]
                shown = fr.points if name in RATES else signed
                out_set = out.points if name in RATES else out.signed
                out_set.add(shown(d))
                if now[f"{name}_se"] is not None and before[f"{name}_se"] is not None:
                    half = fr.Z95 * (now[f"{name}_se"] ** 2 + before[f"{name}_se"] ** 2) ** 0.5
                    out_set |= {shown(d - half), shown(d + half)}
    # Gaps between two groups of a territory, their change, and the SII of the five quintiles.
    for g in {k[2] for k in cells}:
        gaps, gap_se = {}, {}
        for period, (bd, high, low) in product((cur, prev), GAPS):
            a, b = cells.get((period, "parent", g, bd, high)), cells.get((period, "parent", g, bd, low))
            if a and b:
                gaps[(period, bd, high)] = a["active_rate"] - b["active_rate"]
                out.points.add(fr.points(gaps[(period, bd, high)]))
                if a["se"] is not None and b["se"] is not None:
                    gap_se[(period, bd, high)] = (a["se"] ** 2 + b["se"] ** 2) ** 0.5
                    half = fr.Z95 * gap_se[(period, bd, high)]
                    out.points |= {fr.points(gaps[(period, bd, high)] - half),
                                   fr.points(gaps[(period, bd, high)] + half)}
        for bd, high, _ in GAPS:
            if (cur, bd, high) in gaps and (prev, bd, high) in gaps:
                now, before = gaps[(cur, bd, high)], gaps[(prev, bd, high)]
                out.points.add(fr.points(abs(now) - abs(before)))
                if (cur, bd, high) in gap_se and (prev, bd, high) in gap_se:
                    half = fr.Z95 * (gap_se[(cur, bd, high)] ** 2 + gap_se[(prev, bd, high)] ** 2) ** 0.5
                    d = (-1.0 if now < 0 else 1.0) * (now - before)
                    out.points |= {fr.points(d - half), fr.points(d + half)}
        for period in (cur, prev):
            quintiles = [cells.get((period, "parent", g, "ips_quintile", q)) for q in "12345"]
            if all(quintiles):
                fit = sii_rii([c["active_rate"] for c in quintiles], [c["loaded"] for c in quintiles], [1, 2, 3, 4, 5])
                out.points |= {fr.points(fit.sii), fr.points(fit.sii_lower), fr.points(fit.sii_upper)}
    for reach, margin in con.execute(f"""
            SELECT reach, reach_margin FROM reach_cells WHERE NOT suppressed AND profile = 'parent' AND level = 'all'
              AND secteur = 'all' AND period_type IN ('week', 'month') AND {geo}""").fetchall():
        out.rate(reach)
        out.rate(1 - reach)
        for share in (reach, 1 - reach):
            out.numbers |= {fr.number(100 * b, 1) for b in fr.margin_bounds(share, margin) if b is not None}
    for rate, target, loaded, active in con.execute(f"""
            SELECT active_rate, funnel_target, loaded, active FROM school_adoption
            WHERE period_type = 'trimester' AND profile = 'parent' AND NOT suppressed AND {academie}""").fetchall():
        out.rate(rate)
        out.rate(target)
        out.numbers.add(fr.number(loaded))
        # the rate's 95 % Wilson interval, printed "[10,1 ; 14,9]"
        out.numbers |= {fr.number(100 * b, 1) for b in fr.wilson(active, loaded) if b is not None}
    out.numbers |= {fr.number(n) for (n,) in con.execute(
        f"SELECT sum(schools_flagged) FROM data_gaps WHERE week_start = ? AND {academie} GROUP BY academie_code",
        [week_start]).fetchall()}
    _lever_figures(con, code, out)
    out.names = {n for row in con.execute("SELECT name, commune_name FROM schools").fetchall() for n in row if n}
    con.close()
    return out


def _lever_figures(con, code: str, out: Allowed) -> None:
    """The levers_* figures of France and the territory (points × 100 in the tables), the part of an académie's
    gap composition explains, the scenarios and the first five ranked schools."""
    mine = "TRUE" if code == "FR" else f"(academie_code IS NULL OR academie_code = '{code}')"
    for school_year, schools in con.execute("SELECT school_year, schools_used FROM levers_fit").fetchall():
        out.numbers |= {fr.number(schools), *school_year.split("-")}
    for table in ("levers_effects", "levers_academie_effects", "levers_gap_decomposition"):
        for *figures, n in con.execute(f"SELECT estimate, ci_low, ci_high, n_schools FROM {table} WHERE {mine}").fetchall():
            out.points |= {fr.points(v / 100) for v in figures}
            out.numbers.add(fr.number(n))
    for (share,) in con.execute(f"""
            SELECT max(estimate) FILTER (component = 'explained') / max(estimate) FILTER (component = 'gap')
            FROM levers_gap_decomposition WHERE gap = 'academie' AND {mine} GROUP BY scope""").fetchall():
        out.rate(share)
    for k, extra, *rates_and_points in con.execute(f"""
            SELECT workshops, extra_active, rate_before, rate_after, points, points_ci_low, points_ci_high, sii_before,
                   sii_before_ci_low, sii_before_ci_high, sii_after, sii_after_ci_low, sii_after_ci_high, sii_change,
                   sii_change_ci_low, sii_change_ci_high FROM levers_scenarios WHERE {mine}""").fetchall():
        out.numbers |= {fr.number(k), fr.number(extra)}
        out.percents |= {fr.percent(v / 100) for v in rates_and_points[:2]}
        out.points |= {fr.points(v / 100) for v in rates_and_points[2:] if v is not None}
    for row in con.execute(f"SELECT rank, extra_active, extra_active_low, extra_active_high FROM levers_targets "
                           f"WHERE rank <= 5 AND {mine}").fetchall():
        out.numbers |= {fr.number(v) for v in row}


@dataclass
class Printed:
    percents: list[str]
    points: list[str]
    signed: list[str]
    numbers: list[str]
    chart: list[float]


def body_text(html: str) -> str:
    """Visible text of a report's body, without its header (title, week) and footer (method)."""
    main = html[html.index("</header>"):html.index("<footer>")]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def printed_figures(html: str, week_start: dt.date, allowed: Allowed, words: list[str] = ()) -> Printed:
    """Every figure printed in the body of a report, and every rate drawn in its charts. ``words``: texts
    to leave out before reading numbers (operational file names and reasons)."""
    text = body_text(html)
    label = fr.iso_week_label(week_start)
    for fixed in sorted({label, label[0].upper() + label[1:], *CONSTANTS, *allowed.names, *words}, key=len,
                        reverse=True):
        text = text.replace(fixed, " ")
    text = re.sub(r"semaine \d+ de \d{4}", " ", text)
    text = re.sub(r"\d{4}-\d{4}, \d(?:er|e) trimestre \([^)]*\)", " ", text)
    text = re.sub(rf"(?:{MONTHS}) \d{{4}}", " ", text)
    percents = re.findall(r"\d[\d\u202f]*,\d\u202f%", text)
    text = re.sub(r"\d[\d\u202f]*,\d\u202f%", " ", text)
    points = re.findall(r"[+−±]\d[\d\u202f]*,\d\u202fpt", text)
    text = re.sub(r"[+−±]\d[\d\u202f]*,\d\u202fpt", " ", text)
    signed_ = re.findall(r"[+−±]\d+,\d", text)
    text = re.sub(r"[+−±]\d+,\d", " ", text)
    numbers = [n.strip("\u202f") for n in re.findall(r"(?<![\w])\d[\d\u202f]*(?:,\d+)?(?![\w])", text)]
    chart = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html):
        traces, _ = json.JSONDecoder().raw_decode(html, call.end())
        chart += [v for trace in traces for axis in ("x", "y") for v in trace.get(axis, [])
                  if isinstance(v, (int, float))]
    return Printed(percents, points, signed_, numbers, chart)


def unexplained(html: str, week_start: dt.date, allowed: Allowed, words: list[str] = ()) -> dict[str, list]:
    """Figures printed in a report that are neither serving figures nor derived from them (empty: none)."""
    printed = printed_figures(html, week_start, allowed, words)
    out = {"percents": [p for p in printed.percents if p not in allowed.percents],
           "points": [p for p in printed.points if p not in allowed.points],
           "signed": [s for s in printed.signed if s not in allowed.signed],
           "numbers": [n for n in printed.numbers if n not in allowed.numbers],
           "chart": [c for c in printed.chart if c not in allowed.chart]}
    return {k: v for k, v in out.items() if v}
