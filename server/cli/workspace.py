"""Which workspace a command means: the project root above the current directory, found the way
git, cargo and uv find theirs, unless ``--workspace`` names one.

The root is the nearest directory, from the current one upwards, that holds one of ``MARKERS``;
with none anywhere, the current directory. `.agent/` (traces, goals) is only ever created there.
"""

from __future__ import annotations

import os
from pathlib import Path

from server.cli.parser import UsageError

MARKERS = (".agent", ".git", "pyproject.toml", "package.json", "Cargo.toml", "go.mod")
RUNS_DIR = Path(".agent") / "runs"  # engine.trace.RUNS_DIR, without importing the engine


class NotADirectory(UsageError):
    """``--workspace`` names something that is not a directory."""


def _marks_a_root(folder: Path) -> bool:
    for marker in MARKERS:
        candidate = folder / marker
        # `.agent` counts only as a folder; `.git` also as a file (worktrees, submodules).
        if candidate.is_dir() if marker == ".agent" else candidate.exists():
            return True
    return False


def find_root(start: Path) -> Path | None:
    """The nearest directory from ``start`` upwards that holds a marker; None when none does."""
    for folder in (start, *start.parents):
        if _marks_a_root(folder):
            return folder
    return None


def workspace_for(option: str | None, cwd: Path | None = None) -> Path:
    """The workspace of a command: ``--workspace`` as given (absolute, a symlink kept as typed),
    else the project root around the current directory, else the current directory."""
    if option is not None:
        chosen = Path(os.path.abspath(option))
        if not chosen.is_dir():
            raise NotADirectory(f"workspace {str(chosen)!r} is not a directory")
        return chosen
    here = cwd or Path(os.getcwd())
    return find_root(here) or here
