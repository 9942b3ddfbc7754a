"""SQL that maps source vocabularies (entcore, French labels) onto the canonical ones.

Unknown profiles, modules and services map to ``autre``, unknown event types to ``OTHER``; both are
counted, not rejected. Only these vocabularies (and validated UAIs) reach the warehouse as text.
"""

from __future__ import annotations

from pipelines.defs.ingest.readers import sql_literal
from pipelines.formats.entcore import (
    AUTH_METHODS,
    CHANNEL_UA_PATTERNS,
    CHANNELS,
    LOGIN_MODULE,
    MODULE_SERVICES,
    PROFIL_TO_PROFILE,
    PROFILES,
    SERVICES,
    SOURCE_EVENT_TYPES,
)

UAI_PATTERN = "[0-9]{7}[A-Z]"

# French labels seen in ODE statistics exports and admin consoles.
FRENCH_PROFILE_LABELS = {
    "parent": "parent", "parents": "parent", "responsable": "parent", "responsable legal": "parent",
    "eleve": "eleve", "élève": "eleve", "eleves": "eleve", "élèves": "eleve",
    "enseignant": "enseignant", "enseignants": "enseignant", "personnel": "personnel",
    "personnels": "personnel", "invite": "autre", "invité": "autre",
}


def _case(expr: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


PROFILE_WORDS = {p: p for p in PROFILES} | {k.lower(): v for k, v in PROFIL_TO_PROFILE.items()} | FRENCH_PROFILE_LABELS


def profile_sql(raw: str) -> str:
    """Canonical profile of a raw value (canonical, entcore ``profil`` or French label), NULL if unknown."""
    return _case(f"lower(trim({raw}))", PROFILE_WORDS, "NULL")


def event_type_sql(raw: str) -> str:
    """The event type in upper case when entcore writes it, else OTHER (NULL stays NULL)."""
    return _case(f"upper(trim({raw}))", {t: t for t in SOURCE_EVENT_TYPES}, f"CASE WHEN {raw} IS NOT NULL THEN 'OTHER' END")


def service_sql(service_raw: str, module_raw: str, event_type: str) -> str:
    """Canonical service: a LOGIN is a connexion; else the canonical name, else the entcore module."""
    by_service = _case(f"lower(trim({service_raw}))", {s: s for s in SERVICES}, "NULL")
    by_module = _case(f"lower(trim({module_raw}))", {k.lower(): v for k, v in MODULE_SERVICES.items()}, "NULL")
    return f"CASE WHEN upper({event_type}) = 'LOGIN' THEN 'connexion' ELSE coalesce({by_service}, {by_module}) END"


def channel_sql(channel_raw: str, ua: str, event_type: str, module_raw: str) -> str:
    """Canonical channel: the source's own value if canonical; a LOGIN whose module is not entcore's Auth
    (the mobile app's OAuth client id) is the mobile app; else from the user agent."""
    by_ua = " ".join(
        f"WHEN regexp_matches({ua}, {sql_literal(pattern)}) THEN {sql_literal(channel)}"
        for channel, pattern in CHANNEL_UA_PATTERNS.items()
    )
    direct = _case(f"lower(trim({channel_raw}))", {c: c for c in CHANNELS}, "NULL")
    oauth_login = (f"upper(trim({event_type})) = 'LOGIN' AND lower(trim({module_raw})) "
                   f"<> {sql_literal(LOGIN_MODULE.lower())}")
    return f"coalesce({direct}, CASE WHEN {oauth_login} THEN 'mobile_app' {by_ua} ELSE 'other' END)"


def auth_method_sql(raw: str) -> str:
    return _case(f"lower(trim({raw}))", {a: a for a in AUTH_METHODS}, "NULL")
