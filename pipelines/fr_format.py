"""French formatting of figures, dates, periods and category labels, shared by the dashboard and the reports
("12,5 %", "lundi 3 novembre 2025", "secret statistique")."""

from __future__ import annotations

import datetime as dt
import math

SECRET = "secret statistique"
NOT_AVAILABLE = "—"
_NBSP = "\u202f"  # narrow no-break space: French thousands separator and before % / pt

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
TRIMESTERS = {"1": "septembre–décembre", "2": "janvier–mars", "3": "avril–août"}

PROFILES = {"parent": "Parents", "eleve": "Élèves", "enseignant": "Enseignants", "personnel": "Personnels",
            "autre": "Autres"}
LEVELS = {"all": "Tous niveaux", "ecole": "Écoles", "college": "Collèges", "lycee": "Lycées", "inconnu": "Inconnu"}
SECTEURS = {"all": "Tous secteurs", "public": "Public", "prive": "Privé sous contrat", "inconnu": "Inconnu"}
EP = {"REP+": "REP+", "REP": "REP", "hors_ep": "Hors éducation prioritaire", "inconnu": "Inconnu"}
RURAL_URBAN = {"urbain": "Urbain", "intermediaire": "Intermédiaire", "rural": "Rural", "inconnu": "Inconnu"}
QUINTILES = {"1": "Q1 (IPS le plus bas)", "2": "Q2", "3": "Q3", "4": "Q4", "5": "Q5 (IPS le plus haut)",
             "inconnu": "IPS inconnu"}
BREAKDOWNS = {"level": "Niveau", "secteur": "Secteur", "education_prioritaire": "Éducation prioritaire",
              "rural_urban": "Rural / urbain", "ips_quintile": "Quintile d'IPS"}
SERVICES = {"connexion": "Connexion", "notes": "Notes", "vie_scolaire": "Vie scolaire (absences)",
            "cahier_de_textes": "Cahier de textes", "messagerie": "Messagerie", "blog": "Blog",
            "documents": "Documents", "carnet_de_liaison": "Carnet de liaison", "actualites": "Actualités",
            "agenda": "Agenda", "autre": "Autres services"}
PERIOD_TYPES = {"school_year": "Année scolaire", "trimester": "Trimestre", "month": "Mois", "week": "Semaine"}
FUNNEL_FLAGS = {"haut": "au-dessus des limites", "bas": "en dessous des limites"}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int = 0) -> str:
    """1234.5 → '1 234,5' (narrow no-break spaces between thousands)."""
    if _missing(value):
        return NOT_AVAILABLE
    text = f"{value:,.{decimals}f}"
    return text.replace(",", _NBSP).replace(".", ",")


def percent(rate, decimals: int = 1, suppressed: bool = False) -> str:
    """0.125 → '12,5 %'; a suppressed figure reads 'secret statistique'."""
    if suppressed:
        return SECRET
    if _missing(rate):
        return NOT_AVAILABLE
    return f"{number(100 * rate, decimals)}{_NBSP}%"


def points(delta, decimals: int = 1, ascii_minus: bool = False) -> str:
    """A change of rate in percentage points, signed: 0.012 → '+1,2 pt' (``ascii_minus`` for st.metric deltas,
    which colour a delta by its leading '-')."""
    if _missing(delta):
        return NOT_AVAILABLE
    sign = "+" if delta > 0 else (("-" if ascii_minus else "−") if delta < 0 else "±")
    return f"{sign}{number(abs(100 * delta), decimals)}{_NBSP}pt"


# Intervals: 95 % two-sided, normal quantile (the intervals of the serving copy are Wald intervals).
Z95 = 1.959963984540054
NOT_SIGNIFICANT = "écart non significatif"
NOT_SIGNIFICANT_CHANGE = "évolution non significative"
# Why an SII is not shown: the reasons of pipelines.equity.fit_guard.sii_rii_refusal (docs/equity_fit_guards.md).
SII_REFUSALS = {"too_few_schools": "non publié : trop peu d'établissements",
                "thin_side": "non publié : trop peu d'établissements d'un côté de l'IPS médian",
                "near_separation": "non publié : ajustement quasi séparé",
                "out_of_range": "non publié : ajustement hors des valeurs possibles"}


