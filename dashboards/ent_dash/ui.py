"""Page context (who, what scope, which filters), the sidebar filters, and shared display helpers."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ent_dash import charts, data, downloads
from pipelines import fr_format as fmt
from ent_dash.auth import Principal
from pipelines import users as accounts

PERIOD_TYPES = ("school_year", "trimester", "month")


@dataclass(frozen=True)
class Filters:
    period_type: str
    period: str
    period_start: object
    school_year: str
    previous: str | None  # previous period of the same type
    profile: str
    level: str
    secteur: str
    academie: str | None  # selected académie, always within the scope (None: scope has none)

    @property
    def period_label(self) -> str:
        return fmt.period_label(self.period_type, self.period, self.period_start)


@dataclass(frozen=True)
class Context:
    principal: Principal
    scope: data.Scope
    version: str
    filters: Filters
    academies: pd.DataFrame

    def academie_name(self, code: str | None) -> str:
        if code is None:
            return "France"
        names = dict(zip(self.academies["academie_code"], self.academies["academie_name"]))
        return names.get(code, code)


_run = threading.local()


def current() -> Context:
    """The context app.py computed for this script run (pages never rebuild the scope themselves)."""
    ctx = getattr(_run, "ctx", None)
    if ctx is None:
        st.error("Session non authentifiée.")
        st.stop()
    return ctx


def _choose(key: str, options: list, default, refuse=None):
    """Keep ``st.session_state[key]`` within ``options`` before its widget is drawn."""
    value = st.session_state.get(key)
    if value not in options:
        if value is not None and refuse:
            refuse(value)
        st.session_state[key] = default if default in options else (options[0] if options else None)


def sidebar(principal: Principal) -> Context | None:
    """Draw the filters in the sidebar, validated against the user's scope; None when nothing is published."""
    _run.ctx = None
    scope = principal.scope
    version = data.version()
    if version is None:
        st.warning("Aucune donnée publiée pour l'instant : lancez le pipeline (`make pipeline`), "
                   "qui publie le fichier de diffusion.")
        return None
    if problem := data.check_schema(version):
        st.error(problem)
        return None
    academies = data.academies(version, scope)
    allowed = academies["academie_code"].tolist()
    periods = data.periods(version)

    # Deep link ?academie=CODE: honoured within the scope only, refused (and logged) otherwise.
    requested = st.query_params.get("academie")
    if requested:
        if scope.allows(requested) and requested in allowed:
            st.session_state["f_academie"] = requested
        else:
            accounts.audit("scope_refused", login=principal.login, requested_academie=requested, via="query")
            st.toast("Académie hors de votre périmètre : filtre ignoré.")
        del st.query_params["academie"]

    side = st.sidebar
    side.markdown(f"**{principal.login}** · "
                  + ("accès national" if scope.national else f"académie de {academies['academie_name'].iloc[0]}"
                     if len(academies) else "aucune académie"))
    types = [t for t in PERIOD_TYPES if t in set(periods["period_type"])]
    if not types:
        st.warning("Le fichier publié ne contient aucune période.")
        return None
    _choose("f_period_type", types, "school_year")
    period_type = side.selectbox("Type de période", types, key="f_period_type",
                                 format_func=lambda t: fmt.PERIOD_TYPES[t])
    of_type = periods[periods["period_type"] == period_type].reset_index(drop=True)
    options = of_type["period"].tolist()
    _choose("f_period", options, options[-1])
    starts = dict(zip(of_type["period"], of_type["period_start"]))
    period = side.selectbox("Période", options, key="f_period",
                            format_func=lambda p: fmt.period_label(period_type, p, starts.get(p)))
    row = of_type[of_type["period"] == period].iloc[0]
    index = options.index(period)
    previous = options[index - 1] if index > 0 else None

    profiles = [p for p in fmt.PROFILES if p in set(data.profiles(version))]
    _choose("f_profile", profiles, "parent")
    profile = side.selectbox("Profil", profiles, key="f_profile", format_func=lambda p: fmt.PROFILES[p])
    levels = ["all", "ecole", "college", "lycee"]
    _choose("f_level", levels, "all")
    level = side.selectbox("Niveau", levels, key="f_level", format_func=lambda v: fmt.LEVELS[v])
    secteurs = ["all", "public", "prive"]
    _choose("f_secteur", secteurs, "all")
    secteur = side.selectbox("Secteur", secteurs, key="f_secteur", format_func=lambda v: fmt.SECTEURS[v])

    def refuse(value):
        accounts.audit("scope_refused", login=principal.login, requested_academie=str(value), via="session_state")

    names = dict(zip(academies["academie_code"], academies["academie_name"]))
    academie = None
    if allowed:
        with_data = set(data.academies_with_schools(version, scope))
        _choose("f_academie", allowed, next((a for a in allowed if a in with_data), allowed[0]), refuse=refuse)
        academie = side.selectbox("Académie", allowed, key="f_academie", format_func=lambda c: names.get(c, c),
                                  disabled=not scope.national)
        if not scope.allows(academie):  # defence in depth: never reached
            st.stop()
    filters = Filters(period_type, period, row["period_start"], row["school_year"], previous, profile, level,
                      secteur, academie)
    _run.ctx = Context(principal, scope, version, filters, academies)
    meta = data.meta(version)
    side.caption(f"Données publiées le {fmt.long_date(meta.get('published_at'))}"
                 + (" · **démonstration : données synthétiques**" if meta.get("synthetic") == "true" else ""))
    return _run.ctx


