"""Load the equity SQL files (``sql/<name>.sql``)."""

from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


def equity_sql(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text()
