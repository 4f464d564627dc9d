"""agent/runGoal, agent/plan and agent/cancel: start runs, relay their events, answer their results.

One ``RunSession`` per run turns engine events into ``agent/runStarted``, ``agent/planReady``,
``agent/stepUpdated``, coalesced ``agent/outputDelta`` and ``$/progress``. Cancellation routes:
- ``$/cancelRequest`` on the request: the request task is cancelled, ``RunHandle.result`` cancels
  the run and waits for its cleanup, and the request is answered -32800;
- ``window/workDoneProgress/cancel`` on the run's token and ``agent/cancel {runId}``: the run is
  cancelled and the request is answered with its RunResult (status ``cancelled``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol.types import ProgressToken
from pygls.exceptions import JsonRpcInvalidParams

from server.output import OutputCoalescer
from server.progress import RunProgress, progress_token
from server.rpc import validate

if TYPE_CHECKING:
    from engine.events import Event
    from engine.models import RunResult, StepResult
    from engine.run import Engine
    from server.app import AgentServer

log = logging.getLogger(__name__)

RUN_STARTED = "agent/runStarted"
PLAN_READY = "agent/planReady"
STEP_UPDATED = "agent/stepUpdated"
OUTPUT_DELTA = "agent/outputDelta"


class RunSession:
    """The server side of one run: its token, its notifications, its output buffers."""

    def __init__(self, server: AgentServer, progress: RunProgress) -> None:
        self.server = server
        self.progress = progress
        self.run_id = ""
        self.total = 0
        self.finished_steps = 0
        self.result: RunResult | None = None  # from RunFinished, also when the request is cancelled
        self.output = OutputCoalescer(self._send_output)

    def _notify(self, method: str, params: dict[str, Any]) -> None:
        self.server.protocol.notify(method, params)

    def _send_output(self, step_id: str, stream: str, text: str) -> None:
        self._notify(
            OUTPUT_DELTA, {"runId": self.run_id, "stepId": step_id, "stream": stream, "text": text}
        )

    def on_event(self, event: Event) -> None:
        """The engine's listener: synchronous, never blocks (notify only queues bytes)."""
        from engine.events import OutputDelta, PlanReady, RunFinished, RunStarted, StepUpdated

        if isinstance(event, OutputDelta):
            self.output.add(event.step_id, event.stream, event.text)
        elif isinstance(event, StepUpdated):
            self._step_updated(event.step)
        elif isinstance(event, RunStarted):
            self.run_id = event.run_id
            token = self.progress.token
            self._notify(
                RUN_STARTED, {"runId": event.run_id, "goal": event.goal, "workDoneToken": token}
            )
        elif isinstance(event, PlanReady):
            self.total = len(event.steps)
            steps = [step.wire() for step in event.steps]
            self._notify(
                PLAN_READY, {"runId": event.run_id, "planner": event.planner, "steps": steps}
            )
            self.progress.report(f"planned {self.total} step(s) with {event.planner}", 0)
        elif isinstance(event, RunFinished):
            self.result = event.result
            self.output.close()

    def _step_updated(self, step: StepResult) -> None:
        from engine.models import FINAL_STEP_STATUSES

        final = step.status in FINAL_STEP_STATUSES
        if final:
            self.output.flush_step(step.id)  # the output comes before the final status
        self._notify(STEP_UPDATED, {"runId": self.run_id, "step": step.wire()})
        if final and step.status != "planned":
            self.finished_steps += 1
            percentage = int(100 * self.finished_steps / self.total) if self.total else 100
            self.progress.report(
                f"{self.finished_steps}/{self.total}: {step.id} {step.status}", percentage
            )
        elif step.status == "awaitingApproval":
            self.progress.report(f"{step.id} awaits approval: {step.line}")

    def end(self, outcome: str) -> None:
        self.output.close()
        self.progress.end(outcome)


def outcome_line(result: RunResult) -> str:
    """One line for the end of the progress: ``succeeded: 3/3 steps, trust 0.9``."""
    succeeded = sum(1 for r in result.results if r.status == "succeeded")
    return (
        f"{result.status}: {succeeded}/{len(result.results)} steps succeeded, trust {result.bits.t}"
    )


class Runs:
    """Starts runs for this session and routes cancellation to them."""

    def __init__(self, server: AgentServer) -> None:
        self.server = server
        self._tokens: dict[ProgressToken, str] = {}  # progress token -> run id

    @property
    def engine(self) -> Engine:
        return self.server.engine

    async def run_goal(self, params: Any) -> dict[str, Any]:
        return await self._run(params, dry_run=False)

    async def plan(self, params: Any) -> dict[str, Any]:
        return await self._run(params, dry_run=True)

    async def cancel(self, params: Any) -> dict[str, Any]:
        from engine.models import CancelParams, CancelResult

        request = validate(CancelParams, params)
        return CancelResult(cancelled=self.engine.cancel(request.run_id)).wire()

    def cancel_by_token(self, token: ProgressToken) -> None:
        """``window/workDoneProgress/cancel``: cancel the run that reports on ``token``."""
        run_id = self._tokens.get(token)
        if run_id is not None:
            log.info("progress token %r cancelled: cancelling run %s", token, run_id)
            self.engine.cancel(run_id)

    async def _run(self, params: Any, *, dry_run: bool) -> dict[str, Any]:
        from engine.models import RunGoalParams
        from engine.workspace import resolve_workspace

        request = validate(RunGoalParams, params)
        if dry_run:
            request = request.model_copy(update={"dry_run": True})
        workspace = resolve_workspace(request.workspace, self.server.default_workspace())
        token = request.work_done_token
        if token is not None and token in self._tokens:
            raise JsonRpcInvalidParams(f"workDoneToken: {token!r} is in use by another run")
        progress = RunProgress(self.server, await progress_token(self.server, token))
        progress.begin(request.goal if request.goal is not None else "explicit steps")
        session = RunSession(self.server, progress)
        outcome = "failed: the run did not start"
        try:
            handle = self.engine.start(
                request,
                workspace=workspace,
                listener=session.on_event,
                ask=self.server.approvals.asker(workspace),
            )
            session.run_id = handle.run_id
            if progress.token is not None:
                self._tokens[progress.token] = handle.run_id
            # If this task is cancelled ($/cancelRequest), result() cancels the run and waits
            # for its processes and trace to be finished before CancelledError reaches us.
            result = await handle.result()
            outcome = outcome_line(result)
            return result.wire()
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:
            outcome = f"failed: {exc}"
            raise
        finally:
            if progress.token is not None:
                self._tokens.pop(progress.token, None)
            session.end(outcome)
            if session.result is not None and not dry_run:
                self._publish_diagnostics(workspace, session.result)

    def _publish_diagnostics(self, workspace: Path, result: RunResult) -> None:
        from engine.errors import AgentError

        try:
            records: list[dict[str, Any]] | None = self.engine.read_trace(workspace, result.run_id)
        except AgentError as exc:
            log.warning("run %s: no trace diagnostics: %s", result.run_id, exc)
            records = None
        try:
            self.server.diagnostics.run_finished(workspace, result, records)
        except Exception:  # diagnostics are a courtesy; they never fail the run's answer
            log.exception("run %s: publishing diagnostics failed", result.run_id)
