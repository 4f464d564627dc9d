"""Picks the planner the configuration asks for (``agent.planner``).

``stub``: the offline planner alone. ``openai``: goal ids (built-in and workspace goals) are still
planned offline, free text goes to the model. Each Plan's ``planner`` field says which one made it
(``stub`` or ``openai:<model>``); that, not ``Planner.name``, is what RunResult.planner reports.
Importing this module does not import the OpenAI SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from engine.config import EngineConfig
from engine.models import Plan
from engine.plan.base import Planner
from engine.plan.goals import GOAL_ID
from engine.plan.openai import OpenAIPlanner
from engine.plan.stub import StubPlanner

__all__ = ["RoutingPlanner", "make_planner"]


def make_planner(config: EngineConfig) -> Planner:
    """The planner for ``config``; cheap (no SDK import, no I/O), so one per run is fine."""
    match config.planner:
        case "stub":
            return StubPlanner()
        case "openai":
            return RoutingPlanner(model=OpenAIPlanner.from_config(config), offline=StubPlanner())
        case unreachable:
            assert_never(unreachable)


class RoutingPlanner:
    """Goal ids to the offline planner, free text to the model.

    Anything shaped like an id (``^[\\w.:-]+$``) is the offline planner's, known or not: an unknown
    id is a typo to report with the list of known goals (UnknownGoal), not a task for the model.
    """

    def __init__(self, *, model: Planner, offline: Planner) -> None:
        self.model = model
        self.offline = offline

    @property
    def name(self) -> str:
        """The model planner's name; the plan's own ``planner`` field says who made each plan."""
        return self.model.name

    async def plan(self, goal: str, workspace: Path) -> Plan:
        if GOAL_ID.match(goal.strip()):
            return await self.offline.plan(goal, workspace)
        return await self.model.plan(goal, workspace)
