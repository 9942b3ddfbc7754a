"""Quarantine excerpts built from an allow-list: what an operator needs to fix a line, nothing personal.

An excerpt is a JSON object of known fields only. A value is shown verbatim only when it belongs to the
field's vocabulary (profile, module, service, event type, channel, auth method), is a parsed date or
number, a UAI (not personal data: it names a school) or a UUID-shaped structure id; any other value is
shown as its *shape* (digits as ``9``, every run of other characters but separators as ``a``: a date
``10/11/2025 8h`` reads ``99/99/9999 9a``, a name reads ``a a``). User ids become their pseudonym, free
text (user agent, school name) only its length, and unknown fields only their count. A line that does not
parse gives its length alone. The file and line number point the operator to the source line.
"""

from __future__ import annotations

from pipelines.defs.ingest.readers import sql_literal

UAI_PATTERN = "[0-9]{7}[A-Z]"
UUID_PATTERN = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_SHAPE_KEEP = r"9 .,:;/+_()\[\]{}\"$-"


def shape(expr: str) -> str:
    digits = f"regexp_replace({expr}, '[0-9]', '9', 'g')"
    return f"left(regexp_replace({digits}, {sql_literal(f'[^{_SHAPE_KEEP}]+')}, 'a', 'g'), 40)"


def vocabulary(expr: str, values) -> str:
    """``expr`` verbatim when its lower-cased value is one of ``values``, else its shape."""
    known = ", ".join(sql_literal(v.lower()) for v in sorted(set(values)))
    return f"CASE WHEN lower(trim({expr})) IN ({known}) THEN trim({expr}) ELSE {shape(expr)} END"


def uai(expr: str) -> str:
    return f"CASE WHEN regexp_full_match({expr}, '{UAI_PATTERN}') THEN {expr} ELSE {shape(expr)} END"


def structure_id(expr: str) -> str:
    return f"CASE WHEN regexp_full_match({expr}, '{UUID_PATTERN}') THEN {expr} ELSE {shape(expr)} END"


def structure_ids(expr: str) -> str:
    return f"list_transform({expr}, lambda s: {structure_id('s')})"


def timestamp(parsed: str, raw: str) -> str:
    return f"coalesce(strftime({parsed} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), {shape(raw)})"


def day(parsed: str, raw: str) -> str:
    return f"coalesce(strftime({parsed}, '%Y-%m-%d'), {shape(raw)})"


def number(parsed: str, raw: str) -> str:
    return f"coalesce({parsed}::VARCHAR, {shape(raw)})"


def pseudonym(expr: str) -> str:
    """The first 12 hex digits of a 128-bit pseudonym, as ``pseudo:…``."""
    return f"'pseudo:' || left(lpad(lower(hex({expr})), 32, '0'), 12)"


def unknown_json_fields(raw: str, known) -> str:
    names = ", ".join(sql_literal(k) for k in sorted(known))
    return f"len(list_filter(json_keys({raw}), lambda k: k NOT IN ({names})))"


def excerpt_sql(malformed: str, raw: str, fields: dict[str, str]) -> str:
    """The excerpt of a row: its length alone when ``malformed``, else the allow-listed ``fields``
    (name -> SQL built with the functions above) and the line's length."""
    pairs = ", ".join(f"{sql_literal(name)}, {expr}" for name, expr in fields.items())
    return (f"CASE WHEN {malformed} IS NOT NULL THEN json_object('chars', length({raw}))::VARCHAR "
            f"ELSE json_object({pairs}, 'chars', length({raw}))::VARCHAR END")
