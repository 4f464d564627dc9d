"""`agentd trace`: one run from its trace, in words: what each step did (command or path, status,
exit code, duration, how its approval was settled, its output), the outcome, and whether the hash
chain holds. ``records=True`` adds the record-by-record audit listing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from server.cli.words import (
    APPROVAL_TIMEOUT_SETTING,
    STEP_TIMEOUT_SETTING,
    TAIL_LINES,
    StepFacts,
    duration,
    output_lines,
    plural,
    step_line,
    step_text,
    summary_lines,
    time_limit,
)

Record = dict[str, Any]


def approval_words(record: Mapping[str, Any]) -> str:
    """How an ``approval.resolved`` record settled its step, in words."""
    allowed, by, option = record.get("allowed"), record.get("by"), record.get("optionId")
    if by == "user":
        words = "approved by you (once)" if allowed else "rejected by you"
        if option == ("allow_always" if allowed else "reject_always"):
            words = "approved by you (always)" if allowed else "rejected by you (always)"
        saved = record.get("saved") or []
        return words + (f"; saved {'; '.join(map(str, saved))}" if saved else "")
    words = {
        "session": "you chose always for this command earlier",
        "policy": "a rule saved since the plan (an always answer)",
        "run": "the run's approval setting",
        "timeout": f"no answer within the approval time limit ({APPROVAL_TIMEOUT_SETTING})",
        "dismissed": "the prompt was closed without a choice (no terminal to ask?)",
        "unavailable": "nobody could be asked",
        "cancelled": "the run was cancelled while it waited",
        "error": "the answer to the prompt was not valid",
    }.get(str(by), str(record.get("detail") or by))
    return ("approved: " if allowed else "rejected: ") + words


def _limit_words(step_id: str, timeout_ms: Any, plan: Mapping[str, Record], params: Record) -> str:
    """Which limit a timed-out step hit, from the trace: its own, the run's, or the setting."""
    if (plan.get(step_id) or {}).get("timeoutMs"):
        source = "the step's own timeoutMs"
    elif params.get("stepTimeoutMs"):
        source = "the run's stepTimeoutMs (--timeout-ms)"
    else:
        source = f"the setting {STEP_TIMEOUT_SETTING} (or --timeout-ms)"
    return time_limit(int(timeout_ms), source) if timeout_ms else f"at the limit of {source}"


def trace_view(
    path: Path,
    records: list[Record],
    problems: list[str],
    *,
    truncated: bool,
    complete: bool,
    marks: dict[str, str],
    full_output: bool = False,
    show_records: bool = False,
    signature: Signature | None = None,
) -> str:
    """A trace in words: header, steps with their output, outcome, the verdict on the chain."""
    started = next((r for r in records if r.get("type") == "run.started"), {})
    created = next((r for r in records if r.get("type") == "plan.created"), {})
    finished = next((r for r in records if r.get("type") == "run.finished"), None)
    workspace = Path(str(started.get("workspace") or path.parent.parent.parent))
    plan = {str(s.get("id")): s for s in created.get("steps") or []}
    params = started.get("params") or {}
    results: dict[str, Record] = {}
    facts = StepFacts()
    extras: dict[str, Record] = {}
    for record in records:
        step_id = str(record.get("stepId"))
        if record.get("type") == "approval.resolved":
            facts.approvals[step_id] = approval_words(record)
        elif record.get("type") == "step.finished" and isinstance(record.get("step"), dict):
            results[step_id] = record["step"]
            extras[step_id] = record
            facts.statuses[step_id] = str(record["step"].get("status"))
            if record["step"].get("status") == "timedOut":
                limit = _limit_words(step_id, record.get("timeoutMs"), plan, params)
                facts.limits[step_id] = limit
    run_id = str(started.get("runId") or path.stem)
    lines = [f"Run {run_id}: {started.get('goal', '?')} (planner {created.get('planner', '?')})"]
    lines.append(f"  workspace {workspace}")
    took = ", did not finish"
    if finished is not None:
        took = f", took {duration(finished.get('durationMs') or 0)}"
    lines.append(f"  started {started.get('ts', '?')}{took}")
    tail = 0 if full_output else TAIL_LINES
    for step_id, planned in plan.items():
        step = results.get(step_id)
        if step is None:  # the run stopped (its server was killed) before this step ended
            lines.append(f"{marks['']} {step_id} {step_text(planned)} (never finished)")
            continue
        lines.append(step_line(step, marks, facts))
        for stream, line in output_lines(step, marks["more"], verbose=full_output, lines=tail):
            lines.append(f"    {'|' if stream == 'stdout' else '!'} {line}")
        for stream, rel in (extras[step_id].get("spilled") or {}).items():
            lines.append(f"      all of its {stream}: {workspace / rel}")
    if finished is not None:
        result = {
            "runId": run_id,
            "status": finished.get("status"),
            "bits": finished.get("bits"),
            "results": list(results.values()),
        }
        lines.extend(summary_lines(result, str(path))[:1])
    if show_records:
        lines.extend(_record_line(r) for r in records)
    lines.append(f"Trace: {path}")
    lines.extend(_verdict(records, problems, truncated=truncated, complete=complete, marks=marks))
    if signature is not None and not problems and records:
        lines.append(f"{marks[_SIGNATURES[signature][0]]} {_SIGNATURES[signature][1]}")
    return "\n".join(lines)


Signature = Literal["keyed", "unkeyed", "unchecked"]
_SIGNATURES: dict[Signature, tuple[str, str]] = {  # who wrote it: (mark, words)
    "keyed": ("succeeded", "written by this user's agentd (every record keyed)"),
    "unkeyed": ("failed", "not keyed: an older agentd wrote it, or someone rewrote it whole"),
    "unchecked": ("", "keyed, but there is no trace key here to check it with"),
}


def _verdict(
    records: list[Record], problems: list[str], *, truncated: bool, complete: bool, marks: Any
) -> list[str]:
    if problems:
        verdict = [f"{marks['failed']} hash chain BROKEN:", *(f"  {p}" for p in problems)]
    else:
        verdict = [f"{marks['succeeded']} hash chain verified ({plural(len(records), 'record')})"]
    if truncated:
        verdict.append(f"{marks['failed']} cut short: the writer stopped mid-record")
    elif not problems and not complete:
        verdict.append(f"{marks['failed']} incomplete: the run did not finish (no run.finished)")
    return verdict


def _record_line(record: Record, width: int = 100) -> str:
    """One record of the audit listing: ``seq ts type key=value ...``."""
    parts: list[str] = []
    for key, value in record.items():
        if key in ("seq", "ts", "type", "prev"):
            continue
        if key == "step" and isinstance(value, dict):
            parts.append(f"status={value.get('status')} exit={value.get('exitCode')}")
        elif key == "steps" and isinstance(value, list):
            parts.append(f"steps={len(value)}")
        elif isinstance(value, dict | list):
            parts.append(f"{key}={json.dumps(value, ensure_ascii=False, separators=(',', ':'))}")
        else:
            parts.append(f"{key}={value}")
    text = " ".join(parts)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return (
        f"{record.get('seq', '?'):>4}  {record.get('ts', '')}  {record.get('type', ''):<19} {text}"
    )
