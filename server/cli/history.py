"""A workspace's past runs, read from their traces (`.agent/runs/*.jsonl`): `agentd runs`, and
which trace `agentd trace last` / `-2` / RUN_ID / PATH means.

Summaries read the records without verifying the hash chain (that is `agentd trace`'s job); a
trace without ``run.finished`` is a run that has not finished (still running, or its server was
killed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from server.cli.workspace import RUNS_DIR


class NoSuchRun(Exception):
    """A run reference that names no trace; the message says what was looked for and where."""


@dataclass(slots=True)
class RunSummary:
    run_id: str
    path: Path
    goal: str = ""
    started: str = ""  # ISO 8601 UTC, from run.started
    status: str | None = None  # None: no run.finished record (yet)
    steps: int = 0
    succeeded: int = 0
    duration_ms: int | None = None
    dry_run: bool = False

    def wire(self) -> dict[str, Any]:
        """``agentd runs --json``: camelCase like the protocol, the trace as an absolute path."""
        return {
            "runId": self.run_id,
            "goal": self.goal,
            "status": self.status,
            "steps": self.steps,
            "succeeded": self.succeeded,
            "started": self.started,
            "durationMs": self.duration_ms,
            "dryRun": self.dry_run,
            "trace": str(self.path),
        }


def records(path: Path) -> list[dict[str, Any]]:
    """Every whole, parseable record of a trace, in order (a cut-off last line is left out)."""
    found = []
    for line in path.read_bytes().split(b"\n"):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def summarize(path: Path) -> RunSummary:
    summary = RunSummary(run_id=path.stem, path=path)
    for record in records(path):
        kind = record.get("type")
        if kind == "run.started":
            summary.goal = str(record.get("goal") or "")
            summary.started = str(record.get("ts") or "")
            summary.dry_run = bool((record.get("params") or {}).get("dryRun"))
        elif kind == "plan.created":
            summary.steps = len(record.get("steps") or [])
        elif kind == "step.finished":
            summary.succeeded += (record.get("step") or {}).get("status") == "succeeded"
        elif kind == "run.finished":
            summary.status = str(record.get("status"))
            summary.duration_ms = record.get("durationMs")
    return summary


def _first_ts(path: Path) -> str:
    try:
        with path.open("rb") as f:
            first = orjson.loads(f.readline())
    except (OSError, orjson.JSONDecodeError):
        return ""
    return str(first.get("ts") or "") if isinstance(first, dict) else ""


def trace_files(workspace: Path) -> list[Path]:
    """The workspace's traces, newest run first (by the time each run started)."""
    folder = workspace / RUNS_DIR
    try:
        paths = [p for p in folder.iterdir() if p.suffix == ".jsonl" and p.is_file()]
    except OSError:
        return []

    def started(path: Path) -> tuple[str, int]:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            mtime = 0
        return _first_ts(path), mtime

    return sorted(paths, key=started, reverse=True)


def list_runs(workspace: Path, limit: int | None) -> list[RunSummary]:
    paths = trace_files(workspace)
    return [summarize(p) for p in (paths if limit is None else paths[:limit])]


def resolve(workspace: Path, ref: str) -> Path:
    """The trace that ``ref`` means: ``last`` (= ``-1``), ``-N`` (the Nth newest run), a run id,
    or a path to a ``.jsonl`` file (absolute, or relative to the current directory)."""
    if ref == "last" or (ref.startswith("-") and ref[1:].isdigit()):
        back = 1 if ref == "last" else int(ref[1:])
        paths = trace_files(workspace)
        if not paths:
            raise NoSuchRun(f"no runs yet in {workspace} (no traces in {workspace / RUNS_DIR})")
        if back < 1 or back > len(paths):
            raise NoSuchRun(f"no run {ref} in {workspace / RUNS_DIR} (it has {len(paths)})")
        return paths[back - 1]
    if ref.endswith(".jsonl") or os.sep in ref:
        path = Path(os.path.abspath(ref))
        if not path.is_file():
            raise NoSuchRun(f"no trace at {path}")
        return path
    from engine.errors import TraceError
    from engine.trace import trace_path  # the one rule for what a run id may be

    try:
        path = trace_path(workspace, ref)
    except TraceError as exc:
        raise NoSuchRun(str(exc).removeprefix("runId: ")) from None
    if not path.is_file():
        raise NoSuchRun(f"no trace for run {ref!r} in {workspace / RUNS_DIR}")
    return path


def ago(iso: str, now: datetime | None = None) -> str:
    """``12 s ago``, ``5 min ago``, ``3 h ago``, else the date: when a run started."""
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        return then.astimezone().strftime("%Y-%m-%d %H:%M")
    for unit, size in (("s", 1), ("min", 60), ("h", 3600)):
        if seconds < size * (60 if unit != "h" else 24):
            return f"{seconds // size} {unit} ago"
    return then.astimezone().strftime("%Y-%m-%d %H:%M")
