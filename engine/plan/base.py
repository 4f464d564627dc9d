"""The Planner interface: every source of plans (offline stub, model, replay) plugs in here."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.models import Plan


@runtime_checkable
class Planner(Protocol):
    """Makes a Plan for a goal in a workspace.

    ``name`` is what RunResult.planner reports (``stub``, ``replay``, ``openai:<model>``).
    Raise ``engine.errors.AgentError`` subclasses for goals it cannot plan (UnknownGoal,
    ModelNotConfigured, GoalsFileError) so the user sees a clear message.
    """

    @property
    def name(self) -> str: ...

    async def plan(self, goal: str, workspace: Path) -> Plan: ...
