"""Lexical checks on workspace-relative write paths, shared by the gate and the confined writer.

Lexical only: symlinks and hard links are the writer's job (it walks the real tree with O_NOFOLLOW).
"""

from __future__ import annotations

from pathlib import PurePosixPath

# Files a shell or a login reads on start-up: writing one is a way to run code later.
SHELL_STARTUP_FILES = frozenset(
    {
        ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc",
        ".zshenv", ".zprofile", ".zlogin", ".zlogout", ".cshrc", ".tcshrc", ".login",
        ".kshrc", ".inputrc", ".envrc",
    }
)  # fmt: skip

# Files an editor or CI runs without asking: writing one is allowed only with approval.
EDITOR_EXECUTED = (
    (".vscode", "tasks.json"),
    (".vscode", "launch.json"),
    (".vscode", "settings.json"),
    (".github", "workflows"),
    (".git", "hooks"),
)


def split_write_path(rel_path: str) -> tuple[str, ...]:
    """The path's parts, or an empty tuple when it is not a plain relative path."""
    if not rel_path or "\x00" in rel_path or "\\" in rel_path:
        return ()
    path = PurePosixPath(rel_path)
    if path.is_absolute():
        return ()
    parts = tuple(p for p in path.parts if p != ".")
    if not parts or ".." in parts:
        return ()
    return parts


def write_path_problem(rel_path: str) -> str | None:
    """Why a write to ``rel_path`` (relative to the workspace) must be refused, or None."""
    if not rel_path:
        return "empty path"
    if "\x00" in rel_path:
        return "path contains a NUL byte"
    if "\\" in rel_path:
        return "path contains a backslash"
    if PurePosixPath(rel_path).is_absolute():
        return f"absolute path {rel_path!r} is outside the workspace"
    parts = split_write_path(rel_path)
    if not parts:
        return f"path {rel_path!r} escapes the workspace (contains '..' or names no file)"
    lowered = [p.lower() for p in parts]
    if ".git" in lowered:
        return f"path {rel_path!r} is inside .git/, which agentd never writes"
    if lowered[:2] == [".agent", "runs"]:
        return f"path {rel_path!r} is inside .agent/runs/, where traces live"
    if lowered[-1] in SHELL_STARTUP_FILES:
        return f"path {rel_path!r} is a shell start-up file"
    return None


def editor_executed(rel_path: str) -> bool:
    """True when an editor or CI would run this file's contents without asking."""
    lowered = tuple(p.lower() for p in split_write_path(rel_path))
    return any(lowered[: len(prefix)] == prefix for prefix in EDITOR_EXECUTED)
