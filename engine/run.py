"""The pipeline of one run: goal -> plan -> gate -> execute -> verify -> trace.

A model planner may plan in rounds: plan -> gate -> execute is repeated, each round seeing the
outcomes of the one before, until the planner says it is done (its budgets bound that). It tells
its listener what happens (engine.events) and records everything in the run's trace. A run whose
trace cannot be written stops (its running steps are stopped) and ends ``failed`` with the reason
as its error: nothing reports ``succeeded`` over a broken trace. A planner that fails after the
first round ends the run ``failed`` with its message as the error (the earlier rounds' steps are
in the result). Before the first round that may change files
executes, a checkpoint stores what the run may change, so it can be reverted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engine import __version__, verify
from engine.aio import cancelled_meanwhile, off_loop_if_large, to_the_end
from engine.environment import step_environment
from engine.errors import AgentError, InvalidPlan, describe_validation_error
from engine.events import Ask, Event, Listener, PlanReady, RunFinished, RunStarted
from engine.execute.reaper import RUN_VAR, reap_run
from engine.execute.run_checkpoint import RunCheckpoint
from engine.execute.sandbox import Limits, new_scratch, remove_scratch, scratch_env
from engine.execute.scheduler import run_dag
from engine.execute.steps import StepContext, StepExecution, deliverable_path
from engine.gate.base import GateContext, Verdict, sandbox_kind
from engine.gate.policy import load_policy
from engine.handle import RunHandle
from engine.models import (
    Plan,
    RunCliStep,
    RunGoalParams,
    RunResult,
    StepResult,
    StepStatus,
    WriteFileStep,
    step_id,
)
from engine.plan.base import PlanContext, Planner
from engine.plan.content import store_content
from engine.secrets import Redactor
from engine.trace import TraceWriter, trace_relpath

if TYPE_CHECKING:
    from engine.config import EngineConfig
    from engine.engine import Engine

log = logging.getLogger(__name__)

PREVIEW_CHARS = 200  # of a writeFile's content, in the trace (the content itself is not traced)
ROUND_LIMIT = 20  # whatever a planner says (maxRounds is at most this)


class Pipeline:
    """One run, from goal to trace."""

    def __init__(
        self,
        engine: Engine,
        handle: RunHandle,
        params: RunGoalParams,
        config: EngineConfig,
        runs_dir: Path,
        trace: TraceWriter,
        redactor: Redactor,
        listener: Listener | None,
        ask: Ask | None,
    ) -> None:
        self.engine = engine
        self.runs_dir = runs_dir
        self.config = config  # a run keeps the configuration it started with
        self.handle = handle
        self.params = params
        self.trace = trace
        self.redactor = redactor
        self.listener = listener
        self.ask = ask
        self.steps: list[StepExecution] = []
        self.scratch: Path | None = None  # the run's private /tmp, when its steps are sandboxed
        self.planner_name = "explicit" if params.steps is not None else "stub"
        self.planner: Planner | None = None
        self.began = time.monotonic()
        self.context = PlanContext(
            run_id=handle.run_id, record=trace.write, redact=redactor.redact, began=self.began
        )
        self.summary: str | None = None  # the planner's last word
        self.planning_error: str | None = None  # a later round could not be planned
        self.checkpoint = RunCheckpoint(handle.workspace, handle.run_id, params.mode, trace.write)

    def emit(self, event: Event) -> None:
        if self.listener is None:
            return
        try:
            self.listener(event)
        except Exception:  # a broken listener must not break the run
            log.exception("run %s: listener failed on %s", self.handle.run_id, type(event).__name__)

    async def run(self) -> RunResult:
        handle = self.handle
        try:
            self.trace.write(
                "run.started",
                runId=handle.run_id,
                goal=handle.goal,
                workspace=str(handle.workspace),
                agentdVersion=__version__,
                params=self.params.model_dump(mode="json", by_alias=True, exclude={"steps"}),
            )
            self.emit(RunStarted(handle.run_id, handle.goal, handle.workspace))
            handle.mark_running()
            try:
                if handle.cancel_requested:  # cancelled (or failed) before the task got to run
                    raise asyncio.CancelledError
                await self._rounds()
            except asyncio.CancelledError:
                if not handle.cancel_requested:
                    raise  # not ours: someone cancelled the task without cancel(); honour it
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
            except AgentError as exc:
                usage = self.context.meter.usage()
                extra = {"usage": usage.wire()} if usage is not None else {}
                self.trace.write("run.finished", status="failed", error=str(exc), **extra)
                raise
            except Exception as exc:
                log.exception("run %s failed unexpectedly", handle.run_id)
                self.trace.write("run.finished", status="failed", error=f"internal error: {exc!r}")
                raise
            return self._finish()
        finally:
            self.trace.close()

    async def _rounds(self) -> None:
        """Plan, gate and execute, round after round, until the planner is done (a dry run and
        explicit steps have one round). The run's private /tmp lasts for all its rounds."""
        try:
            await self._plan_and_run_rounds()
        finally:
            if self.scratch is not None:
                await to_the_end(asyncio.to_thread(remove_scratch, self.scratch))

    async def _plan_and_run_rounds(self) -> None:
        context = self.context
        try:
            while True:
                try:
                    plan = await self._plan()
                except AgentError as exc:
                    if context.round == 1:
                        raise
                    self.planning_error = str(exc)
                    return
                self.summary = plan.summary
                executions = await off_loop_if_large(len(plan.steps), self._gate, plan)
                if executions:  # announced from here, on the loop: _gate may run in a thread
                    steps = [e.result.model_copy() for e in executions]
                    ready = PlanReady(self.handle.run_id, self.planner_name, steps, context.round)
                    self.emit(ready)
                last = plan.done or self.params.dry_run or context.round >= ROUND_LIMIT
                if not self.params.dry_run:
                    await self.checkpoint.take(executions, only_round=last)
                    if cancelled_meanwhile():  # while a checkpoint was being taken
                        raise asyncio.CancelledError
                    await self._execute(executions)
                if last:
                    return
                context.history = [*context.history, [e.result for e in executions]]
                context.round += 1
        finally:  # also on cancel or failure: such a run can be reverted too
            await self.checkpoint.seal()

    async def _plan(self) -> Plan:
        if self.params.steps is not None:
            steps = self.params.steps
            try:
                return await off_loop_if_large(
                    len(steps), Plan, goal=self.handle.goal, planner="explicit", steps=steps
                )
            except ValidationError as exc:
                raise InvalidPlan(describe_validation_error(exc)) from None
        if self.planner is None:
            params = self.params
            self.planner = self.engine.planner_factory(
                self.config, replay=params.run_id, step_ids=params.step_ids
            )
        plan = await self.planner.plan(self.handle.goal, self.handle.workspace, self.context)
        self.planner_name = plan.planner  # a routing planner says which of its planners planned
        if len(plan.steps) > self.config.max_steps:
            raise InvalidPlan(
                f"steps: the plan has {len(plan.steps)} steps, more than the "
                f"{self.config.max_steps} a plan may have (the setting agent.maxSteps)"
            )
        return plan

    def _gate(self, plan: Plan) -> list[StepExecution]:
        """Give every step of a round its risk and decision and record the plan (in a thread for
        a large plan: nothing else touches this run meanwhile); the round's executions."""
        round_ = self.context.round
        taken = {s.result.id for s in self.steps}
        for step in plan.steps:
            if step_id(step) in taken:
                raise InvalidPlan(f"round {round_}: step id {step.id!r} is already taken")
        self.trace.write(
            "plan.created",
            planner=self.planner_name,
            steps=[self._traced_step(step) for step in plan.steps],
            round=round_,
            done=plan.done,
            **({"summary": plan.summary} if plan.summary is not None else {}),
        )
        ctx = self._step_context()
        status: StepStatus = "planned" if self.params.dry_run else "pending"
        workspace = self.handle.workspace
        executions = []
        # One context for the whole run, so a verdict depends only on the step's command (or
        # written path): one analysis per distinct step line.
        context = GateContext(
            sandbox=sandbox_kind(self.config.sandbox_in_effect),
            mode=self.params.mode,
            policy=load_policy(workspace),
        )
        verdicts: dict[str, Verdict] = {}
        for step in plan.steps:
            verdict = verdicts.get(step.line)
            if verdict is None:
                verdict = verdicts[step.line] = self.engine.gate.assess(step, workspace, context)
            result = StepResult.model_construct(
                id=step_id(step),
                kind=step.kind,
                cmd=getattr(step, "cmd", None),
                path=getattr(step, "path", None),
                after=list(step.after),
                risk=verdict.risk,
                decision=verdict.decision,
                relied_on=list(verdict.relied_on),
                widenings=sorted(verdict.widenings),
                approved_by=None,
                status=status,
                exit_code=None,
                stdout="",
                stderr="",
                truncated=False,
                duration_ms=0,
            )
            extras: dict[str, Any] = {}
            if result.relied_on:
                extras["reliedOn"] = result.relied_on
            if result.widenings:
                extras["widenings"] = result.widenings
            self.trace.write(
                "gate.decided",
                stepId=result.id,
                risk=verdict.risk.wire(),
                decision=verdict.decision,
                **extras,
            )
            executions.append(StepExecution(ctx, step, result, verdict))
        self.steps += executions
        return executions

    def _traced_step(self, step: RunCliStep | WriteFileStep) -> dict[str, Any]:
        """A step as the trace records it: a writeFile's content as its size and SHA-256 with a
        short preview (the trace stays small; the file itself is the content). The content is
        kept beside the trace by its SHA-256, so that the run can be replayed."""
        data = step.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(step, WriteFileStep):
            content = data.pop("content").encode("utf-8")
            data["contentBytes"] = len(content)
            data["contentSha256"] = hashlib.sha256(content).hexdigest()
            data["contentPreview"] = step.content[:PREVIEW_CHARS]
            try:
                store_content(self.runs_dir, self.handle.run_id, step.content, self.redactor.redact)
            except OSError as exc:  # the run goes on; only a replay of it will miss this content
                log.warning("run %s: cannot keep the content of %s: %s", self.handle.run_id,
                            step_id(step), exc)  # fmt: skip
        return data

    def _step_context(self) -> StepContext:
        config, params = self.config, self.params
        kind = config.sandbox_in_effect
        if kind != "off" and not params.dry_run and self.scratch is None:  # one for all rounds
            self.scratch = new_scratch(self.handle.run_id)
        # Under bwrap the scratch folder is the step's /tmp; under Landlock it is where it is.
        tmp = "/tmp" if kind == "bwrap" else str(self.scratch) if self.scratch else None
        overrides = {RUN_VAR: self.handle.run_id, **(scratch_env(tmp) if tmp else {})}
        env = step_environment(os.environ, config.env_allow, overrides)
        limits = Limits(config.step_cpu_seconds, config.step_memory_bytes, config.step_processes)
        return StepContext(
            run_id=self.handle.run_id,
            workspace=self.handle.workspace,
            runs_dir=self.runs_dir,
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
            sandbox=kind,
            scratch=self.scratch,
            limits=limits,
        )

    async def _execute(self, executions: list[StepExecution]) -> None:
        by_id = {s.result.id: s for s in executions}

        async def run_step(step: str) -> bool:
            return await by_id[step].run()

        def skip_step(step: str, failed: list[str]) -> None:
            execution = by_id[step]
            execution.result.stderr = f"skipped: {', '.join(failed)} did not succeed\n"
            execution.finish("skipped", failedDependencies=failed)

        after = {s.result.id: s.result.after for s in executions}
        try:
            await run_dag(list(by_id), after, run_step, skip_step)
        finally:  # processes that left their step's group die with the run at the latest
            try:
                await to_the_end(reap_run(self.handle.run_id))
            except Exception:
                log.exception("run %s: reaping escaped processes failed", self.handle.run_id)

    def _finish(self) -> RunResult:
        handle = self.handle
        stopped = handle.cancel_requested
        for execution in self.steps:  # steps that never got going end with the run
            if not execution.finished and not self.params.dry_run:
                execution.finish("cancelled" if stopped else "skipped")
        results = self._results()
        dry_run = self.params.dry_run
        status = verify.run_status(
            results, dry_run=dry_run, cancelled=stopped and handle.failure is None
        )
        bits = verify.bits(results, dry_run=dry_run)
        failure = handle.failure or self.planning_error
        usage = self.context.meter.usage()
        extra: dict[str, Any] = {"error": failure} if failure else {}
        if usage is not None:
            extra["usage"] = usage.wire()
        if self.summary is not None:
            extra["summary"] = self.summary
        self.trace.write(
            "run.finished",
            status="failed" if failure else status,
            bits=bits.wire(),
            deliverables=self._deliverables(),
            durationMs=int((time.monotonic() - self.began) * 1000),
            **extra,
        )
        if self.trace.broken and failure is None:
            failure = handle.failure = self.trace.broken  # the last record failed too
        result = RunResult.model_construct(
            run_id=handle.run_id,
            goal=handle.goal,
            planner=self.planner_name,
            status="failed" if failure else status,
            steps=[r.line for r in results],
            stdout="\n".join(s.result.stdout for s in self.steps if s.started),
            deliverables=self._deliverables(),
            bits=bits,
            results=results,
            trace=trace_relpath(handle.run_id),
            error=failure,
            usage=usage,
            summary=self.summary,
        )
        lines = {s.result.id: s.finished_line for s in self.steps if s.finished_line >= 0}
        self.emit(RunFinished(handle.run_id, result, lines))
        return result

    def _deliverables(self) -> list[str]:
        return [
            deliverable_path(s.result.path or "")
            for s in self.steps
            if s.result.kind == "writeFile" and s.result.status == "succeeded"
        ]

    def _results(self, *, copy: bool = False) -> list[StepResult]:
        return [s.result.model_copy() if copy else s.result for s in self.steps]
