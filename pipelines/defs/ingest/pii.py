"""PII patterns (RE2, as DuckDB evaluates them) used to quarantine rows and to scrub excerpts."""

from __future__ import annotations

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# French phone numbers: 0X XX XX XX XX or +33 X XX XX XX XX, with optional separators.
PHONE = r"(^|[^0-9])(\+33 ?|0)[1-9]([ .-]?[0-9]{2}){4}([^0-9]|$)"
# INE (identifiant national élève): 10 digits + 1 letter, or 9 digits + 2 letters.
INE = r"(^|[^0-9A-Za-z])([0-9]{10}[A-Za-z]|[0-9]{9}[A-Za-z]{2})([^0-9A-Za-z]|$)"
# A person's name in free text: a civility followed by a capitalized word.
NAME = r"(^|[^A-Za-z])(M\.|Mme|Mlle|Monsieur|Madame|Mademoiselle) +[A-ZÀ-Ý][A-Za-zà-ÿ'-]+"
UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
LONG_NUMBER = r"[0-9]{6,}"
# In a malformed JSON line, the value of any key that names a user.
JSON_USER_VALUE = r"(\"(userId|user_id|login|email|displayName)\"\s*:\s*)\"[^\"]*\""

KINDS = (("e-mail", EMAIL), ("phone number", PHONE), ("INE", INE), ("name", NAME))
MASK = "[masqué]"


def _quote(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def pii_reason_sql(fields: dict[str, str]) -> str:
    """SQL CASE giving 'PII in <field>: <kind>' for the first PII found in the given expressions, else NULL."""
    whens = [
        f"WHEN regexp_matches({expr}, {_quote(pattern)}) THEN 'PII in {field}: {kind}'"
        for field, expr in fields.items()
        for kind, pattern in KINDS
    ]
    return "CASE " + " ".join(whens) + " END"


def scrub_sql(expr: str) -> str:
    """SQL masking e-mails, phones, INE and names in ``expr``."""
    out = expr
    for _, pattern in KINDS:
        out = f"regexp_replace({out}, {_quote(pattern)}, '{MASK}', 'g')"
    return out


def scrub_unparsed_sql(expr: str) -> str:
    """Stronger scrub for a line that could not be parsed (its user id is unknown): also masks
    user-id JSON values, UUIDs and long numbers, and keeps the first 200 characters."""
    out = f"regexp_replace({expr}, {_quote(JSON_USER_VALUE)}, '\\1\"{MASK}\"', 'g')"
    for pattern in (UUID, LONG_NUMBER):
        out = f"regexp_replace({out}, {_quote(pattern)}, '{MASK}', 'g')"
    return f"left({scrub_sql(out)}, 200)"
