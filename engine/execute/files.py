"""Confined, atomic file writes inside a workspace.

The lexical checks of ``engine.paths`` run first; then the real tree is walked from a directory fd
with ``O_NOFOLLOW`` at every component, so no symlink (live, dangling or to a directory), hard
link or special file can redirect a write outside the workspace, even if it appears mid-run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from engine.paths import split_write_path, write_path_problem

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_MODE = 0o644
_NEW_DIR_MODE = 0o755


class WriteRefused(Exception):
    """A write that must not happen; ``reason`` says why in words a user understands."""

    def __init__(self, rel_path: str, reason: str) -> None:
        super().__init__(reason)
        self.rel_path = rel_path
        self.reason = reason


def write_file_confined(workspace: Path, rel_path: str, content: str) -> Path:
    """Write ``content`` (UTF-8) to ``rel_path`` under ``workspace`` atomically; return its path.

    Missing directories are created. Refused (WriteRefused): any path ``write_path_problem``
    rejects, any symlink component, an existing target that is a symlink, not a regular file or
    hard-linked elsewhere. An existing file keeps its permission bits (not setuid/setgid/sticky);
    a new one gets 0o644. Readers see
    the old or the new content, never a mix, and no temporary file survives an error.
    Other failures (disk full, permissions) raise OSError.
    """
    problem = write_path_problem(rel_path)
    if problem is not None:
        raise WriteRefused(rel_path, problem)
    parts = split_write_path(rel_path)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise WriteRefused(rel_path, f"content is not valid Unicode text ({exc.reason})") from exc
    dir_fd = open_parent(workspace, parts, rel_path, create=True)
    try:
        _replace_file(dir_fd, parts[-1], data, rel_path)
    finally:
        os.close(dir_fd)
    return Path(os.path.abspath(workspace)).joinpath(*parts)


def open_parent(workspace: Path, parts: tuple[str, ...], rel_path: str, *, create: bool) -> int:
    """A descriptor of the folder holding ``parts[-1]``, reached from ``workspace`` without
    following any symlink (WriteRefused otherwise); missing folders are made when ``create``
    (FileNotFoundError otherwise). The caller closes it."""
    dir_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for depth, name in enumerate(parts[:-1]):
            shown = "/".join(parts[: depth + 1])
            opener = _open_or_make_dir if create else _open_dir
            child_fd = opener(dir_fd, name, rel_path, shown)
            os.close(dir_fd)
            dir_fd = child_fd
    except BaseException:
        os.close(dir_fd)
        raise
    return dir_fd


def _open_or_make_dir(parent_fd: int, name: str, rel_path: str, shown: str) -> int:
    """Open the directory ``name`` under ``parent_fd`` without following a symlink, creating it."""
    try:
        return _open_dir(parent_fd, name, rel_path, shown)
    except FileNotFoundError:
        pass
    # FileExistsError: created meanwhile, or a dangling symlink; the open below tells which.
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, _NEW_DIR_MODE, dir_fd=parent_fd)
    return _open_dir(parent_fd, name, rel_path, shown)


def _open_dir(parent_fd: int, name: str, rel_path: str, shown: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteRefused(rel_path, f"{shown!r} is a symbolic link") from exc
        if exc.errno == errno.ENOTDIR:
            raise WriteRefused(rel_path, f"{shown!r} is not a directory") from exc
        raise


def _replace_file(dir_fd: int, name: str, data: bytes, rel_path: str) -> None:
    mode = _existing_mode(dir_fd, name, rel_path)
    temp = f".agentd-{os.urandom(8).hex()}.tmp"  # fixed length: a 255-byte name still fits
    fd = os.open(temp, _TEMP_FLAGS, 0o600, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)  # explicit, so the umask does not change an existing file's mode
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dir_fd)
        raise


def _existing_mode(dir_fd: int, name: str, rel_path: str) -> int:
    """The mode to keep for ``name``, after refusing a target that is not a plain, lone file."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return _NEW_FILE_MODE
    if stat.S_ISLNK(st.st_mode):
        raise WriteRefused(rel_path, f"{rel_path!r} is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise WriteRefused(rel_path, f"{rel_path!r} exists and is not a regular file")
    if st.st_nlink > 1:
        raise WriteRefused(rel_path, f"{rel_path!r} is a hard link shared with another path")
    return stat.S_IMODE(st.st_mode) & 0o777  # never carry setuid/setgid onto new content
