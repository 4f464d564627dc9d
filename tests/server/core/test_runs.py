"""What every front-end shares about runs: token routing and the one-line outcome."""

from __future__ import annotations

import pytest

from engine.models import Bits, Risk, RunResult, StepResult
from server.core.runs import RunTokens, TokenInUse, outcome_line


def _result(status: str, statuses: list[str], error: str | None = None) -> RunResult:
    steps = [
        StepResult(id=f"s{i}", kind="runCli", cmd="x", risk=Risk(level="low"),
                   decision="allow", status=s)  # type: ignore[arg-type]
        for i, s in enumerate(statuses)
    ]  # fmt: skip
    return RunResult(run_id="r", goal="g", planner="stub", status=status,  # type: ignore[arg-type]
                     steps=["x"] * len(steps), stdout="", deliverables=[], bits=Bits(t=0.45),
                     results=steps, trace="t", error=error)  # fmt: skip


def test_outcome_lines() -> None:
    assert outcome_line(_result("planned", ["planned", "planned"])) == "planned: 2 steps"
    assert outcome_line(_result("planned", ["planned"])) == "planned: 1 step"
    failed = _result("failed", ["succeeded", "failed"])
    assert outcome_line(failed) == "failed: 1/2 steps succeeded, trust 0.45"
    broken = _result("failed", ["succeeded", "cancelled"], error="cannot write the trace")
    assert outcome_line(broken).endswith("(cannot write the trace)")


def test_tokens_route_cancellation_to_their_run() -> None:
    cancelled: list[str] = []

    def cancel(run_id: str) -> bool:
        cancelled.append(run_id)
        return True

    tokens = RunTokens(cancel)
    tokens.bind("tok", "run-1")
    tokens.bind(None, "run-2")  # a run without progress has no token
    with pytest.raises(TokenInUse, match="workDoneToken: 'tok' is in use"):
        tokens.check_free("tok")
    tokens.cancel("other")
    tokens.cancel("tok")
    assert cancelled == ["run-1"]
    tokens.release("tok")
    tokens.check_free("tok")
