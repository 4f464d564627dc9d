"""Executing one gated step: approval, a slot, then the process or the write; never raises."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from engine.events import ApprovalOutcome, ApprovalRequest, Ask, OutputDelta, StepUpdated
from engine.execute.files import WriteRefused, write_file_confined
from engine.execute.output import LiveOutput
from engine.execute.process import ProcessRunner, ProcessSpec
from engine.execute.sandbox import Limits, Plan, SandboxKind, Widening
from engine.gate.base import Verdict
from engine.models import ApprovalMode, RunCliStep, StepResult, StepStatus, Stream, WriteFileStep

log = logging.getLogger(__name__)

TraceWrite = Callable[..., int]
Emit = Callable[[Any], None]


@dataclass(slots=True)
class StepContext:
    """What every step of one run shares."""

    run_id: str
    workspace: Path
    runs_dir: Path
    env: Mapping[str, str]
    runner: ProcessRunner
    slots: asyncio.Semaphore
    approval: ApprovalMode
    ask: Ask | None
    approval_timeout_s: float
    step_timeout_s: float
    output_cap: int
    spill_cap: int
    kill_grace_s: float
    trace: TraceWrite
    emit: Emit
    redact: Callable[[str], str]
    sandbox: SandboxKind = "off"
    scratch: Path | None = None  # the run's private /tmp (sandboxed runs)
    limits: Limits | None = None


class StepExecution:
    """One step of a run: its plan entry, its live result, and the code that drives it."""

    def __init__(
        self,
        ctx: StepContext,
        step: RunCliStep | WriteFileStep,
        result: StepResult,
        verdict: Verdict | None = None,
    ) -> None:
        self.ctx = ctx
        self.step = step
        self.result = result
        self.verdict = verdict  # the gate's, for approvals ("allow always" saves from it)
        self.started = False  # a process was spawned (its stdout belongs in RunResult.stdout)
        self.finished = False
        self.finished_line = -1  # the trace line of its step.finished record
        self._live: LiveOutput | None = None

    @property
    def widenings(self) -> frozenset[Widening]:
        """What the gate found the step needs beyond the default sandbox."""
        return self.verdict.widenings if self.verdict is not None else frozenset()

    # -- status changes --------------------------------------------------------------------

    def set_status(self, status: StepStatus) -> None:
        self.result.status = status
        self.ctx.emit(StepUpdated(self.ctx.run_id, self.result.model_copy()))

    def finish(self, status: StepStatus, **extra: Any) -> None:
        """Final status: recorded once in the trace (``step.finished``) and announced."""
        if self.finished:
            return
        self.finished = True
        self.set_status(status)
        self.finished_line = self.ctx.trace(
            "step.finished", stepId=self.result.id, step=self.result.wire(), **extra
        )

    # -- the step's life -------------------------------------------------------------------
    async def run(self) -> bool:
        """Approval, slot, execution. True when the step succeeded. Never raises but for cancel."""
        try:
            if self.result.decision == "deny":
                self.finish("denied")
                return False
            if self.result.decision == "ask" and not await self._approved():
                self.finish("rejected")
                return False
            if self.result.decision == "allow":
                self.result.approved_by = "policy"
            async with self.ctx.slots:
                return await self._execute()
        except asyncio.CancelledError:
            self._keep_partial_output()
            self.finish("cancelled")
            raise
        except Exception as exc:  # one crashing step never takes down the run
            log.exception("step %s crashed", self.result.id)
            self.result.stderr += f"agentd: internal error running this step: {exc!r}\n"
            self.finish("failed", error=repr(exc))
            return False

    async def _approved(self) -> bool:
        ctx, result = self.ctx, self.result
        if ctx.approval == "allow":
            self._resolved(ApprovalOutcome(True, "run", detail="the run's approval is 'allow'"))
            result.approved_by = "run"
            return True
        if ctx.approval == "reject":
            self._resolved(ApprovalOutcome(False, "run", detail="the run's approval is 'reject'"))
            return False
        if ctx.ask is None:
            self._resolved(ApprovalOutcome(False, "unavailable", detail="no one to ask"))
            return False
        self.set_status("awaitingApproval")
        ctx.trace("approval.requested", stepId=result.id, risk=result.risk.wire())
        request = ApprovalRequest(ctx.run_id, result.model_copy(), result.risk, self.verdict)
        try:
            outcome = await asyncio.wait_for(ctx.ask(request), ctx.approval_timeout_s)
        except TimeoutError:
            outcome = ApprovalOutcome(False, "timeout", detail="no answer in time")
        except asyncio.CancelledError:
            self._resolved(ApprovalOutcome(False, "cancelled", detail="the run was cancelled"))
            raise
        except Exception as exc:
            log.warning("approval for step %s failed: %r", result.id, exc)
            outcome = ApprovalOutcome(False, "error", detail=f"asking failed: {exc}")
        self._resolved(outcome)
        if outcome.allowed:  # a rule saved since the plan ("always") counts as the policy's
            result.approved_by = "policy" if outcome.by == "policy" else "user"
        return outcome.allowed

    def _resolved(self, outcome: ApprovalOutcome) -> None:
        kept = {"saved": list(outcome.saved)} if outcome.saved else {}
        if outcome.unsaved:
            kept["unsaved"] = list(outcome.unsaved)
        self.ctx.trace(
            "approval.resolved",
            stepId=self.result.id,
            allowed=outcome.allowed,
            by=outcome.by,
            optionId=outcome.option_id,
            detail=outcome.detail,
            **kept,
        )

    async def _execute(self) -> bool:
        self.set_status("running")
        # What the step may touch: its sandbox and widenings, or agentd's confined writer.
        kind = self.ctx.sandbox if isinstance(self.step, RunCliStep) else "writer"
        allowed = {"kind": kind, "widenings": sorted(self.widenings)}
        self.ctx.trace("step.started", stepId=self.result.id, sandbox=allowed)
        began = time.monotonic()
        try:
            if isinstance(self.step, RunCliStep):
                status, extra = await self._run_cli(self.step)
            else:
                status, extra = await self._write_file(self.step)
        finally:
            self.result.duration_ms = int((time.monotonic() - began) * 1000)
        self.finish(status, **extra)
        return status == "succeeded"

    async def _run_cli(self, step: RunCliStep) -> tuple[StepStatus, dict[str, Any]]:
        ctx, result = self.ctx, self.result
        timeout_s = step.timeout_ms / 1000 if step.timeout_ms else ctx.step_timeout_s
        spec = ProcessSpec(
            argv=["/bin/sh", "-c", step.cmd],
            cwd=ctx.workspace,
            env=ctx.env,
            timeout_s=timeout_s,
            output_cap=ctx.output_cap,
            spill_dir=ctx.runs_dir / ctx.run_id,
            spill_name=result.id,
            kill_grace_s=ctx.kill_grace_s,
            redact=ctx.redact,
            spill_cap=ctx.spill_cap,
            sandbox=self._sandbox(),
            limits=ctx.limits,
        )

        def send(stream: Stream, text: str) -> None:
            ctx.emit(OutputDelta(ctx.run_id, result.id, stream, text))

        self._live = live = LiveOutput(send)
        self.started = True
        outcome = await ctx.runner.run(spec, live.feed)
        self._live = None  # what it captured is only needed if the step is cancelled
        result.exit_code = outcome.exit_code
        result.stdout = ctx.redact(outcome.stdout)
        result.stderr = ctx.redact(outcome.stderr)
        result.truncated = outcome.truncated
        spilled = {s: p.relative_to(ctx.workspace).as_posix() for s, p in outcome.spilled.items()}
        extra: dict[str, Any] = {"spilled": spilled} if spilled else {}
        if outcome.spill_truncated:
            extra["spillTruncated"] = True
        if outcome.timed_out:
            return "timedOut", {**extra, "timeoutMs": int(timeout_s * 1000)}
        return ("succeeded" if outcome.exit_code == 0 else "failed"), extra

    def _sandbox(self) -> Plan | None:
        ctx = self.ctx
        if ctx.sandbox == "off" or ctx.scratch is None:
            return None
        return Plan(ctx.sandbox, ctx.workspace, ctx.scratch, self.widenings)

    def _keep_partial_output(self) -> None:
        """A cancelled process still keeps what it printed before it was stopped."""
        if self._live is not None and not self.finished:
            self.result.stdout = self._live.captured("stdout")
            self.result.stderr = self._live.captured("stderr")

    async def _write_file(self, step: WriteFileStep) -> tuple[StepStatus, dict[str, Any]]:
        try:
            await asyncio.to_thread(
                write_file_confined, self.ctx.workspace, step.path, step.content
            )
        except WriteRefused as exc:
            self.result.stderr = f"write refused: {exc}\n"
            return "failed", {"error": str(exc)}
        except OSError as exc:
            self.result.stderr = f"write failed: {exc.strerror or exc}\n"
            return "failed", {"error": str(exc)}
        return "succeeded", {"bytes": len(step.content.encode("utf-8"))}


def deliverable_path(path: str) -> str:
    """The normalised workspace-relative form of a writeFile path (``./out//a`` -> ``out/a``)."""
    return PurePosixPath(path).as_posix().removeprefix("./")
