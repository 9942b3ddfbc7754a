"""The access audit log as the tests read it: one JSON object per line (pipelines/users.py writes it)."""

import json
from pathlib import Path

from pipelines import users


def read_audit_log(path: Path | None = None) -> list[dict]:
    path = path or users.audit_log_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
