"""PII patterns (RE2, as DuckDB evaluates them) that quarantine a row whose known field carries one.

Detection only: nothing a row holds reaches a quarantine excerpt unless excerpt.py allows it, whatever
these patterns recognize or miss.
"""

from __future__ import annotations

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# French phone numbers: 0X XX XX XX XX or +33 X XX XX XX XX, with optional separators.
PHONE = r"(^|[^0-9])(\+33 ?|0)[1-9]([ .-]?[0-9]{2}){4}([^0-9]|$)"
# INE (identifiant national élève): 10 digits + 1 letter, or 9 digits + 2 letters.
INE = r"(^|[^0-9A-Za-z])([0-9]{10}[A-Za-z]|[0-9]{9}[A-Za-z]{2})([^0-9A-Za-z]|$)"
# A person's name in free text: a civility followed by a capitalized word.
NAME = r"(^|[^A-Za-z])(M\.|Mme|Mlle|Monsieur|Madame|Mademoiselle) +[A-ZÀ-Ý][A-Za-zà-ÿ'-]+"

KINDS = (("e-mail", EMAIL), ("phone number", PHONE), ("INE", INE), ("name", NAME))


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