def independent_se(*ses) -> float | None:
    """Standard error of a difference (or sum) of independent estimates, ``sqrt(Σ se²)``; None when one is
    missing. Two periods of the same schools are positively correlated, so for a change between periods this
    overstates the variance (conservative: docs/equity_fit_guards.md, section 2)."""
    if any(_missing(se) for se in ses):
        return None
    return math.sqrt(sum(float(se) ** 2 for se in ses))


def margin(se, decimals: int = 1) -> str:
    """Half-width of the 95 % interval of a rate or a gap, in points: se 0.004 → '±0,8 pt'."""
    if _missing(se):
        return NOT_AVAILABLE
    return f"±{number(100 * Z95 * se, decimals)}{_NBSP}pt"


def rate_with_margin(rate, se, suppressed: bool = False) -> str:
    """'45,2 % ±0,8 pt' (the rate alone when it has no published standard error)."""
    text = percent(rate, suppressed=suppressed)
    return text if suppressed or _missing(rate) or _missing(se) else f"{text} {margin(se)}"


def brackets(low, high, decimals: int = 1) -> str:
    """The bounds of a rate's interval in points: (0.101, 0.149) → '[10,1 ; 14,9]'."""
    if _missing(low) or _missing(high):
        return NOT_AVAILABLE
    return f"[{number(100 * low, decimals)} ; {number(100 * high, decimals)}]"


def rate_interval(rate, low, high, suppressed: bool = False, decimals: int = 1) -> str:
    """A rate and its 95 % interval: (0.125, 0.101, 0.149) → '12,5 % [10,1 ; 14,9]' (the rate alone without
    bounds)."""
    text = percent(rate, decimals, suppressed=suppressed)
    if suppressed or _missing(rate) or _missing(low) or _missing(high):
        return text
    return f"{text} {brackets(low, high, decimals)}"


def margin_bounds(rate, half_width) -> tuple[float | None, float | None]:
    """The interval rate ± half_width, clipped to [0, 1] (None, None when either is missing)."""
    if _missing(rate) or _missing(half_width):
        return None, None
    return max(0.0, rate - half_width), min(1.0, rate + half_width)


def rate_with_class_margin(rate, half_width, suppressed: bool = False) -> str:
    """A rate whose margin is a rounded-up class (feature reach, staff): '42,0 % [39,0 ; 45,0]'."""
    return rate_interval(rate, *margin_bounds(rate, half_width), suppressed=suppressed)


def significant(low, high, null: float = 0.0) -> bool:
    """Whether the interval [low, high] leaves out ``null`` (0 for a gap or an SII, 1 for a ratio)."""
    return not (low <= null <= high)


def signed_number(value, decimals: int = 1) -> str:
    """A signed change of a plain number: 0.25 → '+0,3' (visits per active account)."""
    if _missing(value):
        return NOT_AVAILABLE
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{number(abs(value), decimals)}"


def number_with_margin(value, se, decimals: int = 1) -> str:
    """A plain number and the half-width of its 95 % interval: (3.42, 0.1) → '3,4 ±0,2' (the number alone
    without a standard error)."""
    text = number(value, decimals)
    return text if _missing(value) or _missing(se) else f"{text} ±{number(Z95 * se, decimals)}"


