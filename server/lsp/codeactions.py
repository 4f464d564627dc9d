"""Code actions on run diagnostics: re-run the step, re-run the goal, open the step's output,
revert the run (when it left a checkpoint).

Every run diagnostic (on the trace file and on source files) carries ``data: {runId, stepId,
workspace}``. The actions are plain commands executed through ``workspace/executeCommand``, so an
editor needs no code of its own for them; the steps come from the run's trace (``plan.created``),
and a writeFile step whose content the trace no longer holds is not offered for a re-run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from engine.engine import Engine
from engine.errors import AgentError
from engine.execute.checkpoint import has_checkpoint
from server import wire
from server.lsp.diagnostics import SOURCE

log = logging.getLogger(__name__)

KIND = types.CodeActionKind.QuickFix


def code_actions(engine: Engine, params: types.CodeActionParams) -> list[types.CodeAction]:
    actions: list[types.CodeAction] = []
    seen: set[str] = set()
    for diagnostic in params.context.diagnostics:
        data = diagnostic.data
        if diagnostic.source != SOURCE or not isinstance(data, dict):
            continue
        where = _where(data)
        if where is None:
            continue
        run_id, step_id, workspace = where
        try:
            records = engine.read_trace(Path(workspace), run_id)
        except AgentError as exc:  # the trace was removed since: nothing to offer
            log.info("no code actions for run %s: %s", run_id, exc)
            continue
        for action in _for_step(records, run_id, step_id, workspace):
            if action.title not in seen:  # several diagnostics of one step share their actions
                seen.add(action.title)
                action.diagnostics = [diagnostic]
                actions.append(action)
    return actions


def _where(data: dict[str, Any]) -> tuple[str, str, str] | None:
    """(runId, stepId, workspace) of a run diagnostic's data; None when it is not one."""
    run_id, step_id, workspace = data.get("runId"), data.get("stepId"), data.get("workspace")
    if isinstance(run_id, str) and isinstance(step_id, str) and isinstance(workspace, str):
        return run_id, step_id, workspace
    return None


def _for_step(
    records: list[dict[str, Any]], run_id: str, step_id: str, workspace: str
) -> list[types.CodeAction]:
    started = next((r for r in records if r.get("type") == "run.started"), {})
    planned = next((r for r in records if r.get("type") == "plan.created"), {})
    steps = {s.get("id"): s for s in planned.get("steps") or [] if isinstance(s, dict)}
    actions = []
    step = _runnable(steps.get(step_id))
    if step is not None:
        step.pop("after", None)  # alone: what it waited for has already run
        alone: dict[str, Any] = {"workspace": workspace, "steps": [step]}
        actions.append(_action(f"Re-run step {step_id}", wire.RUN_GOAL, alone))
    goal = started.get("goal")
    if isinstance(goal, str) and goal != "explicit":
        actions.append(
            _action(f"Re-run goal {goal}", wire.RUN_GOAL, {"workspace": workspace, "goal": goal})
        )
    elif goal == "explicit":  # explicit steps: the same steps again, if all can be re-run
        again = [r for r in map(_runnable, steps.values()) if r is not None]
        if again and len(again) == len(steps):
            arguments: dict[str, Any] = {"workspace": workspace, "steps": again}
            actions.append(_action("Re-run these steps", wire.RUN_GOAL, arguments))
    output = {"workspace": workspace, "runId": run_id, "stepId": step_id}
    actions.append(_action(f"Open output of step {step_id}", wire.SHOW_OUTPUT, output))
    if has_checkpoint(Path(workspace), run_id):
        revert = {"workspace": workspace, "runId": run_id}
        actions.append(_action(f"Revert run {run_id}", wire.REVERT, revert))
    return actions


def _runnable(step: Any) -> dict[str, Any] | None:
    """A traced step as Step params again; None for a writeFile without its content."""
    if not isinstance(step, dict):
        return None
    if step.get("kind") == "runCli":
        return {k: v for k, v in step.items() if k in ("id", "kind", "cmd", "after", "timeoutMs")}
    return None  # writeFile: the trace holds only the content's size and hash


def _action(title: str, command: str, arguments: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KIND,
        command=types.Command(title=title, command=command, arguments=[arguments]),
    )
