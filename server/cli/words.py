"""The wire's values in words for people: statuses, durations, time limits, trust, step lines.

One place for every phrase the terminal shows about a run, so the live view, the plain lines and
`agentd trace` say the same thing the same way. JSON output keeps the wire's own names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from server.cli.client import JsonValue

# The final step statuses of docs/protocol.md, restated so the CLI need not import the engine.
FINAL = frozenset(
    ["succeeded", "failed", "timedOut", "cancelled", "denied", "rejected", "skipped", "planned"]
)
STATUS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timedOut": "timed out",
    "cancelled": "cancelled",
    "denied": "denied by the gate",
    "rejected": "rejected",
    "skipped": "skipped",
    "planned": "planned",
    "pending": "waiting to start",
    "awaitingApproval": "waiting for approval",
    "running": "running",
}
# How a step that others wait for ended, as said of it: "skipped because s2 failed".
_ENDED = {
    "failed": "failed",
    "timedOut": "timed out",
    "cancelled": "was cancelled",
    "denied": "was denied by the gate",
    "rejected": "was rejected",
    "skipped": "was skipped",
}
RUN_STATUS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "was cancelled",
    "planned": "planned (dry run, nothing ran)",
}
TAIL_LINES = 20
STEP_TIMEOUT_SETTING = "agent.stepTimeoutMs"
APPROVAL_TIMEOUT_SETTING = "agent.approvalTimeoutMs"

# Status marks ("" for any other status), "more" before an output tail, "out"/"err" the gutters
# of a step's stdout and stderr lines.
_MARKS = {
    "succeeded": "✓",
    "failed": "✗",
    "timedOut": "✗",
    "planned": "·",
    "": "⊘",
    "more": "…",
    "out": "│",
    "err": "!",
}
_ASCII = {
    "succeeded": "+",
    "failed": "x",
    "timedOut": "x",
    "planned": ".",
    "": "-",
    "more": "...",
    "out": "|",
    "err": "!",
}


def marks_for(stream: TextIO) -> dict[str, str]:
    """Status marks: check marks where the stream can show them, ASCII otherwise."""
    try:
        "".join(_MARKS.values()).encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return dict(_ASCII)
    return dict(_MARKS)


def plural(count: int, noun: str) -> str:
    """``1 step``, ``2 steps``: every count the CLI prints agrees with its noun."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def duration(ms: int | float) -> str:
    """``7 ms``, ``1.5 s``, ``2 min 5 s``, ``1 h 2 min``: a wall time or a limit, at a glance."""
    ms = int(ms)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}".removesuffix(".0") + " s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


@dataclass(slots=True)
class StepFacts:
    """What a step's line says beyond the step itself, from the rest of the run (or its trace)."""

    statuses: dict[str, str] = field(default_factory=dict)  # step id -> its latest status
    approvals: dict[str, str] = field(default_factory=dict)  # step id -> how its ask was settled
    limits: dict[str, str] = field(default_factory=dict)  # step id -> its time limit, in words


def step_text(step: Mapping[str, JsonValue]) -> str:
    """What a step does: its command, or ``write PATH``."""
    return str(step.get("cmd")) if step.get("kind") == "runCli" else f"write {step.get('path')}"


def step_line(
    step: Mapping[str, JsonValue], marks: Mapping[str, str], facts: StepFacts | None = None
) -> str:
    """``✓ s1 echo hi (succeeded, 3 ms)``: one finished (or planned) step, in words."""
    facts = facts or StepFacts()
    step_id, status = str(step.get("id")), str(step.get("status", ""))
    mark = marks.get(status, marks[""])
    return f"{mark} {step_id} {step_text(step)} ({', '.join(_details(step, status, facts))})"


def _details(step: Mapping[str, JsonValue], status: str, facts: StepFacts) -> list[str]:
    step_id = str(step.get("id"))
    risk = step.get("risk") or {}
    level = str(risk.get("level", "unknown"))
    reasons = "; ".join(str(r) for r in risk.get("reasons") or [])
    decision = step.get("decision")
    if status == "planned":
        verdict = {"deny": "would be denied", "ask": "would ask for approval"}
        first = verdict.get(str(decision), "would run")
    elif status == "failed" and step.get("exitCode") is not None:
        first = f"failed with exit code {step['exitCode']}"
    elif status == "timedOut":
        first = f"timed out {facts.limits.get(step_id, 'at its time limit')}"
    elif status == "skipped":
        first = "skipped: " + waited_for(step, facts.statuses)
    elif status == "rejected":
        first = facts.approvals.get(step_id, "rejected")
    else:
        first = STATUS.get(status, status)
    details = [first]
    took = int(step.get("durationMs") or 0)
    if status not in ("planned", "skipped", "denied", "rejected") and (
        took or status != "cancelled"
    ):
        details.append(duration(took))  # a step cancelled before it started took no time
    # Risk matters where the gate did more than allow, and on a dry run (that is what it shows).
    if status in ("planned", "denied") or level != "low":
        details.append(f"risk {level}" + (f": {reasons}" if reasons else ""))
    if status != "rejected" and step_id in facts.approvals:
        details.append(facts.approvals[step_id])
    return details