def gap_interval(value, low, high, decimals: int = 1, null: float = 0.0, ratio: bool = False,
                 verdict: str = NOT_SIGNIFICANT, plain: bool = False) -> str:
    """'+12,3 pt (IC 95 % : +4,1 pt à +20,5 pt)', with ``verdict`` (« écart non significatif ») when the
    interval holds ``null``; a ratio (RII) prints as '1,35 (IC 95 % : 1,10 à 1,66)', a plain number (``plain``:
    a change of visits per active account) as '+0,3 (IC 95 % : −0,1 à +0,7)'. The value alone without
    interval."""
    show = ((lambda x: number(x, 2)) if ratio else (lambda x: signed_number(x, decimals)) if plain
            else (lambda x: points(x, decimals)))
    if _missing(value):
        return NOT_AVAILABLE
    if _missing(low) or _missing(high):
        return f"{show(value)} (intervalle non disponible)"
    said = "" if significant(low, high, null) else f", {verdict}"
    return f"{show(value)} (IC 95 % : {show(low)} à {show(high)}{said})"


def wald_bounds(value, se) -> tuple[float | None, float | None]:
    """The 95 % Wald interval ``value ± 1.96 se`` of a rate, a gap or a change (None, None without either)."""
    if _missing(value) or _missing(se):
        return None, None
    return value - Z95 * se, value + Z95 * se


def wilson(active, loaded, suppressed=False) -> tuple[float | None, float | None]:
    """95 % Wilson interval of one school's rate from its published loaded and active accounts (within one
    school the accounts are the units); None, None when they are not published."""
    try:  # int() refuses None, NaN and pd.NA: figures not published
        k, n = int(active), int(loaded)
    except (TypeError, ValueError):
        return None, None
    if suppressed or not n:
        return None, None
    from statsmodels.stats.proportion import proportion_confint  # heavy import, only where an interval is asked

    return tuple(float(x) for x in proportion_confint(k, n, method="wilson"))


def change_significant(delta, se) -> bool | None:
    """Whether the 95 % interval of a change leaves out 0 (None: no interval)."""
    low, high = wald_bounds(delta, se)
    return None if low is None else significant(low, high)


def change_interval(delta, se, decimals: int = 1, plain: bool = False) -> str:
    """A change of a rate in points with its 95 % interval, « évolution non significative » when it holds 0:
    (0.012, 0.009) → '+1,2 pt (IC 95 % : −0,6 pt à +3,0 pt, évolution non significative)'; ``plain``: a
    change of a plain number (visits per active account), '+0,3 (IC 95 % : …)'."""
    return gap_interval(delta, *wald_bounds(delta, se), decimals, verdict=NOT_SIGNIFICANT_CHANGE, plain=plain)


def long_date(day: dt.date | dt.datetime | str | None) -> str:
    """date(2025, 11, 3) → 'lundi 3 novembre 2025' (also takes an ISO string or a datetime)."""
    if day is None:
        return NOT_AVAILABLE
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    if isinstance(day, dt.datetime):
        day = day.date()
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def iso_week_label(week_start: dt.date) -> str:
    """The week of Monday ``week_start`` in words: 'semaine 46 (du lundi 10 au dimanche 16 novembre 2025)'."""
    end = week_start + dt.timedelta(days=6)
    first = f"{DAYS[0]} {week_start.day}" + ("" if week_start.month == end.month else f" {MONTHS[week_start.month - 1]}")
    return f"semaine {week_start.isocalendar().week} (du {first} au {long_date(end)})"


def period_label(period_type: str, period: str, start: dt.date | None = None) -> str:
    """A period in words: 'novembre 2025', '2025-2026, 1er trimestre (septembre–décembre)', ..."""
    if period_type == "month":
        year, month = period.split("-")
        return f"{MONTHS[int(month) - 1]} {year}"
    if period_type == "trimester":
        year, t = period.split(" T")
        rank = "1er" if t == "1" else f"{t}e"
        return f"{year}, {rank} trimestre ({TRIMESTERS.get(t, '')})"
    if period_type == "school_year":
        return f"année scolaire {period}"
    if period_type == "week":
        return f"semaine du {long_date(start)}" if start else f"semaine {period}"
    return period


def label(mapping: dict, value) -> str:
    """The French label of a category code (the code itself when unknown)."""
    return mapping.get(str(value), str(value)) if not _missing(value) else NOT_AVAILABLE
