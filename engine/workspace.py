"""Where a run happens: resolving the workspace root from a path or a file:// URI."""

from __future__ import annotations

import os
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