def waited_for(step: Mapping[str, JsonValue], statuses: Mapping[str, str]) -> str:
    """Why a skipped step did not run: ``waited for s2, which failed``."""
    after = [str(a) for a in step.get("after") or []]
    ended = [
        f"{a}, which {_ENDED.get(statuses.get(a, ''), 'did not succeed')}"
        for a in after
        if statuses.get(a) != "succeeded"
    ]
    return "waited for " + (" and ".join(ended) or " and ".join(after) or "a step that failed")


def time_limit(ms: int, source: str) -> str:
    """``at the 300 ms limit of --timeout-ms``: the limit a step hit and where it is set."""
    return f"at the {duration(ms)} limit of {source}"


def trust_phrase(result: Mapping[str, JsonValue]) -> str:
    """``trust 0.9: 4 of 4 steps succeeded``: what the trust figure is made of."""
    results = result.get("results") or []
    ok = sum(1 for r in results if r.get("status") == "succeeded")
    trust = (result.get("bits") or {}).get("t")
    return f"trust {trust}: {ok} of {plural(len(results), 'step')} succeeded"


def summary_lines(result: Mapping[str, JsonValue], trace: str) -> list[str]:
    """The end of a run: its id, outcome and trust in words, then where its trace is."""
    results = result.get("results") or []
    status = str(result.get("status"))
    head = f"Run {result.get('runId')} {RUN_STATUS.get(status, status)}"
    if status == "planned":
        counts: dict[str, int] = {}
        for r in results:
            counts[str(r.get("decision"))] = counts.get(str(r.get("decision")), 0) + 1
        parts = [plural(len(results), "step")]
        if counts.get("ask"):
            parts.append(f"{counts['ask']} would ask for approval")
        if counts.get("deny"):
            parts.append(f"{counts['deny']} would be denied")
        first = f"{head}: {', '.join(parts)}."
    else:
        others: dict[str, int] = {}
        for r in results:
            if r.get("status") != "succeeded":
                word = STATUS.get(str(r.get("status")), str(r.get("status")))
                others[word] = others.get(word, 0) + 1
        breakdown = ", ".join(f"{n} {word}" for word, n in others.items())
        first = f"{head}, {trust_phrase(result)}" + (f" ({breakdown})." if breakdown else ".")
    return [first, f"Trace: {trace}"]


def output_tail(text: str, more: str, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of ``text``, after a ``… N more lines`` note if there were more."""
    if not text.strip():
        return []
    every = text.rstrip("\n").splitlines()
    if lines <= 0:
        return every
    hidden = len(every) - lines
    return ([f"{more} {plural(hidden, 'more line')}"] if hidden > 0 else []) + every[-lines:]


def step_output(
    step: Mapping[str, JsonValue], *, verbose: bool, lines: int = TAIL_LINES
) -> list[tuple[str, str]]:
    """The streams to show under a finished step's line, as ``(stream, text)`` pairs: stdout then
    stderr of a step that ran (a failure explains itself on stderr, a success may warn there, a
    cancelled step shows what it printed so far); nothing for a step that never ran."""
    status = step.get("status")
    if not verbose and status not in ("succeeded", "failed", "timedOut", "cancelled"):
        return []
    return [(s, str(step.get(s) or "")) for s in ("stdout", "stderr") if str(step.get(s) or "")]


def output_lines(
    step: Mapping[str, JsonValue], more: str, *, verbose: bool, lines: int = TAIL_LINES
) -> list[tuple[str, str]]:
    """``(stream, line)`` pairs to show under a step: the tail of each stream it printed."""
    return [
        (stream, line)
        for stream, text in step_output(step, verbose=verbose)
        for line in output_tail(text, more, lines)
    ]


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns two spaces apart (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
