"""Scoped, cached reads of the published serving file (never the warehouse).

Every query takes a ``Scope`` and filters on ``academie_code`` with bound parameters, on the server,
whatever the page shows; the scope is an argument of every ``st.cache_data`` function, so it is part
of every cache key, with the serving file's version (a republish invalidates the caches).

The file is opened by ``open_serving`` (a fresh in-memory DuckDB that ATTACHes it read-only). When the
file's identity (inode, mtime, size) changes, new queries go to a new instance; queries already running
finish on the old one (its inode stays alive until closed).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from pipelines.equity.eb_shrink import eb_shrink
from pipelines.serving_file import SCHEMA_VERSION, open_serving, serving_path

CACHE_TTL = 600


@dataclass(frozen=True)
class Scope:
    """What the logged-in user may see: every académie (national) or a fixed tuple of académie codes."""

    role: str
    academies: tuple[str, ...] | None  # None: all

    @property
    def national(self) -> bool:
        return self.role == "national" and self.academies is None

    def allows(self, academie: str | None) -> bool:
        return self.national or (academie is not None and academie in (self.academies or ()))

    def params(self) -> list:
        """Bound parameters of ``SCOPE_SQL``."""
        return [self.national, list(self.academies or ())]


# Rows of France as a whole (académie_code NULL) are a public benchmark for every role; everything
# else is restricted to the académies of the scope.
SCOPE_SQL = "(?::BOOLEAN OR list_contains(?::VARCHAR[], {col}))"
SCOPE_OR_NATION_SQL = "({col} IS NULL OR ?::BOOLEAN OR list_contains(?::VARCHAR[], {col}))"


def scoped(col: str = "academie_code", nation_ok: bool = False) -> str:
    return (SCOPE_OR_NATION_SQL if nation_ok else SCOPE_SQL).format(col=col)


class NoServingFile(RuntimeError):
    pass


class ServingReader:
    """Thread-safe reader of the serving file that follows atomic swaps."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._identity = None
        self._con = None

    def identity(self) -> tuple | None:
        try:
            s = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (s.st_ino, s.st_mtime_ns, s.st_size)

    def _connection(self):
        identity = self.identity()
        if identity is None:
            raise NoServingFile(str(self.path))
        with self._lock:
            if identity != self._identity or self._con is None:
                self._con, self._identity = open_serving(self.path), identity
            return self._con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        cursor = self._connection().cursor()
        try:
            cursor.execute("USE srv")
            return cursor.execute(sql, params or []).df()
        finally:
            cursor.close()


_readers: dict[str, ServingReader] = {}
_readers_lock = threading.Lock()


def reader() -> ServingReader:
    path = serving_path()
    with _readers_lock:
        if str(path) not in _readers:
            _readers[str(path)] = ServingReader(path)
        return _readers[str(path)]


def version() -> str | None:
    """Identity of the current serving file (part of every cache key), None when there is none."""
    identity = reader().identity()
    return None if identity is None else f"{reader().path}:{identity[0]}:{identity[1]}:{identity[2]}"


def q(sql: str, params: list | None = None) -> pd.DataFrame:
    return reader().query(sql, params)


# --- cached queries (scope and version are always arguments) -----------------------------------------


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def meta(_version: str) -> dict:
    return dict(q("SELECT key, value FROM meta").itertuples(index=False, name=None))


def check_schema(v: str) -> str | None:
    """An error message when the published file is of another schema version."""
    found = meta(v).get("schema_version")
    if found != SCHEMA_VERSION:
        return f"Le fichier publié est au format {found!r}, le tableau de bord attend {SCHEMA_VERSION!r} : republiez."
    return None


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def periods(v: str) -> pd.DataFrame:
    return q("SELECT period_type, period, period_start, period_end, school_year FROM periods "
             "ORDER BY period_type, period_start")


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def academies(v: str, scope: Scope) -> pd.DataFrame:
    return q(f"SELECT academie_code, academie_name, zone FROM academies WHERE {scoped()} ORDER BY academie_name",
             scope.params())


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def academies_with_schools(v: str, scope: Scope) -> list[str]:
    return q(f"SELECT DISTINCT academie_code FROM schools WHERE {scoped()} ORDER BY 1",
             scope.params())["academie_code"].tolist()


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def departements(v: str, scope: Scope) -> pd.DataFrame:
    return q(f"SELECT departement_code, departement_name, academie_code FROM departements WHERE {scoped()} "
             "ORDER BY departement_code", scope.params())


