"""The Planner interface: every source of plans (offline stub, model, replay) plugs in here."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.models import ModelUsage, Plan, StepResult


def _no_record(type_: str, **data: Any) -> int:
    return -1


def _as_is(text: str) -> str:
    return text


@dataclass(slots=True)
class Meter:
    """What a run has asked of a language model so far (RunResult.usage, and the token budget)."""

    rounds: int = 0
    calls: int = 0
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = 0
    spent: int = 0  # tokens counted against the budget: reported, else estimated

    def add(
        self, prompt: int | None, completion: int | None, total: int | None, estimate: int
    ) -> None:
        """One answer's usage; ``None`` figures make the sums unknown from now on."""
        self.calls += 1
        if prompt is None or completion is None:
            self.prompt_tokens = self.completion_tokens = self.total_tokens = None
            self.spent += estimate
            return
        total = prompt + completion if total is None else total
        if self.prompt_tokens is not None and self.completion_tokens is not None:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.total_tokens = (self.total_tokens or 0) + total
        self.spent += total

    def usage(self) -> ModelUsage | None:
        """RunResult.usage; None when no model was asked."""
        if not self.calls:
            return None
        return ModelUsage(
            rounds=self.rounds,
            calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )


@dataclass(slots=True)
class PlanContext:
    """What a planner is told about the run it plans for. ``round`` counts from 1; ``history``
    holds every earlier round's steps as they ended (a model planner shows the last one to the
    model); ``record`` writes a trace record (the model's requests and answers); ``redact`` masks
    secrets in whatever is taken from the workspace or from step output."""

    run_id: str = ""
    round: int = 1
    history: Sequence[Sequence[StepResult]] = ()
    record: Callable[..., int] = _no_record
    redact: Callable[[str], str] = _as_is
    meter: Meter = field(default_factory=Meter)
    began: float = field(default_factory=time.monotonic)  # the run's start, for the wall budget


@runtime_checkable
class Planner(Protocol):
    """Makes a Plan for a goal in a workspace, one round at a time.

    ``name`` is what RunResult.planner reports (``stub``, ``replay``, ``openai:<model>``).
    Raise ``engine.errors.AgentError`` subclasses for goals it cannot plan (UnknownGoal,
    ModelNotConfigured, GoalsFileError, PlannerError) so the user sees a clear message.
    A Plan with ``done`` false is asked for its next round (``context.round`` + 1) once its steps
    have run; a later round may be empty (nothing more to do).
    """

    @property
    def name(self) -> str: ...

    async def plan(
        self, goal: str, workspace: Path, context: PlanContext | None = None
    ) -> Plan: ...