def chart(fig, *, key: str) -> None:
    """A plotly chart in French (locale, modebar tooltips, separators: see charts.PLOTLY_CONFIG)."""
    st.plotly_chart(fig, key=key, config=charts.PLOTLY_CONFIG)


def rate_text(rate, suppressed) -> str:
    return fmt.percent(rate, suppressed=bool(suppressed))


def table(frame: pd.DataFrame, filename: str, key: str, caption: str | None = None) -> None:
    """A table and its CSV download, built at the click for this session's browser only (see downloads)."""
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button("Télécharger le tableau (CSV)", downloads.csv_on_click(frame, filename),
                       file_name=filename, mime="text/csv", key=key, on_click="ignore")
    if caption:
        st.caption(caption)


def rates_with_margin(cells: pd.DataFrame, rate: str) -> list[str]:
    """A rate of each cell with the half-width of its 95 % interval ("45,2 % ±0,8 pt", the school as the unit)
    when it has a published standard error (``<rate>_se``)."""
    return [fmt.rate_with_margin(v, e, bool(s)) for v, e, s in
            zip(cells[rate], cells[f"{rate}_se"], cells["suppressed"])]


def visits_with_margin(value, se, suppressed) -> str:
    """Visits per active account and its 95 % half-width: '3,4 ±0,2' (or 'secret statistique')."""
    return fmt.SECRET if suppressed else fmt.number_with_margin(value, se)


def cell_table(cells: pd.DataFrame, name_col: str, names: dict) -> pd.DataFrame:
    """Display frame of adoption cells: rates as "12,5 %" or "secret statistique", each with the half-width of
    its 95 % interval when it has a published standard error, visits per active account likewise."""
    return pd.DataFrame({
        name_col: [names.get(c, c) for c in cells["geo_code" if name_col != "Catégorie" else "breakdown_value"]],
        "Établissements": [fmt.number(v) for v in cells["schools"]],
        "Comptes chargés": [fmt.SECRET if s else fmt.number(v) for v, s in zip(cells["loaded"], cells["suppressed"])],
        "Taux d'activation": rates_with_margin(cells, "activation_rate"),
        "Taux d'usage actif": rates_with_margin(cells, "active_rate"),
        "Part mobile": rates_with_margin(cells, "mobile_share"),
        "Visites par compte actif": [visits_with_margin(v, e, s) for v, e, s in zip(
            cells["visits_per_active"], cells["visits_per_active_se"], cells["suppressed"])],
    })


def filters_caption(ctx: Context, with_secteur: bool = True) -> str:
    f = ctx.filters
    parts = [f.period_label, fmt.PROFILES[f.profile].lower(), fmt.LEVELS[f.level].lower()]
    if with_secteur:
        parts.append(fmt.SECTEURS[f.secteur].lower())
    return " · ".join(parts)
