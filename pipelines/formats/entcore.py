"""Vocabulary of entcore (edificeio/entcore, the open-source ENT behind NEO/ONE/Lycée Connecté) and its
mapping to the canonical event vocabulary of the Observatoire.

Shared by the synthetic generator (which writes entcore event-store JSON lines) and the ingestion code
(which reads them). Plain dicts and tuples only, so that SQL (DuckDB ``CASE``/``MAP``) can be generated
from them.

entcore event-store document (one JSON object per line, mongoexport style)::

    {"_id": "<uuid>", "event-type": "LOGIN" | "ACCESS", "module": "Auth" | "<module>",
     "date": <epoch milliseconds, number>, "userId": "<raw user uuid>", "profil": "Relative" | ...,
     "structures": ["<entcore structure uuid>"], "ua": "<user agent>", "deviceType": "Mobile" | ...,
     "sessionId": "<session id>"}

Real exports also write ``date`` and ``_id`` as mongoexport Extended JSON, and carry more fields per event
type (``EVENT_FIELDS``): docs/input_formats.md lists what the ingest accepts.

``structures`` holds entcore internal structure ids, not UAIs: a ``structures.csv`` export
(``structure_id;uai;name``) maps them to UAIs.

Module names are those of the entcore ecosystem (listed as names only in ENT_USAGE_FIGURES.md:
``Viescolaire``, ``Presences``, ``Homeworks``/``Diary``, ``Conversation``, ``Blog``, ``Workspace``,
``SchoolBook``, ``Actualites``); ``Competences``, ``Calendar``, ``Wiki``, ``Forum`` and ``Rack`` are other
entcore applications. A LOGIN event carries the module ``Auth``.
"""

from __future__ import annotations

# Canonical vocabularies (docs/design.md, "Canonical event").
PROFILES = ("parent", "eleve", "enseignant", "personnel", "autre")
SERVICES = (
    "connexion",
    "notes",
    "vie_scolaire",
    "cahier_de_textes",
    "messagerie",
    "blog",
    "documents",
    "carnet_de_liaison",
    "actualites",
    "agenda",
    "autre",
)
CHANNELS = ("web", "mobile_app", "other")
AUTH_METHODS = ("educonnect", "franceconnect", "ent_local")
EVENT_TYPES = ("LOGIN", "ACCESS")  # the two the generator writes (a session's first event is a LOGIN)
# Event types entcore writes (``createAndStoreEvent`` calls of edificeio/entcore: auth, feeder, cas,
# directory, portal, archive); any other value is stored as OTHER.
SOURCE_EVENT_TYPES = (
    "LOGIN", "ACCESS", "ACTIVATION", "SMS", "CONNECTOR", "CREATE", "OAUTH", "CREATE_USER", "DELETE_USER",
    "MERGE_USER", "IMPORT", "ACCESS_ADAPTER", "GET_RESOURCE", "OTHER",
)
# Events that are visits: they open sessions and count as activity. The others (an account activation,
# a resource creation, an OAuth token, an account created by the feeder, ...) are stored, not counted.
VISIT_EVENT_TYPES = ("LOGIN", "ACCESS", "CONNECTOR")
# Fields of an entcore event document (MongoDbEventStore, EventStoreController, CAS connector, feeder).
EVENT_FIELDS = (
    "_id", "event-type", "module", "date", "userId", "profil", "structures", "classes", "groups", "ua",
    "referer", "sessionId", "ip", "deviceType", "service", "connector-type", "cas-type", "new-user",
    "override-module",
)

LOGIN_MODULE = "Auth"

# entcore module -> canonical service.
MODULE_TO_SERVICE = {
    "Auth": "connexion",
    "Viescolaire": "vie_scolaire",
    "Presences": "vie_scolaire",
    "Competences": "notes",
    "Homeworks": "cahier_de_textes",
    "Diary": "cahier_de_textes",
    "Conversation": "messagerie",
    "Blog": "blog",
    "Workspace": "documents",
    "SchoolBook": "carnet_de_liaison",
    "Actualites": "actualites",
    "Calendar": "agenda",
    "Wiki": "autre",
    "Forum": "autre",
    "Rack": "autre",
}

# Module names seen in real traffic besides those above (read, never generated): the Zimbra mail module,
# older mobile apps' misspelt 'Worksapce', and the CAS mapping type of CONNECTOR events to Pronote (whose
# parents' use is first of all the grades, so: notes).
UPSTREAM_MODULE_NAMES = {"Zimbra": "messagerie", "Worksapce": "documents", "PronoteRegisteredService": "notes"}
MODULE_SERVICES = MODULE_TO_SERVICE | UPSTREAM_MODULE_NAMES

# Canonical service -> the entcore modules that serve it (the generator picks one uniformly).
SERVICE_TO_MODULES = {
    service: tuple(module for module, s in MODULE_TO_SERVICE.items() if s == service) for service in SERVICES
}

# entcore ``profil`` -> canonical profile.
PROFIL_TO_PROFILE = {
    "Relative": "parent",
    "Student": "eleve",
    "Teacher": "enseignant",
    "Personnel": "personnel",
    "Guest": "autre",
}
PROFILE_TO_PROFIL = {profile: profil for profil, profile in PROFIL_TO_PROFILE.items()}

# User agents seen per channel, as (ua, deviceType). The mobile apps of entcore ENTs (ONE/NEO "Pocket")
# identify themselves in the user agent; a mobile *browser* is channel web with deviceType Mobile.
USER_AGENTS = {
    "mobile_app": (
        ("ONE%20Pocket/4.6.2 CFNetwork/1568.200.51 Darwin/24.1.0", "Mobile"),
        ("NEO%20Pocket/4.6.2 CFNetwork/1568.200.51 Darwin/24.1.0", "Mobile"),
        ("ONE Pocket/4.6.2 (Android 14; SM-A546B) okhttp/4.12.0", "Mobile"),
        ("NEO Pocket/4.6.2 (Android 13; Redmi Note 12) okhttp/4.12.0", "Mobile"),
        ("ONE%20Pocket/4.6.2 CFNetwork/1568.200.51 Darwin/24.1.0 (iPad)", "Tablet"),
    ),
    "web": (
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Desktop",
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Desktop"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Desktop",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Safari/605.1.15",
            "Desktop",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Desktop",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Mobile",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            "Mobile",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            "Tablet",
        ),
    ),
    "other": (
        ("Apache-HttpClient/4.5.14 (Java/17.0.13)", "Unknown"),
        ("python-requests/2.32.3", "Unknown"),
    ),
}

# How to tell the channel from a user agent (regular expressions, tried in this order; no match = other).
# The React Native Android app sends a bare okhttp user agent.
CHANNEL_UA_PATTERNS = {
    "mobile_app": r"(ONE|NEO)(%20| )Pocket/|^okhttp/",
    "web": r"^Mozilla/5\.0 ",
}
