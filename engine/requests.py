"""The params and results of the smaller methods: `agent/cancel`, `agent/listGoals`,
`agent/trace`, `agent/showOutput` and `agent/revert` (`agent/runGoal`'s are in models.py,
`agent/health`'s in health.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from engine.models import RunId, StepId, WireModel, WorkspaceRef


class CancelParams(WireModel):
    run_id: str = Field(min_length=1, max_length=128)


class CancelResult(WireModel):
    cancelled: bool


class ListGoalsParams(WireModel):
    workspace: WorkspaceRef | None = None


class GoalInfo(WireModel):
    id: str
    title: str
    source: Literal["builtin", "workspace"]
    needs_model: bool = False


class GoalsProblem(WireModel):
    """A goals file that could not be used; the goals beside it are still listed."""

    path: str
    message: str


class ListGoalsResult(WireModel):
    goals: list[GoalInfo]
    problems: list[GoalsProblem] = Field(default_factory=list)


class TraceParams(WireModel):
    run_id: RunId
    workspace: WorkspaceRef | None = None


class ShowOutputParams(WireModel):
    """``agent/showOutput`` (extension): open the file holding a step's full output."""

    run_id: RunId
    step_id: StepId
    workspace: WorkspaceRef | None = None


class ShowOutputResult(WireModel):
    uri: str  # the file with the step's output
    shown: bool  # the client answered window/showDocument with success


class TraceResult(WireModel):
    model_config = ConfigDict(extra="allow")
    run_id: str
    events: list[dict[str, Any]]


class RevertParams(WireModel):
    """``agent/revert`` (extension): put back what a run changed."""

    run_id: RunId
    workspace: WorkspaceRef | None = None


class RevertResult(WireModel):
    """What a revert did: paths put back as they were before the run; paths changed again since
    the run (left as they are); paths it could not store or restore safely."""

    run_id: str
    restored: list[str]
    conflicts: list[str]
    skipped: list[str]
