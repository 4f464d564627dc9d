"""The terminal's words alone: step lines, summaries, trust, durations, time limits, output tails,
and the plain renderer holding its output while a prompt is open."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.cli.history import ago
from server.cli.render import PlainRenderer
from server.cli.traceview import approval_words
from server.cli.words import (
    StepFacts,
    duration,
    marks_for,
    output_tail,
    step_line,
    summary_lines,
    time_limit,
)

ASCII = marks_for(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
UTF8 = marks_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))


def _step(status: str, **extra: Any) -> dict[str, Any]:
    risk = {"level": "high", "reasons": ["deletes files"]}
    return {"id": "s1", "kind": "runCli", "cmd": "rm -f x", "risk": risk, "decision": "ask"} | {
        "status": status,
        "durationMs": 7,
        **extra,
    }


def _low(step_id: str, status: str, **extra: Any) -> dict[str, Any]:
    low = {"level": "low", "reasons": ["echo: reads only (low)"]}
    step = {"id": step_id, "kind": "runCli", "cmd": "echo hi", "risk": low, "decision": "allow"}
    return step | {"status": status, "durationMs": 1500} | extra


@pytest.mark.parametrize(
    ("ms", "words"),
    [
        (0, "0 ms"),
        (999, "999 ms"),
        (1000, "1 s"),
        (1500, "1.5 s"),
        (60_000, "1 min"),
        (125_000, "2 min 5 s"),
        (600_000, "10 min"),
        (3_720_000, "1 h 2 min"),
    ],
)
def test_durations_read_at_a_glance(ms: int, words: str) -> None:
    assert duration(ms) == words


def test_step_lines_say_what_happened_in_english() -> None:
    assert step_line(_step("failed", exitCode=2), UTF8) == (
        "✗ s1 rm -f x (failed with exit code 2, 7 ms, risk high: deletes files)"
    )
    assert (
        step_line(_low("s1", "succeeded"), ASCII) == "+ s1 echo hi (succeeded, 1.5 s)"
    )  # low: quiet
    facts = StepFacts(limits={"s1": time_limit(300, "--timeout-ms")})
    assert step_line(_low("s1", "timedOut"), ASCII, facts) == (
        "x s1 echo hi (timed out at the 300 ms limit of --timeout-ms, 1.5 s)"
    )
    assert "timedOut" not in step_line(_low("s1", "timedOut"), ASCII)  # no limit known: words
    denied = _step("denied", decision="deny", durationMs=0)
    assert step_line(denied, ASCII) == "- s1 rm -f x (denied by the gate, risk high: deletes files)"
    facts = StepFacts(approvals={"s1": "rejected by you"})
    assert step_line(_step("rejected"), ASCII, facts).startswith("- s1 rm -f x (rejected by you,")
    facts = StepFacts(approvals={"s1": "approved by you (once)"})
    assert step_line(_step("succeeded"), ASCII, facts).endswith("approved by you (once))")
    cancelled_early = _low("s1", "cancelled", durationMs=0)
    assert step_line(cancelled_early, ASCII) == "- s1 echo hi (cancelled)"
    write = {"id": "s2", "kind": "writeFile", "path": "out/a", "risk": {"level": "low"}}
    assert step_line(write | {"status": "succeeded", "durationMs": 3}, ASCII) == (
        "+ s2 write out/a (succeeded, 3 ms)"
    )


def test_skipped_steps_name_the_steps_they_waited_for() -> None:
    skipped = _low("s3", "skipped", after=["s1", "s2"])
    facts = StepFacts(statuses={"s1": "succeeded", "s2": "timedOut"})
    assert step_line(skipped, ASCII, facts) == (
        "- s3 echo hi (skipped: waited for s2, which timed out)"
    )
    facts = StepFacts(statuses={"s1": "rejected", "s2": "failed"})
    assert "waited for s1, which was rejected and s2, which failed" in step_line(
        skipped, ASCII, facts
    )
    assert "waited for s1, which did not succeed" in step_line(
        _low("s3", "skipped", after=["s1"]), ASCII
    )


def test_a_dry_run_says_what_each_step_would_do() -> None:
    planned = _step("planned", durationMs=0)
    assert step_line(planned, ASCII) == (
        ". s1 rm -f x (would ask for approval, risk high: deletes files)"
    )
    assert "(would run, risk low: echo: reads only (low))" in step_line(
        _low("s1", "planned"), ASCII
    )
    assert "would be denied" in step_line(planned | {"decision": "deny"}, ASCII)


def test_summaries_name_the_run_its_trust_and_its_trace() -> None:
    base = {"runId": "r1", "bits": {"t": 0.3}}
    results = [_low("s1", "succeeded"), _low("s2", "failed"), _low("s3", "skipped")]
    assert summary_lines(base | {"status": "failed", "results": results}, "/w/t.jsonl") == [
        "Run r1 failed, trust 0.3: 1 of 3 steps succeeded (1 failed, 1 skipped).",
        "Trace: /w/t.jsonl",
    ]
    done = base | {"status": "succeeded", "bits": {"t": 0.9}, "results": [_low("s1", "succeeded")]}
    assert summary_lines(done, "t")[0] == "Run r1 succeeded, trust 0.9: 1 of 1 step succeeded."
    cancelled = base | {"status": "cancelled", "results": [_low("s1", "cancelled")]}
    assert summary_lines(cancelled, "t")[0].startswith("Run r1 was cancelled, trust 0.3: 0 of 1")
    planned = [_step("planned"), _step("planned", decision="deny"), _low("s3", "planned")]
    assert summary_lines(base | {"status": "planned", "results": planned}, "t")[0] == (
        "Run r1 planned (dry run, nothing ran): 3 steps, 1 would ask for approval, "
        "1 would be denied."
    )


def test_output_tails_count_what_they_leave_out() -> None:
    assert output_tail("a\nb\n", "...", lines=1) == ["... 1 more line", "b"]
    assert output_tail("a\nb\nc\n", "...", lines=1) == ["... 2 more lines", "c"]
    assert output_tail("a\nb\nc\n", "...", lines=0) == ["a", "b", "c"]  # 0: all of it
    assert output_tail("  \n", "...") == []


def test_plain_output_shows_stdout_then_stderr_of_steps_that_ran() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out=out, workspace=Path("/w"))
    renderer.run_started({"runId": "r1"})
    stdout = "".join(f"line {n}\n" for n in range(1, 51))
    renderer.step(_low("s1", "succeeded", stdout=stdout, stderr="a warning\n"))
    renderer.step(_low("s2", "cancelled", stdout="so far\n"))  # what it printed before the stop
    renderer.step(_low("s3", "skipped", after=["s2"], stderr="skipped: s2 did not succeed\n"))
    renderer.step(_low("s4", "succeeded", truncated=True, stdout="x\n"))
    lines = out.getvalue().splitlines()
    assert lines[0] == "+ s1 echo hi (succeeded, 1.5 s)"
    assert lines[1] == "    | ... 30 more lines"  # ASCII marks: a StringIO has no encoding
    assert lines[2:22] == [f"    | line {n}" for n in range(31, 51)]
    assert lines[22] == "    ! a warning"  # a succeeded step's stderr is shown too
    assert lines[23:25] == ["- s2 echo hi (cancelled, 1.5 s)", "    | so far"]
    assert lines[25] == "- s3 echo hi (skipped: waited for s2, which was cancelled)"  # no output
    assert lines[26:] == [
        "+ s4 echo hi (succeeded, 1.5 s)",
        "    | x",
        "      output cut at the capture limit; all of it is in /w/.agent/runs/r1/",
    ]


def test_plain_output_waits_while_a_prompt_is_open() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out=out)
    with renderer.paused():
        renderer.step(_low("s2", "succeeded", stdout="parallel\n"))
        assert out.getvalue() == ""  # held below the prompt
        renderer.facts.approvals["s1"] = "rejected by you"  # the prompt's answer, meanwhile
        renderer.step(_step("rejected"))
    assert out.getvalue().splitlines() == [
        "+ s2 echo hi (succeeded, 1.5 s)",
        "    | parallel",
        "- s1 rm -f x (rejected by you, risk high: deletes files)",
    ]


def test_approval_outcomes_from_a_trace_in_words() -> None:
    record = {"allowed": True, "by": "user", "optionId": "allow_always"}
    assert approval_words(record) == "approved by you (always)"
    assert approval_words(record | {"allowed": False}) == "rejected by you"
    timeout = approval_words({"allowed": False, "by": "timeout"})
    assert timeout.startswith("rejected: no answer within") and "approvalTimeoutMs" in timeout
    assert approval_words({"allowed": False, "by": "odd", "detail": "why"}) == "rejected: why"


def test_when_a_run_started_relative_to_now() -> None:
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    assert ago("2026-11-29T11:59:48.000Z", now) == "12 s ago"
    assert ago("2026-11-29T11:55:00.000Z", now) == "5 min ago"
    assert ago("2026-11-29T09:00:00.000Z", now) == "3 h ago"
    assert ago("2026-11-20T09:00:00.000Z", now).startswith("2026-11-")
    assert ago("not a time", now) == "?"
