"""The ``Engine``: starts runs (``engine.run`` is the pipeline of one run) and answers questions
about goals, traces and its own health.

``Engine.start`` returns a ``RunHandle`` at once; the run goes on in its own task, tells its
listener what happens (engine.events) and writes its trace. Cancelling a run
(``RunHandle.cancel``) kills every process group it started and ends it with a ``cancelled``
RunResult.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine import __version__
from engine.config import EngineConfig
from engine.errors import AgentError, GoalsFileError, TraceError
from engine.events import Ask, Listener
from engine.execute.process import ProcessRunner
from engine.execute.sandbox import protections
from engine.gate.base import Gate
from engine.handle import RunHandle
from engine.health import EngineHealth, SandboxProtection
from engine.models import RunGoalParams
from engine.plan.base import Planner
from engine.plan.dialects import ModelSession
from engine.requests import GoalsProblem, ListGoalsResult
from engine.secrets import Redactor
from engine.trace import (
    RUNS_DIR,
    TraceWriter,
    ensure_runs_dir,
    read_trace,
    trace_key,
    trace_path,
)

if TYPE_CHECKING:
    from engine.execute.revert import RevertReport

# A request's own planner settings, over the configuration (RunGoalParams -> EngineConfig).
REQUEST_SETTINGS = ("model", "base_url", "max_rounds")


class PlannerFactory(Protocol):
    """Makes the planner of one run (``replay``: the id of the run to replay; ``step_ids``: only
    those of its steps)."""

    def __call__(
        self, config: EngineConfig, replay: str | None = None, step_ids: list[str] | None = None
    ) -> Planner: ...


def new_run_id() -> str:
    """Sortable by start time, unique enough for one machine."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


