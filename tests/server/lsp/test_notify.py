"""A run's events as notifications: plain dicts that the models (the schema) accept, built without
imports or pydantic on the hot path."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

from engine.events import Event, OutputDelta, PlanReady, RunFinished, RunStarted, StepUpdated
from engine.models import Bits, Risk, RunResult, StepResult, WireModel
from engine.notifications import (
    OutputDeltaParams,
    PlanReadyParams,
    RunStartedParams,
    StepUpdatedParams,
)
from server import wire
from server.lsp.notify import RunNotifier

SCHEMA: dict[str, type[WireModel]] = {
    wire.RUN_STARTED: RunStartedParams,
    wire.PLAN_READY: PlanReadyParams,
    wire.STEP_UPDATED: StepUpdatedParams,
    wire.OUTPUT_DELTA: OutputDeltaParams,
}


class Session:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.sent.append((method, params))


class Progress:
    token = "tok"

    def __init__(self) -> None:
        self.reports: list[tuple[str, int | None]] = []

    def report(self, message: str, percentage: int | None = None) -> None:
        self.reports.append((message, percentage))


class Clear:
    congested = False

    def when_clear(self, callback: Any) -> None:
        callback()


async def test_events_become_valid_notifications_without_imports() -> None:
    session, progress = Session(), Progress()
    notifier = RunNotifier(session, progress, Clear())  # type: ignore[arg-type]
    step = StepResult(id="s1", kind="runCli", cmd="echo", risk=Risk(level="low"), decision="allow",
                      status="running")  # fmt: skip
    done = step.model_copy(update={"status": "succeeded", "stdout": "hi\n"})
    result = RunResult(run_id="r", goal="explicit", planner="explicit", status="succeeded",
                       steps=["echo"], stdout="hi\n", deliverables=[], bits=Bits(t=0.9),
                       results=[done], trace="t")  # fmt: skip
    run_events: list[Event] = [
        RunStarted("r", "explicit", Path()),
        PlanReady("r", "explicit", [step]),
        StepUpdated("r", step),
        OutputDelta("r", "s1", "stdout", "hi\n"),
        StepUpdated("r", done),
        RunFinished("r", result, {"s1": 4}),
    ]
    real_import = __import__
    imported: list[str] = []

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return real_import(name, *args, **kwargs)

    with patch("builtins.__import__", spy):
        for event in run_events:
            notifier.on_event(event)
    assert imported == []
    methods = [method for method, _ in session.sent]
    assert methods == [
        wire.RUN_STARTED, wire.PLAN_READY, wire.STEP_UPDATED, wire.OUTPUT_DELTA, wire.STEP_UPDATED
    ]  # fmt: skip
    for method, params in session.sent:  # the hand-built dicts are exactly what the schema says
        model = SCHEMA[method]
        assert model.model_validate(params, by_alias=True, by_name=False).wire() == params
    assert session.sent[3][1] == {"runId": "r", "stepId": "s1", "stream": "stdout", "text": "hi\n"}
    assert session.sent[4][1]["step"]["stdout"] == "hi\n"
    assert progress.reports[-1] == ("1/1: s1 succeeded", 100)
    assert notifier.finished_lines == {"s1": 4}
