"""What the pipeline tells its listener while a run goes on (the server turns these into LSP).

Listeners are plain synchronous callables: they must not block; a server schedules its own I/O.
The StepResults they get are snapshots, safe to keep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.models import Risk, RunResult, StepResult, Stream

if TYPE_CHECKING:
    from engine.gate.base import Verdict


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    goal: str
    workspace: Path


@dataclass(frozen=True, slots=True)
class PlanReady:
    run_id: str
    planner: str
    # gated: risk and decision set, status pending (planned on a dry run)
    steps: list[StepResult]
    round: int = 1  # a model planner plans in rounds; each round's steps come in their own event


@dataclass(frozen=True, slots=True)
class StepUpdated:
    run_id: str
    step: StepResult


@dataclass(frozen=True, slots=True)
class OutputDelta:
    run_id: str
    step_id: str
    stream: Stream
    text: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    result: RunResult
    # step id -> 0-based line of its step.finished record in the trace (where diagnostics go)
    finished_lines: dict[str, int]


Event = RunStarted | PlanReady | StepUpdated | OutputDelta | RunFinished
Listener = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    run_id: str
    step: StepResult
    risk: Risk
    verdict: Verdict | None = None  # the gate's: which commands asked (what "always" saves)


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """How an ``ask`` was settled. ``by`` says who settled it: user, session, policy, run,
    timeout, ... An "always" answer says which rules it ``saved`` to the user's policy file and
    which commands no rule can pin down (``unsaved``: remembered for the session only)."""

    allowed: bool
    by: str
    option_id: str | None = None
    detail: str = ""
    saved: tuple[str, ...] = ()
    unsaved: tuple[str, ...] = ()


Ask = Callable[[ApprovalRequest], Awaitable[ApprovalOutcome]]
