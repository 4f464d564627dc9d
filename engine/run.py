"""The pipeline: goal -> plan -> gate -> execute -> verify -> trace, and the Engine that runs it.

``Engine.start`` returns a ``RunHandle`` at once; the run goes on in its own task, tells its
listener what happens (engine.events) and writes its trace. Cancelling a run (``RunHandle.cancel``)
kills every process group it started and ends it with a ``cancelled`` RunResult.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine import __version__, verify
from engine.aio import to_the_end
from engine.config import EngineConfig
from engine.errors import (
    AgentError,
    InvalidPlan,
    TraceError,
    WorkspaceError,
    describe_validation_error,
)
from engine.events import Ask, Event, Listener, PlanReady, RunFinished, RunStarted
from engine.execute.process import ProcessRunner
from engine.execute.reaper import RUN_VAR, reap_run
from engine.execute.scheduler import run_dag
from engine.execute.steps import StepContext, StepExecution, deliverable_path
from engine.gate.base import Gate
from engine.handle import RunHandle
from engine.models import (
    GoalInfo,
    Plan,
    RunGoalParams,
    RunResult,
    StepResult,
    StepStatus,
    step_id,
)
from engine.plan.base import Planner
from engine.secrets import Redactor, scrub_env
from engine.trace import TraceWriter, ensure_runs_dir, read_trace, trace_path, trace_relpath

log = logging.getLogger(__name__)

PlannerFactory = Callable[[EngineConfig], Planner]


def new_run_id() -> str:
    """Sortable by start time, unique enough for one machine."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def _default_planner(config: EngineConfig) -> Planner:
    from engine.plan.factory import make_planner

    return make_planner(config)


