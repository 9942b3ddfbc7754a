"""SQL that reads one landed file into rows, one per source record, keeping every record.

Text files (CSV, JSON lines) are read line by line, so every physical line is accounted for with its
line number: a line that does not parse is kept with a ``malformed`` reason, never dropped. One
record per line: quoted CSV fields may hold separators and quotes, not line breaks.
"""

from __future__ import annotations

from pipelines.defs.ingest.formats import Sniffed


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def lines_sql(path: str) -> str:
    """Every non-blank line of a UTF-8 text file with its 1-based line number (file order is kept).

    The numbering (a streaming window, single-threaded) is materialized once so that what reads the lines
    runs in parallel; a line starting with a printable ASCII character is non-blank without trimming it,
    and only a line ending in CR is copied to drop it (the same lines as ``trim``/``rtrim`` on every line)."""
    return f"""
        WITH numbered AS MATERIALIZED (
            SELECT row_number() OVER () AS line_number, line
            FROM read_csv({sql_literal(path)}, columns = {{'line': 'VARCHAR'}}, header = false,
                          delim = chr(31), quote = '', escape = '', auto_detect = false,
                          strict_mode = false, null_padding = true)
        )
        SELECT line_number, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END AS line
        FROM numbered
        WHERE line IS NOT NULL AND (ascii(line) BETWEEN 33 AND 126 OR trim(line) <> '')
    """


def csv_rows_sql(path: str, sniffed: Sniffed) -> str:
    """Data lines of a CSV with ``fields`` (list of unquoted values) and ``malformed`` (reason or NULL)."""
    sep = sql_literal(sniffed.separator or ";")
    sep_re = "\\;" if sniffed.separator == ";" else ","
    field = f'("(?:[^"]|"")*"|[^{sep_re}"]*)'
    quoted_line = sql_literal(f"{field}({sep_re}{field})*")
    quoted_field = sql_literal(f"{field}{sep_re}")
    n = len(sniffed.header)
    return f"""
        WITH lines AS ({lines_sql(path)}),
        data AS (SELECT * FROM lines WHERE line_number > (SELECT min(line_number) FROM lines)),
        split AS (
            SELECT
                line_number, line,
                CASE
                    WHEN NOT contains(line, '"') THEN string_split(line, {sep})
                    WHEN regexp_full_match(line, {quoted_line}) THEN list_transform(
                        regexp_extract_all(line || {sep}, {quoted_field}, 1),
                        lambda f: CASE WHEN starts_with(f, '"') THEN replace(f[2:-2], '""', '"') ELSE f END)
                END AS fields
            FROM data
        )
        SELECT
            line_number, line, fields,
            CASE
                WHEN fields IS NULL THEN 'malformed line: unbalanced quotes'
                WHEN len(fields) <> {n} THEN 'malformed line: ' || len(fields) || ' fields, expected {n}'
            END AS malformed
        FROM split
    """


def csv_column(sniffed: Sniffed, name: str) -> str:
    """SQL for column ``name`` of a CSV row (trimmed, '' as NULL), or NULL if the header lacks it."""
    if name not in sniffed.header:
        return "NULL::VARCHAR"
    return f"nullif(trim(fields[{sniffed.header.index(name) + 1}]), '')"
