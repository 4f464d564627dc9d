"""The content of a run's writeFile steps, kept by SHA-256 so the run can be replayed.

The trace records a writeFile's content only as its size, SHA-256 and a preview; the content
itself goes to ``.agent/runs/<runId>/content/<sha256>`` when the step is planned (mode 0600,
redacted like the trace). Folders and file are opened without following symbolic links: a step
of the run knows the run id and could plant a link there before a later round is planned.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["CONTENT_DIR", "content_sha256", "load_content", "store_content"]

CONTENT_DIR = "content"
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def store_content(runs_dir: Path, run_id: str, content: str, redact: Callable[[str], str]) -> str:
    """Keep ``content`` (redacted) under its SHA-256 (of the content as planned), which is
    returned; raises OSError when it cannot be written."""
    sha = content_sha256(content)
    data = redact(content).encode("utf-8")
    with _folder(runs_dir, run_id, create=True) as folder:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(sha, flags, _FILE_MODE, dir_fd=folder)
        except FileExistsError:  # the same content again, or something planted: write it anew
            os.unlink(sha, dir_fd=folder)
            fd = os.open(sha, flags, _FILE_MODE, dir_fd=folder)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    return sha


def load_content(runs_dir: Path, run_id: str, sha: str) -> bytes:
    """The stored bytes for ``sha``; raises OSError (FileNotFoundError when not kept)."""
    with _folder(runs_dir, run_id, create=False) as folder:
        fd = os.open(sha, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()


@contextmanager
def _folder(runs_dir: Path, run_id: str, *, create: bool) -> Iterator[int]:
    """A descriptor of ``<runs_dir>/<run_id>/content``, reached without following links."""
    fd = os.open(runs_dir, _DIR_FLAGS)
    try:
        for name in (run_id, CONTENT_DIR):
            if create:
                with suppress(FileExistsError):
                    os.mkdir(name, _DIR_MODE, dir_fd=fd)
            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)