class Engine:
    """Runs goals. One per process is enough; runs in several workspaces may go on at once."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        gate: Gate | None = None,
        runner: ProcessRunner | None = None,
        planner_factory: PlannerFactory | None = None,
    ) -> None:
        from engine.execute.runner import SubprocessRunner
        from engine.gate.rules import RuleGate

        self.config = config or EngineConfig()
        self.gate: Gate = gate or RuleGate()
        self.runner: ProcessRunner = runner or SubprocessRunner()
        self._planner_factory = planner_factory or _default_planner
        self._runs: dict[str, RunHandle] = {}

    def configure(self, config: EngineConfig) -> None:
        self.config = config

    def list_goals(self, workspace: Path | None) -> list[GoalInfo]:
        from engine.plan.goals import list_goals

        return list_goals(workspace)

    def get(self, run_id: str) -> RunHandle | None:
        return self._runs.get(run_id)

    def cancel(self, run_id: str) -> bool:
        handle = self._runs.get(run_id)
        return handle.cancel() if handle else False

    async def cancel_all(self) -> None:
        handles = list(self._runs.values())
        for handle in handles:
            handle.cancel()
        for handle in handles:
            with contextlib.suppress(AgentError, asyncio.CancelledError):
                await handle.result()

    def read_trace(self, workspace: Path, run_id: str) -> list[dict[str, Any]]:
        path = trace_path(workspace, run_id)
        if not path.is_file():
            raise TraceError(f"runId: no trace of run {run_id!r} in {workspace}")
        return read_trace(path).records

    def health(self) -> dict[str, Any]:
        import platform
        import sys

        from engine.plan.openai import resolve_api_key

        planner = self.config.planner
        return {
            "version": __version__,
            "planner": planner if planner == "stub" else f"{planner}:{self.config.model}",
            "sandbox": self.config.sandbox_in_effect,
            "sandboxRequested": self.config.sandbox,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "activeRuns": len(self._runs),
            "maxParallel": self.config.max_parallel,
            "stepTimeoutMs": self.config.step_timeout_ms,
            "approvalTimeoutMs": self.config.approval_timeout_ms,
            "modelConfigured": self.config.planner != "stub"
            and resolve_api_key(self.config) is not None,
        }

    def start(
        self,
        params: RunGoalParams,
        *,
        workspace: Path,
        listener: Listener | None = None,
        ask: Ask | None = None,
    ) -> RunHandle:
        goal = params.goal if params.goal is not None else "explicit"
        try:  # before the run exists: an unusable workspace is the caller's error
            runs_dir = ensure_runs_dir(workspace)
        except OSError as exc:
            raise WorkspaceError(
                f"workspace: cannot write .agent/runs in {workspace}: {exc.strerror or exc}"
            ) from None
        handle = RunHandle(new_run_id(), goal, workspace)
        pipeline = _Pipeline(self, handle, params, runs_dir, listener, ask)
        task = asyncio.get_running_loop().create_task(pipeline.run(), name=f"run {handle.run_id}")
        handle.attach(task)
        self._runs[handle.run_id] = handle
        task.add_done_callback(lambda _: self._runs.pop(handle.run_id, None))
        return handle


class _Pipeline:
    """One run, from goal to trace."""

    def __init__(
        self,
        engine: Engine,
        handle: RunHandle,
        params: RunGoalParams,
        runs_dir: Path,
        listener: Listener | None,
        ask: Ask | None,
    ) -> None:
        self.engine = engine
        self.runs_dir = runs_dir
        self.config = engine.config  # a run keeps the configuration it started with
        self.handle = handle
        self.params = params
        self.listener = listener
        self.ask = ask
        key = self.config.api_key.get_secret_value() if self.config.api_key else None
        self.redactor = Redactor([key] if key else [], os.environ)
        self.steps: list[StepExecution] = []
        self.planner_name = "explicit" if params.steps is not None else "stub"
        self.began = time.monotonic()

    def emit(self, event: Event) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # a broken listener must not break the run
            log.exception("run %s: listener failed on %s", self.handle.run_id, type(event).__name__)

    async def run(self) -> RunResult:
        handle, workspace, runs_dir = self.handle, self.handle.workspace, self.runs_dir
        self.trace = TraceWriter(trace_path(workspace, handle.run_id), self.redactor.redact)
        try:
            self.trace.write(
                "run.started",
                runId=handle.run_id,
                goal=handle.goal,
                workspace=str(workspace),
                agentdVersion=__version__,
                params=self.params.model_dump(mode="json", by_alias=True, exclude={"steps"}),
            )
            self.emit(RunStarted(handle.run_id, handle.goal, workspace))
            handle.mark_running()
            try:
                if handle.cancel_requested:  # cancelled before the task got to run
                    raise asyncio.CancelledError
                plan = await self._plan()
                self._gate(plan, runs_dir)
                if not self.params.dry_run:
                    await self._execute(plan)
            except asyncio.CancelledError:
                if not handle.cancel_requested:
                    raise  # not ours: someone cancelled the task without cancel(); honour it
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
            except AgentError as exc:
                self.trace.write("run.finished", status="failed", error=str(exc))
                raise
            except Exception as exc:
                log.exception("run %s failed unexpectedly", handle.run_id)
                self.trace.write("run.finished", status="failed", error=f"internal error: {exc!r}")
                raise
            return self._finish()
        finally:
            self.trace.close()

    async def _plan(self) -> Plan:
        if self.params.steps is not None:
            try:
                return Plan(goal=self.handle.goal, planner="explicit", steps=self.params.steps)
            except ValidationError as exc:
                raise InvalidPlan(describe_validation_error(exc)) from None
        planner = self.engine._planner_factory(self.config)
        assert self.params.goal is not None
        plan = await planner.plan(self.params.goal, self.handle.workspace)
        self.planner_name = plan.planner  # a routing planner says which of its planners planned
        return plan

    def _gate(self, plan: Plan, runs_dir: Path) -> None:
        """Give every step its risk and decision; record the plan; announce it."""
        self.trace.write(
            "plan.created",
            planner=self.planner_name,
            steps=[s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in plan.steps],
        )
        ctx = self._step_context(runs_dir)
        status: StepStatus = "planned" if self.params.dry_run else "pending"
        for step in plan.steps:
            verdict = self.engine.gate.assess(step, self.handle.workspace)
            result = StepResult(
                id=step_id(step),
                kind=step.kind,
                cmd=getattr(step, "cmd", None),
                path=getattr(step, "path", None),
                after=list(step.after),
                risk=verdict.risk,
                decision=verdict.decision,
                status=status,
            )
            self.trace.write(
                "gate.decided",
                stepId=result.id,
                risk=verdict.risk.wire(),
                decision=verdict.decision,
            )
            self.steps.append(StepExecution(ctx, step, result))
        self.emit(PlanReady(self.handle.run_id, self.planner_name, self._results(copy=True)))

    def _step_context(self, runs_dir: Path) -> StepContext:
        config, params = self.config, self.params
        env = scrub_env(os.environ)
        env[RUN_VAR] = self.handle.run_id
        return StepContext(
            run_id=self.handle.run_id,
            workspace=self.handle.workspace,
            runs_dir=runs_dir,
            env=env,
            runner=self.engine.runner,
            slots=asyncio.Semaphore(params.max_parallel or config.max_parallel),
            approval=params.approval,
            ask=self.ask,
            approval_timeout_s=config.approval_timeout_ms / 1000,
            step_timeout_s=(params.step_timeout_ms or config.step_timeout_ms) / 1000,
            output_cap=config.output_cap_bytes,
            spill_cap=config.spill_cap_bytes,
            kill_grace_s=config.kill_grace_ms / 1000,
            trace=self.trace.write,
            emit=self.emit,
            redact=self.redactor.redact,
        )

    async def _execute(self, plan: Plan) -> None:
        by_id = {s.result.id: s for s in self.steps}

        async def run_step(step: str) -> bool:
            return await by_id[step].run()

        def skip_step(step: str, failed: list[str]) -> None:
            execution = by_id[step]
            execution.result.stderr = f"skipped: {', '.join(failed)} did not succeed\n"
            execution.finish("skipped", failedDependencies=failed)

        after = {s.result.id: s.result.after for s in self.steps}
        try:
            await run_dag(plan.ids(), after, run_step, skip_step)
        finally:  # processes that left their step's group die with the run at the latest
            try:
                await to_the_end(reap_run(self.handle.run_id))
            except Exception:
                log.exception("run %s: reaping escaped processes failed", self.handle.run_id)

    def _finish(self) -> RunResult:
        cancelled = self.handle.cancel_requested
        for execution in self.steps:  # steps that never got going end with the run
            if not execution.finished and not self.params.dry_run:
                execution.finish("cancelled" if cancelled else "skipped")
        results = self._results()
        dry_run = self.params.dry_run
        result = RunResult(
            run_id=self.handle.run_id,
            goal=self.handle.goal,
            planner=self.planner_name,
            status=verify.run_status(results, dry_run=dry_run, cancelled=cancelled),
            steps=[r.line for r in results],
            stdout="\n".join(s.result.stdout for s in self.steps if s.started),
            deliverables=[
                deliverable_path(s.result.path or "")
                for s in self.steps
                if s.result.kind == "writeFile" and s.result.status == "succeeded"
            ],
            bits=verify.bits(results, dry_run=dry_run),
            results=results,
            trace=trace_relpath(self.handle.run_id),
        )
        self.trace.write(
            "run.finished",
            status=result.status,
            bits=result.bits.wire(),
            deliverables=result.deliverables,
            durationMs=int((time.monotonic() - self.began) * 1000),
        )
        self.emit(RunFinished(self.handle.run_id, result))
        return result

    def _results(self, *, copy: bool = False) -> list[StepResult]:
        return [s.result.model_copy() if copy else s.result for s in self.steps]
