"""The trace: an append-only, hash-chained JSONL audit trail of one run, and its verifying reader.

Each record is one line ``{"seq", "ts", "type", "prev", ...}`` where ``prev`` is the SHA-256 hex of
the previous line's bytes (without its newline; ``""`` for the first). Records are written whole or
not at all: a short write (a full disk) is rolled back with ``ftruncate`` so no half record is ever
glued to the next, and a killed process leaves whole lines (a valid prefix) or at worst one cut-off
last line. After a failed write the trace is *broken*: the writer says so once (``on_broken``, so
the run can stop) and accepts only a last attempt at the closing record. No fsync per record (that
would dominate short steps); the file is fsynced when closed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from engine.errors import TraceError, WorkspaceError

log = logging.getLogger(__name__)

RUNS_DIR = Path(".agent") / "runs"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
TRACE_FILE_MODE = 0o600


def trace_relpath(run_id: str) -> str:
    return f"{RUNS_DIR.as_posix()}/{run_id}.jsonl"


def trace_path(workspace: Path, run_id: str) -> Path:
    if not RUN_ID_PATTERN.match(run_id) or run_id.startswith("."):
        raise TraceError(f"runId: {run_id[:128]!r} is not a valid run id")
    return workspace / RUNS_DIR / f"{run_id}.jsonl"


def ensure_runs_dir(workspace: Path) -> Path:
    """Create ``.agent/runs/`` with a .gitignore of its own, so traces stay out of git status."""
    runs = workspace / RUNS_DIR
    try:
        for folder in (runs.parent, runs):  # a planted symlink must not send traces elsewhere
            if folder.is_symlink():
                raise WorkspaceError(
                    f"workspace: {folder} is a symlink; agentd writes traces only inside the "
                    "workspace"
                )
            folder.mkdir(exist_ok=True)
        ignore = runs / ".gitignore"
        if not ignore.exists():
            ignore.write_text(
                "# agentd traces and spilled output: local audit data, not source\n*\n"
            )
    except OSError as exc:
        raise WorkspaceError(
            f"workspace: cannot write traces in {runs}: {exc.strerror or exc}"
        ) from None
    return runs


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default(value: object) -> str:
    return str(value)  # paths and the like


class TraceWriter:
    """Appends records to a new trace file. ``redact`` runs over every line before it is written.

    Raises WorkspaceError at once when the file cannot be created (a read-only runs folder).
    """

    def __init__(
        self,
        path: Path,
        redact: Callable[[str], str] | None = None,
        on_broken: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._redact = redact
        self._on_broken = on_broken
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            self._fd: int | None = os.open(path, flags, TRACE_FILE_MODE)
        except OSError as exc:
            raise WorkspaceError(
                f"workspace: cannot write traces in {path.parent}: {exc.strerror or exc}"
            ) from None
        self._seq = 0
        self._prev = ""
        self._size = 0
        self.broken: str | None = None  # why the trace stopped being written

    def write(self, type_: str, **data: Any) -> int:
        """Append one record; its line index (== seq), or -1 when it could not be written."""
        if self._fd is None or (self.broken is not None and type_ != "run.finished"):
            return -1
        record = {"seq": self._seq, "ts": _now(), "type": type_, "prev": self._prev, **data}
        line = orjson.dumps(record, default=_default, option=orjson.OPT_NON_STR_KEYS)
        if self._redact is not None:
            text = line.decode("utf-8")
            redacted = self._redact(text)
            if redacted is not text:
                line = redacted.encode("utf-8")
        if not self._append(line + b"\n"):
            return -1
        self._prev = hashlib.sha256(line).hexdigest()
        self._seq += 1
        return self._seq - 1

    def _append(self, data: bytes) -> bool:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._rollback()
            self._break(f"cannot write the trace {self.path}: {exc.strerror or exc}")
            return False
        self._size += len(data)
        return True

    def _rollback(self) -> None:
        """Cut a partly written record off, so the file stays a chain of whole records."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            log.error("cannot roll back a partial record of %s: %s", self.path, exc)

    def _break(self, reason: str) -> None:
        if self.broken is not None:
            return
        self.broken = reason
        log.error("%s", reason)
        if self._on_broken is not None:
            self._on_broken(reason)

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        except OSError as exc:
            self._break(f"cannot write the trace {self.path}: {exc.strerror or exc}")
        finally:
            os.close(fd)


@dataclass(slots=True)
class TraceReport:
    """What a trace file holds and whether its chain is intact."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False  # the last line was cut short (the writer was killed mid-line)

    @property
    def verified(self) -> bool:
        """Every complete line parses, is numbered in order and chains to the one before."""
        return not self.problems

    @property
    def complete(self) -> bool:
        """The run finished: the chain verifies and ends with ``run.finished``."""
        return (
            self.verified
            and not self.truncated
            and bool(self.records)
            and self.records[-1].get("type") == "run.finished"
        )


def read_trace(path: Path) -> TraceReport:
    """Load and verify a trace. A cut-off last line is ``truncated``, not tampering."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"no trace at {path}") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror}") from None
    report = TraceReport(path=path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        report.truncated = True
        lines.pop()
    prev = ""
    for index, raw in enumerate(lines):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            report.problems.append(f"line {index + 1}: not JSON ({exc})")
            break
        if not isinstance(record, dict):
            report.problems.append(f"line {index + 1}: not a JSON object")
            break
        if record.get("seq") != index:
            report.problems.append(
                f"line {index + 1}: seq is {record.get('seq')!r}, expected {index}"
            )
        if record.get("prev") != prev:
            report.problems.append(
                f"line {index + 1}: prev does not match the previous line's hash"
            )
        report.records.append(record)
        prev = hashlib.sha256(raw).hexdigest()
    return report
