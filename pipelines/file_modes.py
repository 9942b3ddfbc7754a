"""Permissions of everything the product writes: the warehouse, the serving copy, reports, users and audit.

Files are owner-only (0600) and folders owner-only (0700) unless ``ENT_FILE_MODE`` says otherwise, as an
octal file mode such as ``0640`` (group may read, e.g. a dashboard running as another user of the same
group). Folders get the execute bit wherever the file mode has the read bit (0640 -> 0750). Read-only
files (the published serving copy) drop the write bits (0600 -> 0400).
"""

from __future__ import annotations

import os
from pathlib import Path

MODE_ENV = "ENT_FILE_MODE"
DEFAULT_FILE_MODE = 0o600


def file_mode() -> int:
    """The file mode in force: ``ENT_FILE_MODE`` (octal, owner read-write, no execute bit), else 0600."""
    raw = os.environ.get(MODE_ENV, "").strip()
    if not raw:
        return DEFAULT_FILE_MODE
    try:
        mode = int(raw, 8)
    except ValueError:
        raise ValueError(f"{MODE_ENV}={raw!r} is not an octal file mode such as 0600 or 0640") from None
    if mode & ~0o666 or mode & 0o600 != 0o600:
        raise ValueError(f"{MODE_ENV}={raw!r}: a file mode needs owner read-write and no execute or special bit")
    return mode


def folder_mode() -> int:
    mode = file_mode()
    return mode | ((mode & 0o444) >> 2)


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed and give it the folder mode."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, folder_mode())
    return path


def restrict(path: Path | str, read_only: bool = False) -> None:
    """Give an existing file the file mode (without write bits when ``read_only``)."""
    os.chmod(path, file_mode() & ~0o222 if read_only else file_mode())


def restrict_tree(folder: Path) -> None:
    """The folder mode on ``folder`` and its subfolders, the file mode on every file below it."""
    os.chmod(folder, folder_mode())
    for path in Path(folder).rglob("*"):
        if path.is_dir():
            os.chmod(path, folder_mode())
        elif path.is_file():
            restrict(path)


def replace_durably(tmp: Path | str, target: Path | str, read_only: bool = False) -> None:
    """Move the finished file ``tmp`` over ``target`` (same folder) so that a crash or a reader sees the
    old file or the new one, never part of one: fsync it, give it the file mode, rename, fsync the folder."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    restrict(tmp, read_only=read_only)
    os.replace(tmp, target)
    dir_fd = os.open(Path(target).parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
