"""The ``agent/*`` methods of a language-server session, on top of the engine.

Loaded off the event loop once ``initialize`` arrives (it imports the engine and pydantic), so the
session answers ``initialize`` about as fast as a bare pygls server. Each method validates its
params with the engine's models (-32602 naming the field) and answers plain JSON.

Cancellation routes of a run (see docs/protocol.md):
- ``$/cancelRequest`` on the request: the request task is cancelled, ``RunHandle.result`` cancels
  the run and waits for its cleanup, and the request is answered -32800;
- ``window/workDoneProgress/cancel`` on the run's token and ``agent/cancel {runId}``: the run is
  cancelled and the request is answered with its RunResult (status ``cancelled``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from lsprotocol import types
from lsprotocol.types import ClientCapabilities
from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcInvalidParams

from engine.aio import OFF_LOOP_STEPS
from engine.engine import Engine
from engine.errors import AgentError, describe_validation_error
from engine.execute.reaper import claim_strays
from engine.health import HealthParams, HealthResult
from engine.layers import load_layers
from engine.models import RunGoalParams
from engine.requests import (
    CancelParams,
    ListGoalsParams,
    RevertParams,
    RevertResult,
    ShowOutputParams,
    TraceParams,
)
from engine.userdirs import policy_file
from engine.workspace import check_workspace, resolve_workspace
from server.core.approvals import Approvals
from server.core.output import Backpressure
from server.core.runs import RunTokens, outcome_line
from server.core.settings import Settings
from server.lsp.approvals import LspAsker
from server.lsp.codeactions import code_actions
from server.lsp.diagnostics import DiagnosticsPublisher
from server.lsp.notify import RunNotifier
from server.lsp.progress import ProgressWire, RunProgress

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Method = Callable[[Any], Awaitable[Any]]


class Session(ProgressWire, Protocol):
    """What the methods need of their language-server session (``AgentServer``)."""

    @property
    def backpressure(self) -> Backpressure: ...

    def default_workspace(self) -> Path | None: ...

    def workspace_folders(self) -> list[Path]: ...

    def show_warning(self, message: str) -> None: ...

    def show_document(self, uri: str) -> Awaitable[bool]: ...


def validate(model: type[M], params: Any) -> M:
    """The params as ``model``, or -32602 naming the bad field (wire names only: ``dry_run`` is
    an unknown field, not an alias)."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise JsonRpcInvalidParams(f"params: expected an object, got {type(params).__name__}")
    try:
        return model.model_validate(params, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise JsonRpcInvalidParams(describe_validation_error(exc)) from None


class AgentMethods:
    """The engine, the session's runs and approvals, and every ``agent/*`` method."""

    def __init__(self, session: Session, initialization_options: Any) -> None:
        claim_strays()  # this process spawns nothing but steps: every stray child is theirs
        self._session = session
        layers = load_layers()  # the user's config file and the environment, under the settings
        self.engine = Engine(layers.config)
        self.engine.problems = layers.problems
        self._key_source = layers.sources.get("apiKey")
        for problem in layers.problems:
            log.warning("configuration: %s", problem)
            session.show_warning(f"agentd configuration: {problem}")
        self.tokens = RunTokens(self.engine.cancel)
        self.approvals = Approvals(LspAsker(session.request_client, session.capabilities))
        self.diagnostics = DiagnosticsPublisher(self._publish_diagnostics)
        self.settings = Settings(self.engine.configure, session.show_warning)
        if initialization_options is not None:
            self.settings.apply(
                initialization_options, self.engine.config, origin="initializationOptions"
            )
        self.methods: dict[str, Method] = {
            "agent/runGoal": self.run_goal,
            "agent/plan": self.plan,
            "agent/cancel": self.cancel,
            "agent/listGoals": self.list_goals,
            "agent/trace": self.trace,
            "agent/health": self.health,
            "agent/showOutput": self.show_output,
            "agent/revert": self.revert,
        }

    def capabilities(self) -> ClientCapabilities | None:
        return self._session.capabilities()

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(self.engine, params)

    # -- runs ----------------------------------------------------------------------------------
    async def run_goal(self, params: Any) -> dict[str, Any]:
        return await self._run(await self._run_params(params))

    async def plan(self, params: Any) -> dict[str, Any]:
        request = await self._run_params(params)
        return await self._run(request.model_copy(update={"dry_run": True}))

    async def _run_params(self, params: Any) -> RunGoalParams:
        """Validated run params; a plan past ``agent.maxSteps`` is refused before it is even
        validated, and a large one is validated off the event loop (other requests go on)."""
        steps = params.get("steps") if isinstance(params, dict) else None
        count = len(steps) if isinstance(steps, list) else 0
        limit = self.engine.config.max_steps
        if count > limit:
            raise JsonRpcInvalidParams(
                f"steps: {count} steps are more than the {limit} a plan may have "
                "(the setting agent.maxSteps)"
            )
        if count > OFF_LOOP_STEPS:
            return await asyncio.to_thread(validate, RunGoalParams, params)
        return validate(RunGoalParams, params)

    async def cancel(self, params: Any) -> dict[str, Any]:
        request = validate(CancelParams, params)
        return {"cancelled": self.engine.cancel(request.run_id)}

    async def _run(self, request: RunGoalParams) -> dict[str, Any]:
        workspace = self._workspace(request.workspace, run=True)
        self.tokens.check_free(request.work_done_token)
        # The run starts at once: a server-created token begins when the client accepts it.
        progress = RunProgress(self._session, request.goal or "explicit steps")
        progress.start(request.work_done_token)
        notifier = RunNotifier(
            self._session, progress, self._session.backpressure, dry_run=request.dry_run
        )
        outcome = "failed: the run did not start"
        try:
            handle = self.engine.start(
                request,
                workspace=workspace,
                listener=notifier.on_event,
                ask=self.approvals.asker(workspace),
            )
            notifier.run_id = handle.run_id
            self.tokens.bind(progress.token, handle.run_id)
            # If this task is cancelled ($/cancelRequest), result() cancels the run and waits
            # for its processes and trace to be finished before CancelledError reaches us.
            result = await handle.result()
            outcome = outcome_line(result)
            return result.wire()
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except AgentError as exc:
            outcome = f"failed: {exc}"
            raise
        except Exception:
            outcome = "failed: internal error"
            raise
        finally:
            self.tokens.release(progress.token)
            try:
                await notifier.end(outcome)
            finally:
                if notifier.result is not None and not request.dry_run:
                    self._run_finished(workspace, notifier)

    def _run_finished(self, workspace: Path, notifier: RunNotifier) -> None:
        assert notifier.result is not None
        try:
            self.diagnostics.run_finished(workspace, notifier.result, notifier.finished_lines)
        except Exception:  # diagnostics are a courtesy; they never fail the run's answer
            log.exception("run %s: publishing diagnostics failed", notifier.result.run_id)

    def _publish_diagnostics(self, uri: str, diagnostics: list[dict[str, Any]]) -> None:
        self._session.notify(
            "textDocument/publishDiagnostics", {"uri": uri, "diagnostics": diagnostics}
        )

    # -- queries -------------------------------------------------------------------------------
    def _workspace(self, given: str | None, *, run: bool = False) -> Path:
        """The workspace a request names (or the default); for a run or anything that writes
        there, also one the user opened (never home itself or a system directory)."""
        workspace = resolve_workspace(given, self._session.default_workspace())
        if run:
            check_workspace(workspace, self._session.workspace_folders())
        return workspace

    async def list_goals(self, params: Any) -> dict[str, Any]:
        request = validate(ListGoalsParams, params)
        default = self._session.default_workspace()
        # Without any workspace the built-in goals are still worth listing.
        workspace = (
            resolve_workspace(request.workspace, default)
            if request.workspace is not None or default is not None
            else None
        )
        return self.engine.list_goals(workspace).wire()

    async def trace(self, params: Any) -> dict[str, Any]:
        request = validate(TraceParams, params)
        events = self.engine.read_trace(self._workspace(request.workspace), request.run_id)
        return {"runId": request.run_id, "events": events}

    async def health(self, params: Any) -> dict[str, Any]:
        request = validate(HealthParams, params)
        default = self._session.default_workspace()
        self.engine.key_source = (
            "editor settings" if self.settings.api_key_from_settings else self._key_source
        )
        health = await self.engine.health(check_model=request.check_model)
        rules, errors = await asyncio.to_thread(_policy_health, default)
        return HealthResult(
            **health.model_dump(),
            approvals=self.approvals.mechanism(),
            workspace=str(default) if default is not None else None,
            policy_file=str(policy_file()),
            policy_rules=rules,
            policy_errors=errors,
        ).wire()

    async def revert(self, params: Any) -> dict[str, Any]:
        """Put back what a run changed, from its checkpoint (docs/gate.md)."""
        request = validate(RevertParams, params)
        workspace = self._workspace(request.workspace, run=True)  # it changes files
        report = await self.engine.revert(workspace, request.run_id)
        return RevertResult(
            run_id=request.run_id,
            restored=list(report.restored),
            conflicts=list(report.conflicts),
            skipped=list(report.skipped),
        ).wire()

    async def show_output(self, params: Any) -> dict[str, Any]:
        """Open a file with a step's full output in the editor (``window/showDocument``)."""
        request = validate(ShowOutputParams, params)
        workspace = self._workspace(request.workspace, run=True)  # it writes the output file
        uri = self.engine.step_output(workspace, request.run_id, request.step_id).as_uri()
        return {"uri": uri, "shown": await self._session.show_document(uri)}


def _policy_health(workspace: Path | None) -> tuple[int, list[str]]:
    """(rules in force in ``workspace``, broken policy files): the user's file alone without a
    workspace. Blocking (reads the files)."""
    from engine.gate.policy import PolicyError, load_policy
    from engine.gate.policy_edit import list_rules

    if workspace is not None:
        policy = load_policy(workspace)
        return len(policy.rules), list(policy.errors)
    try:
        return len(list_rules()), []
    except PolicyError as exc:
        return 0, [str(exc)]
