"""The trace: an append-only, hash-chained JSONL audit trail of one run, and its verifying reader.

Each record is one line ``{"seq", "ts", "type", "prev", ..., "mac"}`` where ``prev`` is the SHA-256
hex of the previous line's bytes (without its newline; ``""`` for the first) and ``mac``, always
last, an HMAC-SHA256 with the user's trace key (``trace_key``: ``<state dir>/trace.key``, 0600,
outside every workspace and hidden from sandboxed steps) over the previous line's mac and this
line up to the mac. Anyone can recompute a plain hash chain after editing a trace; only the key's
holder can recompute the macs, so the reader tells "intact, written by this user's agentd" from
"edited". Records are written whole or
not at all: a short write (a full disk) is rolled back with ``ftruncate`` so no half record is ever
glued to the next, and a killed process leaves whole lines (a valid prefix) or at worst one cut-off
last line. After a failed write the trace is *broken*: the writer says so once (``on_broken``, so
the run can stop) and accepts only a last attempt at the closing record. No fsync per record (that
would dominate short steps); the file is fsynced when closed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from engine.errors import TraceError, WorkspaceError
from engine.userdirs import state_dir

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


KEY_FILE = "trace.key"
_MAC = re.compile(rb',"mac":"([0-9a-f]{64})"}$')


def trace_key(*, create: bool = True) -> bytes | None:
    """The user's trace key (made on first use when ``create``); None when there is none."""
    path = state_dir() / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if not create:
            return None
    except (OSError, ValueError) as exc:
        raise TraceError(f"the trace key {path} is unreadable: {exc}") from None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another agentd made it meanwhile
        return trace_key(create=False)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def _mac(key: bytes, previous: bytes, body: bytes) -> bytes:
    return hmac.new(key, previous + b"\n" + body, hashlib.sha256).hexdigest().encode()


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
        key: bytes | None = None,
    ) -> None:
        self.path = path
        self._redact = redact
        self._key = key  # None: an unkeyed trace (tests of the plain chain)
        self._mac = b""
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
        mac = self._mac
        if self._key is not None:
            mac = _mac(self._key, self._mac, line)
            line = line[:-1] + b',"mac":"' + mac + b'"}'
        if not self._append(line + b"\n"):
            return -1
        self._mac = mac
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
    keyed: bool = False  # every record's mac verifies with this user's trace key
    unkeyed: bool = False  # the records carry no mac (an older agentd, or no key)

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


def read_trace(path: Path, key: bytes | None = None) -> TraceReport:
    """Load and verify a trace (with ``key``, this user's trace key when None). A cut-off last
    line is ``truncated``, not tampering."""
    key = key if key is not None else trace_key(create=False)
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
    prev, mac, macs = "", b"", 0
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
        found = _MAC.search(raw)
        if found is None:
            continue
        macs += 1
        expected = _mac(key, mac, raw[: found.start()] + b"}") if key is not None else None
        if expected is not None and not hmac.compare_digest(found[1], expected):
            report.problems.append(
                f"line {index + 1}: mac does not match (edited, or written with another key)"
            )
        mac = found[1]
    report.unkeyed = macs == 0 and bool(report.records)
    report.keyed = key is not None and macs == len(report.records) > 0 and not report.problems
    return report