class Engine:
    """Runs goals. One per session is enough; runs in several workspaces may go on at once."""

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
        from engine.plan.factory import Planners

        self.config = config or EngineConfig()
        self.gate: Gate = gate or RuleGate()
        self.runner: ProcessRunner = runner or SubprocessRunner()
        self.model_session = ModelSession()  # what this session learns about model servers
        self.planner_factory: PlannerFactory = planner_factory or Planners(self.model_session)
        self.key_source: str | None = None  # where the API key came from (health says so)
        self.problems: list[str] = []  # what is wrong with the configuration (health says so)
        self._runs: dict[str, RunHandle] = {}

    def configure(self, config: EngineConfig) -> None:
        self.config = config

    def run_config(self, params: RunGoalParams) -> EngineConfig:
        """The configuration of one run: the request's planner settings over the engine's."""
        changes: dict[str, object] = {
            name: getattr(params, name)
            for name in REQUEST_SETTINGS
            if getattr(params, name) is not None
        }
        if params.planner is not None and params.planner != "replay":
            changes["planner"] = params.planner
        return self.config.merged(**changes) if changes else self.config

    # -- runs ----------------------------------------------------------------------------------
    def start(
        self,
        params: RunGoalParams,
        *,
        workspace: Path,
        listener: Listener | None = None,
        ask: Ask | None = None,
    ) -> RunHandle:
        """Start a run; raises WorkspaceError at once when its trace cannot be written."""
        from engine.run import Pipeline

        goal = params.goal if params.goal is not None else "explicit"
        if params.run_id is not None and params.goal is None:
            from engine.plan.replay import recorded_goal

            goal = recorded_goal(workspace, params.run_id)
        config = self.run_config(params)
        runs_dir = ensure_runs_dir(workspace)
        handle = RunHandle(new_run_id(), goal, workspace)
        key = config.api_key.get_secret_value() if config.api_key else None
        redactor = Redactor([key] if key else [], os.environ)
        trace = TraceWriter(
            trace_path(workspace, handle.run_id),
            redactor.redact,
            on_broken=handle.fail,
            key=trace_key(),
        )
        pipeline = Pipeline(self, handle, params, config, runs_dir, trace, redactor, listener, ask)
        task = asyncio.get_running_loop().create_task(pipeline.run(), name=f"run {handle.run_id}")
        handle.attach(task)
        self._runs[handle.run_id] = handle
        task.add_done_callback(lambda _: self._runs.pop(handle.run_id, None))
        return handle

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

    # -- questions -----------------------------------------------------------------------------
    def list_goals(self, workspace: Path | None) -> ListGoalsResult:
        """The built-in goals, the workspace's, and what is wrong with a broken goals file (the
        built-ins are listed whatever the file holds)."""
        from engine.plan.goals import BUILTIN_GOALS, GOALS_FILE, load_workspace_goals

        goals = [goal.info() for goal in BUILTIN_GOALS.values()]
        problems = []
        if workspace is not None:
            try:
                goals += [goal.info() for goal in load_workspace_goals(workspace).values()]
            except GoalsFileError as exc:
                problems.append(GoalsProblem(path=str(workspace / GOALS_FILE), message=str(exc)))
        return ListGoalsResult(goals=goals, problems=problems)

    def read_trace(self, workspace: Path, run_id: str) -> list[dict[str, Any]]:
        path = trace_path(workspace, run_id)
        if not path.is_file():
            raise TraceError(f"runId: no trace of run {run_id!r} in {workspace}")
        return read_trace(path).records

    def step_output(self, workspace: Path, run_id: str, step_id: str) -> Path:
        """A file with a step's full output, to open in an editor: its spill file when the output
        went past the capture cap, else a text file written from its ``step.finished`` record."""
        for record in self.read_trace(workspace, run_id):
            if record.get("type") == "step.finished" and record.get("stepId") == step_id:
                spill = _spill_file(workspace, record)
                return spill or _write_output_file(trace_path(workspace, run_id), record)
        raise TraceError(f"stepId: run {run_id!r} has no finished step {step_id!r}")

    async def revert(self, workspace: Path, run_id: str) -> RevertReport:
        """Put back what run ``run_id`` changed in ``workspace`` from its checkpoint, leaving
        (and reporting) what changed again since; raises CheckpointError saying why not."""
        from engine.execute.checkpoint import CheckpointError, has_checkpoint
        from engine.execute.revert import revert

        handle = self._runs.get(run_id)
        if handle is not None:
            raise CheckpointError(
                f"runId: run {run_id!r} has not ended yet; cancel it (agent/cancel) or wait "
                "for it, then revert it"
            )
        if not has_checkpoint(workspace, run_id):
            raise CheckpointError(f"runId: {self._no_checkpoint(workspace, run_id)}")
        try:
            return await asyncio.to_thread(revert, workspace, run_id)
        except CheckpointError as exc:
            raise CheckpointError(f"runId: {exc}") from None

    def _no_checkpoint(self, workspace: Path, run_id: str) -> str:
        """Why run ``run_id`` has no checkpoint to revert, from its trace."""
        try:
            records = self.read_trace(workspace, run_id)
        except AgentError:
            return f"no run {run_id!r} in {workspace} (no trace, no checkpoint)"
        types = {str(r.get("type")): r for r in records}
        if (failed := types.get("checkpoint.failed")) is not None:
            return f"run {run_id!r} has no checkpoint: it failed ({failed.get('error')})"
        started = types.get("run.started", {})
        if (started.get("params") or {}).get("dryRun"):
            return f"run {run_id!r} was a dry run: it changed nothing, there is nothing to revert"
        if "checkpoint.taken" not in types:
            return (
                f"run {run_id!r} has no checkpoint: none of its steps could change files, "
                "or it was made by an agentd without checkpoints"
            )
        return f"the checkpoint of run {run_id!r} is gone from {workspace / '.agent'}"

    async def health(self, *, check_model: bool = False) -> EngineHealth:
        """The engine's health, with what the session knows of the language model; with
        ``check_model`` its endpoint is also tested (a short ``GET /models``)."""
        from engine.plan.health import model_health

        config = self.config
        model = await model_health(config, self.model_session, self.key_source, probe=check_model)
        problems = list(self.problems)
        if model is not None and model.problem:
            problems.append(f"language model: {model.problem}")
        return EngineHealth(
            version=__version__,
            planner=config.planner_label,
            sandbox=config.sandbox_in_effect,
            sandbox_requested=config.sandbox,
            sandbox_protections=[
                SandboxProtection(name=p.name, active=p.active, note=p.note)
                for p in protections(config.sandbox_in_effect)
            ],
            python=sys.version.split()[0],
            platform=platform.platform(),
            active_runs=len(self._runs),
            max_parallel=config.max_parallel,
            step_timeout_ms=config.step_timeout_ms,
            approval_timeout_ms=config.approval_timeout_ms,
            model_configured=config.model_planner != "stub"
            and (config.api_key is not None or config.base_url is not None),
            model=model,
            problems=problems,
        )


def _spill_file(workspace: Path, record: dict[str, Any]) -> Path | None:
    """The step's spill file (stdout first), only ever inside the runs folder."""
    spilled = record.get("spilled") or {}
    runs = (workspace / RUNS_DIR).resolve()
    for stream in ("stdout", "stderr"):
        spill = spilled.get(stream)
        if isinstance(spill, str) and (workspace / spill).resolve().is_relative_to(runs):
            return workspace / spill
    return None


def _write_output_file(trace: Path, record: dict[str, Any]) -> Path:
    """``<runs>/<runId>/<stepId>.output.txt``: the step's line, status, stdout and stderr."""
    step = record.get("step") or {}
    folder = trace.with_suffix("")
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{record.get('stepId')}.output.txt"
    line = step.get("cmd") or f"write {step.get('path')}"
    exit_code = step.get("exitCode")
    status = str(step.get("status")) + (f", exit code {exit_code}" if exit_code is not None else "")
    text = f"# step {record.get('stepId')} ({status}): {line}\n"
    for stream in ("stdout", "stderr"):
        text += f"\n## {stream}\n{step.get(stream) or ''}"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path
