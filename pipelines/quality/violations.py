"""The one rule counter of the blocking asset checks (and of the publisher's net on equity figures)."""


def violations(con, table: str, conditions: dict[str, str]) -> dict[str, int]:
    """Rows of ``table`` meeting each condition (each named condition is a rule broken), in one scan."""
    select = ", ".join(f"count(*) FILTER (WHERE {cond}) AS \"{name}\"" for name, cond in conditions.items())
    row = con.execute(f"SELECT {select} FROM {table}").fetchall()[0]
    return dict(zip(conditions, row))
