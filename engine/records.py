"""The trace records of docs/protocol.md: one model per record ``type`` of ``.agent/runs/*.jsonl``.

The writer (engine.trace) writes plain dicts on the hot path; these models are the schema of what
it writes (exported to docs/schema.json) and the tests validate every record of real runs against
them, so the two cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from engine.models import (
    Bits,
    Decision,
    Dialect,
    ModelUsage,
    Risk,
    StepResult,
    Stream,
    TracedStep,
    Widening,
    WireModel,
)


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
    """One round's plan (one record per round; ``round`` from 1, only when a model planned)."""

    type: Literal["plan.created"]
    planner: str
    steps: list[TracedStep]
    round: int | None = None
    done: bool | None = None  # false: the planner asked to see the outcomes and plan again
    summary: str | None = None


class ChatMessage(WireModel):
    role: Literal["system", "user", "assistant"]
    content: str


class TokenUsage(WireModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int | None = None


class ModelRequestedRecord(_Record):
    """A request to the language model. ``messages`` are the conversation's turns not traced
    before (answers are in ``model.answered``), ``system`` the system prompt when it changed: the
    trace holds the whole conversation once. Redacted like every record; never the key."""

    type: Literal["model.requested"]
    round: int
    attempt: int  # within the round: dialect fallbacks, retries and the repair each count
    planner: str
    model: str
    endpoint: str  # without credentials or query
    dialect: Dialect
    message_count: int
    messages: list[ChatMessage]
    system: str | None = None


class ModelAnsweredRecord(_Record):
    """How a request to the language model ended: ``plan`` (a valid plan), ``invalid`` (repaired
    or given up), ``refused`` (the server does not speak this dialect), ``failed`` (HTTP error,
    timeout, unreachable) or ``cancelled``."""

    type: Literal["model.answered"]
    round: int
    attempt: int
    dialect: Dialect
    outcome: Literal["plan", "invalid", "refused", "failed", "cancelled"]
    duration_ms: int
    answer: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None  # null when the server did not say
    error: str | None = None


class GateDecidedRecord(_Record):
    type: Literal["gate.decided"]
    step_id: str
    risk: Risk
    decision: Decision
    relied_on: list[str] | None = None  # what let it run beyond its level (sandbox, rule, mode)
    widenings: list[Widening] | None = None  # what the sandbox grants it when it runs


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
    saved: list[str] | None = None  # rules an "always" answer saved to the user's policy file
    unsaved: list[str] | None = None  # commands no rule can pin: remembered for the session


class CheckpointTakenRecord(_Record):
    """Before the first step runs: what the run may change was stored (docs/gate.md)."""

    type: Literal["checkpoint.taken"]
    scope: list[str] | None  # the paths stored; null: the whole workspace
    skipped: list[str]  # files too large to store


class CheckpointSealedRecord(_Record):
    """After the run: what it left was stored too, so it can be reverted."""

    type: Literal["checkpoint.sealed"]
    skipped: list[str]


class CheckpointFailedRecord(_Record):
    """A checkpoint that could not be taken or sealed: the run cannot be reverted."""

    type: Literal["checkpoint.failed"]
    stage: Literal["take", "seal"]
    error: str


class StepSandbox(WireModel):
    """What a step was allowed to touch: its sandbox (``writer``: agentd's confined writer wrote
    the file itself) and what the gate widened it by."""

    kind: Literal["bwrap", "landlock", "off", "writer"]
    widenings: list[Widening]


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
    usage: ModelUsage | None = None  # when a language model planned
    summary: str | None = None  # the planner's last word


TraceRecord = Annotated[
    RunStartedRecord
    | PlanCreatedRecord
    | ModelRequestedRecord
    | ModelAnsweredRecord
    | GateDecidedRecord
    | ApprovalRequestedRecord
    | ApprovalResolvedRecord
    | CheckpointTakenRecord
    | CheckpointSealedRecord
    | CheckpointFailedRecord
    | StepStartedRecord
    | StepFinishedRecord
    | RunFinishedRecord,
    Field(discriminator="type"),
]
