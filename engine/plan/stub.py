"""The offline default planner: plans built-in and workspace goals without a language model."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ModelNotConfigured, UnknownGoal
from engine.models import Plan
from engine.plan.base import PlanContext
from engine.plan.goals import GOAL_ID, find_goal, known_goal_ids

__all__ = ["StubPlanner"]


class StubPlanner:
    """Plans built-in goals, ``demo.*`` and workspace goals (``.agent/goals.toml``, which may not
    reuse a built-in id; a broken goals file fails only the goals that need it).

    A goal that looks like an id (``^[\\w.:-]+$``) but is not known raises ``UnknownGoal`` listing
    the known ones; anything else is free text, which needs a model: ``ModelNotConfigured``.
    """

    @property
    def name(self) -> str:
        return "stub"

    async def plan(self, goal: str, workspace: Path, context: PlanContext | None = None) -> Plan:
        goal_id = goal.strip()
        found = find_goal(goal_id, workspace)
        if found is not None:
            return Plan(goal=goal, planner=self.name, steps=list(found.steps(workspace)))
        if GOAL_ID.match(goal_id):
            raise UnknownGoal(goal_id, known_goal_ids(workspace))
        raise ModelNotConfigured(goal)
