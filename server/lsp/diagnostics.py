"""Trace diagnostics: a finished run as LSP diagnostics, usable in any editor without custom UI.

- On the trace file (``.agent/runs/<runId>.jsonl``): one diagnostic per step at the line of its
  ``step.finished`` record. Error for failed/timedOut, Warning for denied/rejected/skipped/
  cancelled, Hint for succeeded; ``source`` is ``agent``.
- On workspace files: the ``path:line[:col]: message`` lines in a failed step's output.

Every diagnostic carries ``data: {"runId", "stepId", "workspace"}`` so that code actions can act
on its step. Diagnostics are kept per (workspace, goal): when the same goal runs again there, the
previous run's diagnostics are replaced (old URIs get an empty list). A URI shared by several goals
gets the union of theirs, so one goal's run never wipes another's findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.models import RunResult, StepResult

SOURCE = "agent"
ERROR, WARNING, HINT = 1, 2, 4  # LSP DiagnosticSeverity
SEVERITY = {
    "failed": ERROR,
    "timedOut": ERROR,
    "denied": WARNING,
    "rejected": WARNING,
    "skipped": WARNING,
    "cancelled": WARNING,
    "succeeded": HINT,
}
FAILED = ("failed", "timedOut")
# `src/a.py:3:1: boom`, `/abs/x.c:10: error: ...`; the path has no colon and no leading blank.
LOCATION = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<msg>.*\S)")
MAX_SOURCE_DIAGNOSTICS = 500  # per run: a runaway log must not flood the editor

Diagnostic = dict[str, Any]
Key = tuple[Path, str]  # (workspace, goal)


def line_range(line: int, col: int = 0) -> dict[str, Any]:
    """From ``col`` to the end of ``line`` (exclusive start of the next line)."""
    return {"start": {"line": line, "character": col}, "end": {"line": line + 1, "character": 0}}


def _step_message(step: StepResult) -> str:
    message = f"step {step.id} {step.status}: {step.line}"
    if step.exit_code is not None and step.status != "succeeded":
        message += f" (exit code {step.exit_code})"
    first_error = next((ln for ln in step.stderr.splitlines() if ln.strip()), "")
    if step.status in FAILED and first_error:
        message += f"\n{first_error}"
    return message


def _data(workspace: Path, run_id: str, step: StepResult) -> dict[str, str]:
    return {"runId": run_id, "stepId": step.id, "workspace": str(workspace)}


def trace_diagnostics(
    workspace: Path, run_id: str, finished_lines: Mapping[str, int], steps: Iterable[StepResult]
) -> list[Diagnostic]:
    """One diagnostic per step, at the 0-based line of its ``step.finished`` record."""
    diagnostics = []
    for step in steps:
        line = finished_lines.get(step.id)
        severity = SEVERITY.get(step.status)
        if line is None or severity is None:
            continue
        diagnostics.append(
            {
                "range": line_range(line),
                "message": _step_message(step),
                "severity": severity,
                "source": SOURCE,
                "code": step.status,
                "data": _data(workspace, run_id, step),
            }
        )
    return diagnostics


def source_diagnostics(
    workspace: Path, run_id: str, steps: Iterable[StepResult]
) -> dict[str, list[Diagnostic]]:
    """``path:line[:col]: message`` lines of failed steps' output, on files of the workspace."""
    found: dict[str, list[Diagnostic]] = {}
    count = 0
    for step in steps:
        if step.status not in FAILED:
            continue
        for text in (step.stdout, step.stderr):
            for out_line in text.splitlines():
                match = LOCATION.match(out_line.strip())
                if match is None or count >= MAX_SOURCE_DIAGNOSTICS:
                    continue
                uri = _workspace_file_uri(workspace, match["path"])
                if uri is None:
                    continue
                line = max(int(match["line"]) - 1, 0)
                col = max(int(match["col"]) - 1, 0) if match["col"] else 0
                found.setdefault(uri, []).append(
                    {
                        "range": line_range(line, col),
                        "message": f"{match['msg']} (step {step.id}: {step.line})",
                        "severity": ERROR,
                        "source": SOURCE,
                        "data": _data(workspace, run_id, step),
                    }
                )
                count += 1
    return found


def _workspace_file_uri(workspace: Path, raw: str) -> str | None:
    """The URI of ``raw`` (relative to the workspace, or absolute inside it) when it names a file
    in the workspace: containment on real paths, the URI under the workspace path the client
    gave (which may be a symlink the editor opened it through)."""
    try:
        real_workspace = workspace.resolve()
        real = (workspace / raw).resolve()  # an absolute `raw` replaces the workspace part
        inside = real.relative_to(real_workspace)
    except (OSError, ValueError):
        return None
    return (workspace / inside).as_uri() if real.is_file() else None


class DiagnosticsPublisher:
    """Publishes a run's diagnostics and replaces the previous run's of the same goal."""

    def __init__(self, publish: Callable[[str, list[Diagnostic]], None]) -> None:
        self._publish = publish
        self._by_key: dict[Key, dict[str, list[Diagnostic]]] = {}

    def run_finished(
        self, workspace: Path, result: RunResult, finished_lines: Mapping[str, int]
    ) -> None:
        current: dict[str, list[Diagnostic]] = {}
        if finished_lines:
            trace_uri = (workspace / result.trace).as_uri()
            current[trace_uri] = trace_diagnostics(
                workspace, result.run_id, finished_lines, result.results
            )
        for uri, diagnostics in source_diagnostics(
            workspace, result.run_id, result.results
        ).items():
            current.setdefault(uri, []).extend(diagnostics)
        key = (workspace, result.goal)
        previous = self._by_key.get(key, {})
        self._by_key[key] = current
        for uri in [*previous, *(u for u in current if u not in previous)]:
            merged = [d for per_uri in self._by_key.values() for d in per_uri.get(uri, [])]
            self._publish(uri, merged)
