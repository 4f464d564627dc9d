"""Where a run happens: resolving the workspace root from a path or a file:// URI, and refusing
one the user did not open."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from engine.errors import WorkspaceError


def path_from_uri_or_path(value: str) -> Path:
    """``/abs/path`` or ``file:///abs/path`` to a Path (no checks)."""
    if value.startswith("file:"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise WorkspaceError(f"workspace: only local file URIs are supported, got {value!r}")
        return Path(unquote(parsed.path))
    return Path(value)


def resolve_workspace(value: str | None, default: Path | None = None) -> Path:
    """The absolute, existing workspace directory a run uses; a clear error otherwise.

    The path stays as the client gave it (normalised, symbolic links kept): diagnostics and
    file URIs must name the files the client opened. Containment checks compare real paths."""
    if value is None:
        if default is None:
            raise WorkspaceError(
                "workspace: no workspace given and the session has no workspace folder; "
                "pass `workspace` (an absolute path or file:// URI)"
            )
        path = default
    else:
        path = path_from_uri_or_path(value)
        if not path.is_absolute():
            raise WorkspaceError(
                f"workspace: must be an absolute path or file:// URI, got {value!r}"
            )
    path = Path(os.path.abspath(path))
    if not path.is_dir():
        raise WorkspaceError(f"workspace: {str(path)!r} is not an existing directory")
    return path


# Never a workspace: the root, the user's home itself, the parents of homes, system trees (and
# anything inside the trees that the system owns).
_NEVER = frozenset(
    Path(p) for p in ("/", "/home", "/tmp", "/var", "/opt", "/srv", "/mnt", "/media")
)
_SYSTEM_TREES = tuple(
    Path(p)
    for p in (
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
        "/sbin", "/sys", "/usr", "/var/lib", "/var/log", "/var/cache", "/var/spool",
    )
)  # fmt: skip


def check_workspace(workspace: Path, session_folders: Iterable[Path]) -> None:
    """Refuse a workspace that is not one of the session's folders (or inside one), or that is
    the root, the user's home itself or a system directory: a client chooses where a run
    happens only among what the user opened."""
    real = workspace.resolve()
    home = Path.home().resolve()
    if real in _NEVER or real == home or any(real.is_relative_to(t) for t in _SYSTEM_TREES):
        what = "your home folder itself" if real == home else "a system directory"
        raise WorkspaceError(
            f"workspace: {str(workspace)!r} is {what}; runs happen in a project folder"
        )
    folders = [folder.resolve() for folder in session_folders]
    if not folders:
        raise WorkspaceError(
            "workspace: the session has no workspace folder, so no run is accepted; open a "
            "folder in the editor (or pass workspaceFolders in initialize)"
        )
    if not any(real.is_relative_to(folder) for folder in folders):
        opened = ", ".join(repr(str(f)) for f in folders[:3])
        raise WorkspaceError(
            f"workspace: {str(workspace)!r} is not inside the session's workspace folders "
            f"({opened}); runs happen only where the user opened a folder"
        )
