"""One run's events as the client hears them: ``agent/runStarted``, ``agent/planReady``,
``agent/stepUpdated``, coalesced ``agent/outputDelta`` and ``$/progress`` reports.

This is the hot path of a run (three or more messages per step): params are plain dicts built from
the engine's objects by hand and serialized once (no pydantic or cattrs per message; the models in
``engine.models`` stay the schema, and the tests validate every message against them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from engine import events
from engine.vocab import FINAL_STEP_STATUSES, Stream
from server import wire
from server.core.output import Backpressure, OutputCoalescer

if TYPE_CHECKING:
    from engine.models import RunResult, StepResult
    from server.lsp.progress import RunProgress


class Notifier(Protocol):
    def notify(self, method: str, params: dict[str, Any]) -> None: ...


class RunNotifier:
    """The engine listener of one run (synchronous, never blocks: messages are only queued)."""

    def __init__(
        self,
        session: Notifier,
        progress: RunProgress,
        backpressure: Backpressure,
        *,
        dry_run: bool = False,
    ) -> None:
        self._session = session
        self._dry_run = dry_run
        self.progress = progress
        self.run_id = ""
        self.total = 0
        self.finished_steps = 0
        self.result: RunResult | None = None  # from RunFinished, also when cancelled
        self.finished_lines: dict[str, int] = {}  # step id -> line of its step.finished record
        self.output = OutputCoalescer(self._send_output, backpressure=backpressure)

    def _send_output(self, step_id: str, stream: Stream, text: str) -> None:
        self._session.notify(
            wire.OUTPUT_DELTA,
            {"runId": self.run_id, "stepId": step_id, "stream": stream, "text": text},
        )

    def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.OutputDelta):
            self.output.add(event.step_id, event.stream, event.text)
        elif isinstance(event, events.StepUpdated):
            self._step_updated(event.step)
        elif isinstance(event, events.RunStarted):
            self.run_id = event.run_id
            started = {
                "runId": event.run_id,
                "goal": event.goal,
                "workDoneToken": self.progress.token,
                "workspace": str(event.workspace),
                "dryRun": self._dry_run,
            }
            self._session.notify(wire.RUN_STARTED, started)
        elif isinstance(event, events.PlanReady):
            self.total += len(event.steps)  # a model planner's later rounds add steps
            steps = [step.wire() for step in event.steps]
            plan = {
                "runId": event.run_id,
                "planner": event.planner,
                "steps": steps,
                "round": event.round,
            }
            self._session.notify(wire.PLAN_READY, plan)
            planned = f"planned {len(event.steps)} step(s) with {event.planner}"
            if event.round > 1:
                planned += f" (round {event.round})"
            percentage = int(100 * self.finished_steps / self.total) if self.total else 0
            self.progress.report(planned, percentage)
        elif isinstance(event, events.RunFinished):
            self.result = event.result
            self.finished_lines = event.finished_lines
            self.output.close()

    def _step_updated(self, step: StepResult) -> None:
        final = step.status in FINAL_STEP_STATUSES
        if final:
            self.output.finish_step(step.id)  # its deltas come before its final status
        self._session.notify(wire.STEP_UPDATED, {"runId": self.run_id, "step": step.wire()})
        if final and step.status != "planned":
            self.finished_steps += 1
            percentage = int(100 * self.finished_steps / self.total) if self.total else 100
            self.progress.report(
                f"{self.finished_steps}/{self.total}: {step.id} {step.status}", percentage
            )
        elif step.status == "awaitingApproval":
            self.progress.report(f"{step.id} awaits approval: {step.line}")

    async def end(self, outcome: str) -> None:
        self.output.close()
        await self.progress.end(outcome)
