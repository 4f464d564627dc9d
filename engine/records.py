"""The trace records of docs/protocol.md: one model per record ``type`` of ``.agent/runs/*.jsonl``.

The writer (engine.trace) writes plain dicts on the hot path; these models are the schema of what
it writes (exported to docs/schema.json) and the tests validate every record of real runs against
them, so the two cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from engine.models import Bits, Decision, Risk, StepResult, Stream, TracedStep, WireModel


class _Record(WireModel):
    seq: int = Field(ge=0)
    ts: str  # ISO 8601 UTC with milliseconds, e.g. 2026-11-24T03:36:05.123Z
    prev: str  # SHA-256 hex of the previous line; "" for the first record
    # HMAC-SHA256 (hex) with the user's trace key over the previous mac and this line; always
    # the line's last field (engine.trace)
    mac: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class RunStartedRecord(_Record):
    type: Literal["run.started"]
    run_id: str
    goal: str
    workspace: str
    agentd_version: str
    params: dict[str, Any]  # the RunGoalParams as given, without the steps


class PlanCreatedRecord(_Record):
    type: Literal["plan.created"]
    planner: str
    steps: list[TracedStep]


class GateDecidedRecord(_Record):
    type: Literal["gate.decided"]
    step_id: str
    risk: Risk
    decision: Decision


class ApprovalRequestedRecord(_Record):
    type: Literal["approval.requested"]
    step_id: str
    risk: Risk


class ApprovalResolvedRecord(_Record):
    type: Literal["approval.resolved"]
    step_id: str
    allowed: bool
    by: str  # user, session, dismissed, run, timeout, unavailable, cancelled, error
    option_id: str | None = None
    detail: str = ""


class StepSandbox(WireModel):
    """What a step was allowed to touch: its sandbox (``writer``: agentd's confined writer wrote
    the file itself) and what the gate widened it by."""

    kind: Literal["bwrap", "landlock", "off", "writer"]
    widenings: list[Literal["network", "gitWrite"]]


class StepStartedRecord(_Record):
    type: Literal["step.started"]
    step_id: str
    sandbox: StepSandbox | None = None


class StepFinishedRecord(_Record):
    type: Literal["step.finished"]
    step_id: str
    step: StepResult
    spilled: dict[Stream, str] | None = None  # workspace-relative files with the full output
    spill_truncated: bool | None = None  # a spill file stopped at spillCapBytes
    timeout_ms: int | None = None
    bytes: int | None = None  # bytes written by a writeFile step
    error: str | None = None
    failed_dependencies: list[str] | None = None


class RunFinishedRecord(_Record):
    type: Literal["run.finished"]
    status: Literal["succeeded", "failed", "cancelled", "planned"]
    bits: Bits | None = None
    deliverables: list[str] | None = None
    duration_ms: int | None = None
    error: str | None = None  # why the run failed as a whole (not planned; trace unwritable)


TraceRecord = Annotated[
    RunStartedRecord
    | PlanCreatedRecord
    | GateDecidedRecord
    | ApprovalRequestedRecord
    | ApprovalResolvedRecord
    | StepStartedRecord
    | StepFinishedRecord
    | RunFinishedRecord,
    Field(discriminator="type"),
]
