"""What the server sends the client while a run goes (docs/protocol.md "Server to client"): the
notifications' params, and the permission request with the answer it expects."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from engine.models import PermissionKind, Risk, StepResult, Stream, WireModel


class RunStartedParams(WireModel):
    """``agent/runStarted``: sent as soon as a run is accepted, before planning."""

    run_id: str
    goal: str
    work_done_token: str | int | None = None
    workspace: str | None = None  # extension: the run's workspace
    dry_run: bool = False  # extension: agent/plan or dryRun (nothing will be executed)


class PlanReadyParams(WireModel):
    """``agent/planReady`` (extension): the gated plan, steps ``pending`` (``planned`` if dry)."""

    run_id: str
    planner: str
    steps: list[StepResult]
    round: int = 1  # extension: a model planner's later rounds each send their own planReady


class StepUpdatedParams(WireModel):
    """``agent/stepUpdated``: a step's status changed."""

    run_id: str
    step: StepResult


class OutputDeltaParams(WireModel):
    """``agent/outputDelta``: coalesced output of a running step."""

    run_id: str
    step_id: str
    stream: Stream
    text: str


class PermissionOption(WireModel):
    option_id: str
    name: str
    kind: PermissionKind


class RequestPermissionParams(WireModel):
    """``agent/requestPermission`` (server -> client request) for a step whose decision is ask."""

    run_id: str
    step: StepResult
    risk: Risk
    options: list[PermissionOption]


class RequestPermissionResult(WireModel):
    """The client's answer to ``agent/requestPermission``."""

    model_config = ConfigDict(extra="ignore")
    outcome: Literal["selected", "cancelled"]
    option_id: str | None = None
