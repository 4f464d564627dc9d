"""Trace diagnostics: a finished run as LSP diagnostics, usable in any editor without custom UI.

- On the trace file (``.agent/runs/<runId>.jsonl``): one diagnostic per step at the line of its
  ``step.finished`` record. Error for failed/timedOut, Warning for denied/rejected/skipped/
  cancelled, Hint for succeeded; ``source`` is ``agent``.
- On workspace files: the ``path:line[:col]: message`` lines in a failed step's output.

Diagnostics are kept per (workspace, goal): when the same goal runs again there, the previous
run's diagnostics are replaced (old URIs get an empty list). A URI shared by several goals gets the
union of theirs, so one goal's run never wipes another's findings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol.types import (
    Diagnostic,
    DiagnosticSeverity,
    Position,
    PublishDiagnosticsParams,
    Range,
)

if TYPE_CHECKING:
    from engine.models import RunResult, StepResult

log = logging.getLogger(__name__)

SOURCE = "agent"
SEVERITY = {
    "failed": DiagnosticSeverity.Error,
    "timedOut": DiagnosticSeverity.Error,
    "denied": DiagnosticSeverity.Warning,
    "rejected": DiagnosticSeverity.Warning,
    "skipped": DiagnosticSeverity.Warning,
    "cancelled": DiagnosticSeverity.Warning,
    "succeeded": DiagnosticSeverity.Hint,
}
FAILED = ("failed", "timedOut")
# `src/a.py:3:1: boom`, `/abs/x.c:10: error: ...`; the path has no colon and no leading blank.
LOCATION = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<msg>.*\S)")
MAX_SOURCE_DIAGNOSTICS = 500  # per run: a runaway log must not flood the editor

Key = tuple[Path, str]  # (workspace, goal)


def _line_range(line: int, col: int = 0) -> Range:
    """From ``col`` to the end of ``line`` (exclusive start of the next line)."""
    return Range(start=Position(line=line, character=col), end=Position(line=line + 1, character=0))


def _step_message(step: StepResult) -> str:
    message = f"step {step.id} {step.status}: {step.line}"
    if step.exit_code is not None and step.status != "succeeded":
        message += f" (exit code {step.exit_code})"
    first_error = next((ln for ln in step.stderr.splitlines() if ln.strip()), "")
    if step.status in FAILED and first_error:
        message += f"\n{first_error}"
    return message


def trace_diagnostics(
    records: list[dict[str, Any]], steps: Iterable[StepResult]
) -> list[Diagnostic]:
    """One diagnostic per step, at the 0-based line of its ``step.finished`` record."""
    finished_at = {
        record.get("stepId"): index
        for index, record in enumerate(records)
        if record.get("type") == "step.finished"
    }
    diagnostics = []
    for step in steps:
        line = finished_at.get(step.id)
        severity = SEVERITY.get(step.status)
        if line is None or severity is None:
            continue
        diagnostics.append(
            Diagnostic(
                range=_line_range(line),
                message=_step_message(step),
                severity=severity,
                source=SOURCE,
                code=step.status,
            )
        )
    return diagnostics


def source_diagnostics(workspace: Path, steps: Iterable[StepResult]) -> dict[str, list[Diagnostic]]:
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
                    Diagnostic(
                        range=_line_range(line, col),
                        message=f"{match['msg']} (step {step.id}: {step.line})",
                        severity=DiagnosticSeverity.Error,
                        source=SOURCE,
                    )
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

    def __init__(self, publish: Callable[[PublishDiagnosticsParams], None]) -> None:
        self._publish = publish
        self._by_key: dict[Key, dict[str, list[Diagnostic]]] = {}

    def run_finished(
        self, workspace: Path, result: RunResult, records: list[dict[str, Any]] | None
    ) -> None:
        current: dict[str, list[Diagnostic]] = {}
        if records is not None:
            trace_uri = (workspace / result.trace).as_uri()
            current[trace_uri] = trace_diagnostics(records, result.results)
        for uri, diagnostics in source_diagnostics(workspace, result.results).items():
            current.setdefault(uri, []).extend(diagnostics)
        key = (workspace, result.goal)
        previous = self._by_key.get(key, {})
        self._by_key[key] = current
        for uri in [*previous, *(u for u in current if u not in previous)]:
            merged = [d for per_uri in self._by_key.values() for d in per_uri.get(uri, [])]
            self._publish(PublishDiagnosticsParams(uri=uri, diagnostics=merged))
