"""Replays a recorded run: the plan of every round, read back from its trace, without any model.

Only what the trace proves is replayed: a trace whose hash chain does not verify is refused, and so
is a step that was recorded redacted (a command that held a secret, file content whose kept copy
no longer matches its SHA-256). The replay is gated and run like any other plan; its rounds follow
one another whatever the outcomes, as they were recorded.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import ReplayError, TraceError, describe_validation_error
from engine.models import Plan
from engine.plan.base import PlanContext
from engine.plan.content import load_content
from engine.secrets import REDACTED
from engine.trace import RUNS_DIR, read_trace, trace_path

__all__ = ["ReplayPlanner", "recorded_goal", "recorded_step"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _records(workspace: Path, run_id: str) -> list[dict[str, Any]]:
    try:
        report = read_trace(trace_path(workspace, run_id))
    except TraceError:
        raise ReplayError(f"runId: no trace of run {run_id!r} in {workspace}") from None
    if not report.verified:
        problems = "; ".join(report.problems[:3])
        raise ReplayError(f"runId: the trace of run {run_id!r} does not verify ({problems})")
    return report.records


def recorded_goal(workspace: Path, run_id: str) -> str:
    """The goal run ``run_id`` was started with (its ``run.started`` record)."""
    for record in _records(workspace, run_id):
        if record.get("type") == "run.started" and isinstance(record.get("goal"), str):
            return str(record["goal"])
    raise ReplayError(f"runId: the trace of run {run_id!r} has no run.started record")


class ReplayPlanner:
    """Plans round N of a run as round N of the recorded run ``run_id`` (same workspace); with
    ``step_ids``, only those steps (from any round) as one plan, their ``after`` kept among them."""

    def __init__(self, run_id: str, step_ids: list[str] | None = None) -> None:
        self.run_id = run_id
        self.step_ids = step_ids
        self._rounds: list[dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        return "replay"

    async def plan(self, goal: str, workspace: Path, context: PlanContext | None = None) -> Plan:
        round_ = context.round if context is not None else 1
        if self._rounds is None:
            self._rounds = self._load(workspace)
            if self.step_ids is not None:
                self._rounds = [self._picked(self._rounds)]
        if round_ > len(self._rounds):
            return Plan(goal=goal, planner=self.name, steps=[])
        recorded = self._rounds[round_ - 1]
        steps = [
            recorded_step(workspace, self.run_id, step) for step in recorded.get("steps") or []
        ]
        summary = recorded.get("summary")
        try:
            plan = Plan.model_validate({"goal": goal, "planner": self.name, "steps": steps})
        except ValidationError as exc:
            problem = describe_validation_error(exc, camel=True)
            raise ReplayError(f"runId: run {self.run_id!r} round {round_}: {problem}") from None
        return plan.model_copy(
            update={
                "done": round_ >= len(self._rounds),
                "summary": summary if isinstance(summary, str) else None,
            }
        )

    def _picked(self, rounds: list[dict[str, Any]]) -> dict[str, Any]:
        """One round of the steps asked for, in their recorded order."""
        wanted = set(self.step_ids or ())
        steps = [s for r in rounds for s in r.get("steps") or [] if s.get("id") in wanted]
        missing = sorted(wanted - {s.get("id") for s in steps})
        if missing:
            raise ReplayError(f"stepIds: run {self.run_id!r} has no step {missing[0]!r}")
        return {
            "steps": [
                {**s, "after": [a for a in s.get("after") or [] if a in wanted]} for s in steps
            ]
        }

    def _load(self, workspace: Path) -> list[dict[str, Any]]:
        rounds = [r for r in _records(workspace, self.run_id) if r.get("type") == "plan.created"]
        if not rounds:
            raise ReplayError(f"runId: run {self.run_id!r} recorded no plan (it failed planning)")
        return rounds


def recorded_step(workspace: Path, run_id: str, traced: dict[str, Any]) -> dict[str, Any]:
    """A step of run ``run_id`` as its ``plan.created`` record holds it, whole again: a
    writeFile's content read back from where the run kept it."""
    step = {k: v for k, v in traced.items() if not k.startswith("content")}
    where = f"runId: run {run_id!r} step {traced.get('id')!r}"
    if traced.get("kind") == "runCli":
        if REDACTED in str(traced.get("cmd", "")):
            raise ReplayError(
                f"{where}: its command held a secret and was recorded redacted; it cannot be "
                "replayed"
            )
        return step
    sha = str(traced.get("contentSha256", ""))
    try:
        if not _SHA256.match(sha):  # it names a file: nothing else may pass
            raise ValueError(sha)
        data = load_content(workspace / RUNS_DIR, run_id, sha)
    except (OSError, ValueError):
        raise ReplayError(f"{where}: the content it wrote was not kept") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise ReplayError(
            f"{where}: the kept content does not match its SHA-256 (it held a secret and was "
            "kept redacted, or it was changed); it cannot be replayed"
        )
    step["content"] = data.decode("utf-8")
    return step
