"""Reverting a run from its checkpoint (``engine.execute.checkpoint``): every path the run
changed (edited, created or deleted) is put back as it was before the run, unless it changed
again since the run ended: those are reported as conflicts and left as they are. Restores never
write through a symbolic link. Blocking (it runs git): call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.execute.checkpoint import Checkpoint, CheckpointError, Entry, Store
from engine.execute.files import WriteRefused, open_parent
from engine.paths import split_write_path

__all__ = ["RevertReport", "revert"]


@dataclass(frozen=True, slots=True)
class RevertReport:
    """``restored``: paths put back as they were before the run; ``conflicts``: paths the run
    changed that changed again since (left as they are); ``skipped``: paths the run changed
    that could not be stored (too large) or restored safely (a link in the way)."""

    restored: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


def revert(workspace: Path, run_id: str) -> RevertReport:
    """Put back every path the run changed, as it was before the run; leave (and report) the
    paths changed again since the run ended."""
    point = Checkpoint.load(workspace, run_id)
    if point.after is None:
        raise CheckpointError(
            f"run {run_id!r} never finished its checkpoint (was the server "
            "stopped mid-run?), so what changed since cannot be told apart"
        )
    store = Store(workspace)
    with store.locked():
        before, after = store.tree(point.before), store.tree(point.after)
        scope = point.scope if point.scope is not None else sorted(before.keys() | after.keys())
        restored, conflicts, skipped = [], [], []
        for path in sorted({*scope, *point.skipped}):
            if path in point.skipped:  # never stored: whether the run changed it is unknown
                skipped.append(path)
                continue
            was, left = before.get(path), after.get(path)
            if was == left:
                continue
            now = _current(store.workspace, path)
            if now == was:
                continue  # already as before
            if now != left:
                conflicts.append(path)
                continue
            try:
                _restore(store, path, was, {p for p in before})
            except (WriteRefused, OSError):
                skipped.append(path)
                continue
            restored.append(path)
    return RevertReport(tuple(restored), tuple(conflicts), tuple(skipped))


def _current(workspace: Path, path: str) -> Entry | None:
    """(mode, git object id) of ``path`` as it is now, None when absent (or not a file)."""
    full = workspace / path
    try:
        info = os.lstat(full)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "120000", _blob_id(os.fsencode(os.readlink(full)))
    if not stat.S_ISREG(info.st_mode):
        return None
    mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
    return mode, _blob_id(full.read_bytes())


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _restore(store: Store, path: str, entry: Entry | None, before_paths: set[str]) -> None:
    """Make ``path`` what ``entry`` says (absent when None), never through a link."""
    parts = split_write_path(path)
    if not parts:
        raise WriteRefused(path, "not a workspace path")
    if entry is None:
        try:
            dir_fd = open_parent(store.workspace, parts, path, create=False)
        except FileNotFoundError:
            return
        try:
            os.unlink(parts[-1], dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        _prune_folders(store.workspace, parts, before_paths)
        return
    mode, oid = entry
    data = store.blob(oid)
    dir_fd = open_parent(store.workspace, parts, path, create=True)
    try:
        name = parts[-1]
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(name, dir_fd=dir_fd)
        if mode == "120000":
            os.symlink(os.fsdecode(data), name, dir_fd=dir_fd)
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o755 if mode == "100755" else 0o644, dir_fd=dir_fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, 0o755 if mode == "100755" else 0o644)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def _prune_folders(workspace: Path, parts: tuple[str, ...], before_paths: set[str]) -> None:
    """Remove folders left empty by deleting a file the run created, unless they held files
    before the run."""
    held = {"/".join(p.split("/")[:i]) for p in before_paths for i in range(1, p.count("/") + 1)}
    for depth in range(len(parts) - 1, 0, -1):
        folder = parts[:depth]
        if "/".join(folder) in held:
            return
        try:
            dir_fd = open_parent(workspace, folder, "/".join(folder), create=False)
        except (WriteRefused, OSError):
            return
        try:
            os.rmdir(folder[-1], dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.ENOTDIR):
                return
            raise
        finally:
            os.close(dir_fd)
