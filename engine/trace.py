"""The trace: an append-only, hash-chained JSONL audit trail of one run, and its verifying reader.

Each record is one line ``{"seq", "ts", "type", "prev", ...}`` where ``prev`` is the SHA-256 hex of
the previous line's bytes (without its newline; ``""`` for the first). Every record is written with
a single ``os.write`` on an O_APPEND descriptor, so a killed process leaves whole lines: a valid
prefix. No fsync per record (that would dominate short steps); the file is fsynced when closed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import TraceError

RUNS_DIR = Path(".agent") / "runs"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def trace_relpath(run_id: str) -> str:
    return f"{RUNS_DIR.as_posix()}/{run_id}.jsonl"


def trace_path(workspace: Path, run_id: str) -> Path:
    if not RUN_ID_PATTERN.match(run_id) or run_id.startswith("."):
        raise TraceError(f"runId: {run_id!r} is not a valid run id")
    return workspace / RUNS_DIR / f"{run_id}.jsonl"


def ensure_runs_dir(workspace: Path) -> Path:
    """Create ``.agent/runs/`` with a .gitignore of its own, so traces stay out of git status."""
    runs = workspace / RUNS_DIR
    for folder in (runs.parent, runs):  # a planted symlink must not send traces elsewhere
        if folder.is_symlink():
            raise TraceError(
                f"{folder} is a symlink; agentd writes traces only inside the workspace"
            )
        folder.mkdir(exist_ok=True)
    ignore = runs / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# agentd traces and spilled output: local audit data, not source\n*\n")
    return runs


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TraceWriter:
    """Appends records to a new trace file. ``redact`` runs over every line before it is written."""

    def __init__(self, path: Path, redact: Callable[[str], str] | None = None) -> None:
        self.path = path
        self._redact = redact
        self._fd: int | None = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        self._seq = 0
        self._prev = ""

    def write(self, type_: str, **data: Any) -> int:
        """Append one record; returns its line index (== seq)."""
        if self._fd is None:
            raise TraceError(f"trace {self.path} is already closed")
        record = {"seq": self._seq, "ts": _now(), "type": type_, "prev": self._prev, **data}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        if self._redact is not None:
            line = self._redact(line)
        encoded = line.encode("utf-8")
        os.write(self._fd, encoded + b"\n")
        self._prev = hashlib.sha256(encoded).hexdigest()
        self._seq += 1
        return self._seq - 1

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
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
            record = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
