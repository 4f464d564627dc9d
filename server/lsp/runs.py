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

from server.core.output import OutputCoalescer
from server.lsp.progress import RunProgress
from server.lsp.rpc import validate

if TYPE_CHECKING:
    from engine import events, models
    from engine.run import Engine
    from server.lsp.server import AgentServer
else:
    events = models = None  # bound by _import_engine() on the first run, then kept

log = logging.getLogger(__name__)

RUN_STARTED = "agent/runStarted"
PLAN_READY = "agent/planReady"
STEP_UPDATED = "agent/stepUpdated"
OUTPUT_DELTA = "agent/outputDelta"


def _import_engine() -> None:
    """Import the engine modules once, on the first run, and keep them: no import per event.

    Not at module import: pydantic and the engine cost ~100 ms that ``initialize`` would wait for.
    """
    global events, models
    if models is None:
        from engine import events, models


class RunSession:
    """The server side of one run: its token, its notifications, its output buffers."""

    def __init__(self, server: AgentServer, progress: RunProgress) -> None:
        _import_engine()
        self.server = server
        self.progress = progress
        self.run_id = ""
        self.total = 0
        self.finished_steps = 0
        self.result: models.RunResult | None = None  # from RunFinished, also when cancelled
        self.output = OutputCoalescer(self._send_output)

    def _notify(self, method: str, params: dict[str, Any]) -> None:
        self.server.protocol.notify(method, params)

    def _send_output(self, step_id: str, stream: models.Stream, text: str) -> None:
        params = models.OutputDeltaParams(
            run_id=self.run_id, step_id=step_id, stream=stream, text=text
        )
        self._notify(OUTPUT_DELTA, params.wire())

    def on_event(self, event: events.Event) -> None:
        """The engine's listener: synchronous, never blocks (notify only queues bytes)."""
        if isinstance(event, events.OutputDelta):
            self.output.add(event.step_id, event.stream, event.text)
        elif isinstance(event, events.StepUpdated):
            self._step_updated(event.step)
        elif isinstance(event, events.RunStarted):
            self.run_id = event.run_id
            started = models.RunStartedParams(
                run_id=event.run_id, goal=event.goal, work_done_token=self.progress.token
            )
            self._notify(RUN_STARTED, started.wire())
        elif isinstance(event, events.PlanReady):
            self.total = len(event.steps)
            plan = models.PlanReadyParams(
                run_id=event.run_id, planner=event.planner, steps=event.steps
            )
            self._notify(PLAN_READY, plan.wire())
            self.progress.report(f"planned {self.total} step(s) with {event.planner}", 0)
        elif isinstance(event, events.RunFinished):
            self.result = event.result
            self.output.close()

    def _step_updated(self, step: models.StepResult) -> None:
        final = step.status in models.FINAL_STEP_STATUSES
        if final:
            self.output.finish_step(step.id)  # its deltas come before its final status
        updated = models.StepUpdatedParams(run_id=self.run_id, step=step)
        self._notify(STEP_UPDATED, updated.wire())
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


def outcome_line(result: models.RunResult) -> str:
    """One line for the end of the progress: ``succeeded: 3/3 steps succeeded, trust 0.9``."""
    total = len(result.results)
    if result.status == "planned":
        return f"planned: {total} step{'' if total == 1 else 's'}"
    succeeded = sum(1 for r in result.results if r.status == "succeeded")
    return f"{result.status}: {succeeded}/{total} steps succeeded, trust {result.bits.t}"


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
        _import_engine()
        request = validate(models.CancelParams, params)
        return models.CancelResult(cancelled=self.engine.cancel(request.run_id)).wire()

    def cancel_by_token(self, token: ProgressToken) -> None:
        """``window/workDoneProgress/cancel``: cancel the run that reports on ``token``."""
        run_id = self._tokens.get(token)
        if run_id is not None:
            log.info("progress token %r cancelled: cancelling run %s", token, run_id)
            self.engine.cancel(run_id)

    async def _run(self, params: Any, *, dry_run: bool) -> dict[str, Any]:
        _import_engine()
        from engine.workspace import resolve_workspace

        request = validate(models.RunGoalParams, params)
        if dry_run:
            request = request.model_copy(update={"dry_run": True})
        workspace = resolve_workspace(request.workspace, self.server.default_workspace())
        if request.work_done_token is not None and request.work_done_token in self._tokens:
            raise JsonRpcInvalidParams(
                f"workDoneToken: {request.work_done_token!r} is in use by another run"
            )
        # The run starts at once: a server-created token begins when the client accepts it.
        progress = RunProgress(self.server, request.goal or "explicit steps")
        progress.start(request.work_done_token)
        token = progress.token
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
            if token is not None:
                self._tokens[token] = handle.run_id
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
            if token is not None:
                self._tokens.pop(token, None)
            try:
                await session.end(outcome)
            finally:
                if session.result is not None and not dry_run:
                    self._publish_diagnostics(workspace, session.result)

    def _publish_diagnostics(self, workspace: Path, result: models.RunResult) -> None:
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