CELL_FIELDS = ("geo_level, geo_code, academie_code, level, secteur, breakdown, breakdown_value, schools, suppressed, "
               "loaded, activated, active, active_rate, activation_rate, visits_per_active, breadth, mobile_share, "
               "sessions, activation_rate_se, active_rate_se, mobile_share_se, visits_per_active_se")


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def cells(v: str, scope: Scope, period_type: str, period: str, profile: str, geo_level: str,
          academie: str | None = None, level: str = "all", secteur: str = "all", breakdown: str = "all") -> pd.DataFrame:
    """Adoption cells of one geographic level (France rows are public; others within the scope)."""
    sql = (f"SELECT {CELL_FIELDS} FROM adoption_cells WHERE period_type = ? AND period = ? AND profile = ? "
           f"AND geo_level = ? AND level = ? AND secteur = ? AND breakdown = ? AND {scoped(nation_ok=True)}")
    params = [period_type, period, profile, geo_level, level, secteur, breakdown, *scope.params()]
    if academie is not None:
        sql += " AND academie_code = ?"
        params.append(academie)
    return q(sql + " ORDER BY geo_code, breakdown_value", params)


def effective_counts(cells_: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Active accounts and denominator of published cells, scaled to the cell's effective size where it has a
    standard error with the school as the unit: ``n_eff = p (1 - p) / se^2`` (the accounts divided by the
    design effect), ``k_eff = p n_eff``; the published counts where it has none."""
    p = cells_["active_rate"].to_numpy(dtype=float)
    k = cells_["active"].to_numpy(dtype=float)
    n = np.rint(k / p)
    se = cells_["active_rate_se"].to_numpy(dtype=float) if "active_rate_se" in cells_ else np.full(len(p), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(np.isfinite(se) & (se > 0), np.minimum(n, p * (1 - p) / se ** 2), n)
    n_eff = np.maximum(np.rint(n_eff), 1)
    return np.clip(np.rint(p * n_eff), 0, n_eff).astype(int), n_eff.astype(int)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def shrunk_active_rates(v: str, scope: Scope, period_type: str, period: str, profile: str, geo_level: str,
                        level: str = "all", secteur: str = "all") -> dict[str, tuple[float, float, float]]:
    """Empirical-Bayes (beta-binomial) shrunk active rate of each published cell of a geographic level, with
    its 95 % posterior interval (the prior's uncertainty included): code → (rate, low, high).

    Computed from published figures only (``effective_counts``: the cell's counts scaled to its effective
    size, school as the unit), so it reveals nothing that the suppression hides; académies whose rate is
    imprecise are pulled towards the common rate instead of standing out by chance. Empty when fewer than
    two cells are published.
    """
    cells_ = cells(v, scope, period_type, period, profile, geo_level, level=level, secteur=secteur)
    pub = cells_[~cells_["suppressed"] & (cells_["active"] > 0) & (cells_["active_rate"] > 0)]
    if len(pub) < 2:
        return {}
    k, n = effective_counts(pub)
    try:
        fit = eb_shrink(k, n, interval="adjusted")
    except ValueError:
        return {}
    return {code: (float(r), float(lo), float(hi))
            for code, r, lo, hi in zip(pub["geo_code"], fit.shrunk_rate, fit.lower, fit.upper)}


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def cell_breakdowns(v: str, scope: Scope, period_type: str, period: str, profile: str, geo_level: str,
                    geo_code: str, level: str) -> pd.DataFrame:
    """Every breakdown cell of one France or académie cell (level filter applied; secteur = all)."""
    return q(f"""SELECT {CELL_FIELDS} FROM adoption_cells
        WHERE period_type = ? AND period = ? AND profile = ? AND geo_level = ? AND geo_code = ?
          AND ((breakdown <> 'all' AND level = ? AND secteur = 'all')
               OR (breakdown = 'all' AND ? = 'all' AND level <> 'all' AND secteur = 'all')
               OR (breakdown = 'all' AND level = ? AND secteur <> 'all'))
          AND {scoped(nation_ok=True)}
        ORDER BY breakdown, breakdown_value, level, secteur""",
             [period_type, period, profile, geo_level, geo_code, level, level, level, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def weekly(v: str, scope: Scope, profile: str, school_year: str, academie: str | None, level: str,
           secteur: str) -> pd.DataFrame:
    """Weekly cells of France and (optionally) one académie, over one school year."""
    return q(f"""SELECT c.geo_level, c.geo_code, c.academie_code, p.period, p.period_start AS week_start,
            c.suppressed, c.active_rate, c.active_rate_se, c.active, c.loaded, c.sessions, c.mobile_share, c.schools
        FROM adoption_cells c JOIN periods p ON p.period_type = 'week' AND p.period = c.period
        WHERE c.period_type = 'week' AND c.profile = ? AND p.school_year = ? AND c.level = ? AND c.secteur = ?
          AND c.breakdown = 'all' AND (c.geo_level = 'nation' OR c.academie_code = ?)
          AND {scoped('c.academie_code', nation_ok=True)}
        ORDER BY c.geo_level, p.period_start""",
             [profile, school_year, level, secteur, academie, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def data_gaps(v: str, scope: Scope, academie: str | None) -> pd.DataFrame:
    """Probable data-gap school-weeks per week (one académie, or every académie of the scope)."""
    sql = f"SELECT week_start, sum(schools_flagged) AS schools_flagged FROM data_gaps WHERE {scoped()}"
    params = scope.params()
    if academie is not None:
        sql += " AND academie_code = ?"
        params.append(academie)
    return q(sql + " GROUP BY week_start ORDER BY week_start", params)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def holidays(v: str, scope: Scope, academie: str | None, school_year: str) -> pd.DataFrame:
    """Holidays of one académie's zone, or (France) of the metropolitan zones A, B and C."""
    if academie is None:
        return q("SELECT DISTINCT zone, name, first_day, last_day FROM holidays WHERE school_year = ? "
                 "AND zone IN ('A', 'B', 'C') ORDER BY first_day, zone", [school_year])
    return q(f"SELECT zone, name, first_day, last_day FROM holidays WHERE school_year = ? AND academie_code = ? "
             f"AND {scoped()} ORDER BY first_day", [school_year, academie, *scope.params()])


SCHOOL_FIELDS = ("a.uai, s.name, s.commune_name, s.departement_code, a.academie_code, s.level, s.secteur, "
                 "s.education_prioritaire, s.rural_urban, s.ips, s.ips_quintile, a.suppressed, a.source, "
                 "a.missing_reason, a.loaded, a.active, a.activated, a.active_rate, a.activation_rate, "
                 "a.visits_per_active, a.breadth, a.mobile_share, a.expected_rate, a.shrunk_rate, a.shrunk_low, "
                 "a.shrunk_high, a.observed_minus_expected, a.funnel_z, a.funnel_q, a.funnel_flag, a.funnel_low95, "
                 "a.funnel_high95, a.funnel_low998, a.funnel_high998, a.funnel_target")


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def schools(v: str, scope: Scope, period_type: str, period: str, profile: str, academie: str,
            level: str = "all", secteur: str = "all") -> pd.DataFrame:
    """School rows of one académie (must be within the scope: otherwise nothing comes back)."""
    return q(f"""SELECT {SCHOOL_FIELDS} FROM school_adoption a JOIN schools s USING (uai)
        WHERE a.period_type = ? AND a.period = ? AND a.profile = ? AND a.academie_code = ?
          AND (? = 'all' OR a.level = ?) AND (? = 'all' OR a.secteur = ?)
          AND {scoped('a.academie_code')}
        ORDER BY s.name""",
             [period_type, period, profile, academie, level, level, secteur, secteur, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def school_list(v: str, scope: Scope, academie: str) -> pd.DataFrame:
    return q(f"""SELECT uai, name, commune_name, level, secteur, departement_code FROM schools
        WHERE academie_code = ? AND {scoped()} ORDER BY name, commune_name""", [academie, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def school_info(v: str, scope: Scope, uai: str) -> pd.DataFrame:
    return q(f"SELECT * FROM schools WHERE uai = ? AND {scoped()}", [uai, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def school_history(v: str, scope: Scope, uai: str, profile: str, period_type: str) -> pd.DataFrame:
    return q(f"""SELECT p.period, p.period_start, a.suppressed, a.active_rate, a.activation_rate, a.expected_rate,
            a.shrunk_rate, a.shrunk_low, a.shrunk_high, a.loaded, a.active
        FROM school_adoption a JOIN periods p USING (period_type, period)
        WHERE a.uai = ? AND a.profile = ? AND a.period_type = ? AND {scoped('a.academie_code')}
        ORDER BY p.period_start""", [uai, profile, period_type, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def similar_schools(v: str, scope: Scope, uai: str, period_type: str, period: str, profile: str,
                    limit: int = 10) -> pd.DataFrame:
    """Published schools of the same académie and level with the closest IPS."""
    return q(f"""WITH me AS (SELECT uai, academie_code, level, ips FROM schools WHERE uai = ? AND {scoped()})
        SELECT s.uai, s.name, s.commune_name, s.secteur, s.ips, a.active_rate, a.expected_rate, a.loaded, a.active,
               abs(s.ips - me.ips) AS ips_distance
        FROM me JOIN schools s ON s.academie_code = me.academie_code AND s.level = me.level AND s.uai <> me.uai
        JOIN school_adoption a ON a.uai = s.uai AND a.period_type = ? AND a.period = ? AND a.profile = ?
        WHERE NOT a.suppressed AND a.active_rate IS NOT NULL AND s.ips IS NOT NULL AND me.ips IS NOT NULL
          AND {scoped('s.academie_code')}
        ORDER BY ips_distance, s.uai LIMIT ?""",
             [uai, *scope.params(), period_type, period, profile, *scope.params(), limit])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def ips_fit(v: str, scope: Scope, period_type: str, period: str, profile: str, academie: str | None,
            level: str, secteur: str) -> pd.DataFrame:
    return q(f"""SELECT geo_level, geo_code, schools, slope, intercept, slope_low, slope_high FROM ips_fit
        WHERE period_type = ? AND period = ? AND profile = ? AND level = ? AND secteur = ?
          AND (geo_level = 'nation' OR academie_code = ?) AND {scoped(nation_ok=True)}""",
             [period_type, period, profile, level, secteur, academie, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def equity(v: str, scope: Scope, period_type: str, period: str, profile: str, level: str,
           scope_level: str | None = None, academie: str | None = None) -> pd.DataFrame:
    sql = (f"SELECT scope, scope_code, academie_code, measure, value, ci_low, ci_high, n_schools, suppressed "
           f"FROM equity WHERE period_type = ? AND period = ? AND profile = ? AND level = ? "
           f"AND {scoped(nation_ok=True)}")
    params = [period_type, period, profile, level, *scope.params()]
    if scope_level:
        sql += " AND scope = ?"
        params.append(scope_level)
    if academie is not None:
        sql += " AND (scope = 'nation' OR academie_code = ?)"
        params.append(academie)
    return q(sql, params)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def reach(v: str, scope: Scope, period_type: str, period: str, profile: str, academie: str | None,
          level: str) -> pd.DataFrame:
    """Feature reach per service (at the level chosen) and by IPS quintile (all levels together), for France
    and (optionally) one académie, with its rounded 95 % margin (``reach_margin``, NULL below 10 schools)."""
    return q(f"""SELECT geo_level, geo_code, academie_code, service, breakdown, breakdown_value, schools, suppressed,
            reach, reach_margin FROM reach_cells
        WHERE period_type = ? AND period = ? AND profile = ? AND secteur = 'all'
          AND ((breakdown = 'all' AND level = ?) OR (breakdown <> 'all' AND level = 'all'))
          AND (geo_level = 'nation' OR academie_code = ?) AND {scoped(nation_ok=True)}
        ORDER BY geo_level, service, breakdown, breakdown_value""",
             [period_type, period, profile, level, academie, *scope.params()])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def shapes(v: str, scope: Scope, geo_level: str, academie: str | None = None) -> pd.DataFrame:
    sql = f"SELECT code, name, academie_code, geojson FROM geo_shapes WHERE geo_level = ? AND {scoped()}"
    params = [geo_level, *scope.params()]
    if academie is not None:
        sql += " AND academie_code = ?"
        params.append(academie)
    return q(sql + " ORDER BY code", params)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def profiles(v: str) -> list[str]:
    return q("SELECT DISTINCT profile FROM adoption_cells")["profile"].tolist()


# --- levers (refitted on the published schools by the publisher: pipelines/defs/publication/levers.py) -------
LEVER_TABLES = ("levers_effects", "levers_event_study", "levers_academie_effects", "levers_gap_decomposition",
                "levers_scenarios")


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def lever_fit(v: str) -> dict:
    """The levers' fit (school year, schools used, pre-trend test); empty when nothing is published."""
    fit = q("SELECT * FROM levers_fit")
    return fit.iloc[0].to_dict() if len(fit) else {}


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def levers(v: str, scope: Scope, table: str) -> pd.DataFrame:
    """One levers table: rows of France (académie_code NULL) and of the académies of the scope."""
    if table not in LEVER_TABLES:
        raise ValueError(f"not a levers table: {table}")
    return q(f"SELECT * FROM {table} WHERE {scoped(nation_ok=True)} ORDER BY ALL", scope.params())


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def lever_targets(v: str, scope: Scope, academie: str) -> pd.DataFrame:
    """Published schools of one académie ranked by the expected extra active parents of one workshop."""
    return q(f"""SELECT t.rank, t.uai, s.name, s.commune_name, s.level, s.ips, t.loaded, t.active_rate,
            round(t.active_rate * t.loaded)::BIGINT AS active, t.extra_active, t.extra_active_low, t.extra_active_high
        FROM levers_targets t JOIN schools s USING (uai)
        WHERE t.academie_code = ? AND {scoped('t.academie_code')} ORDER BY t.rank""",
             [academie, *scope.params()])
