"""Picks each run's planner from its configuration (and a request's ``planner: "replay"``).

``stub``: the offline planner alone. ``openai`` (and ``auto`` once an API key or a base URL is
configured): goal ids (built-in and workspace goals) are still planned offline, free text goes to
the model. ``replay``: the recorded plan of an earlier run. Each Plan's ``planner`` field says which
one made it (``stub``, ``openai:<model>``, ``replay``); that is what RunResult.planner reports.
Importing this module imports neither the OpenAI SDK nor the model planner.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import EngineConfig
from engine.models import Plan
from engine.plan.base import PlanContext, Planner
from engine.plan.dialects import ModelSession
from engine.plan.goals import GOAL_ID
from engine.plan.stub import StubPlanner

__all__ = ["Planners", "RoutingPlanner", "make_planner"]


class Planners:
    """Makes the planner of each run (cheap: no SDK import, no I/O) and keeps what the session
    learns about model servers (``session``: dialects, the last failure) across its runs."""

    def __init__(self, session: ModelSession | None = None) -> None:
        self.session = session or ModelSession()

    def __call__(
        self, config: EngineConfig, replay: str | None = None, step_ids: list[str] | None = None
    ) -> Planner:
        if replay is not None:
            from engine.plan.replay import ReplayPlanner

            return ReplayPlanner(replay, step_ids)
        return make_planner(config, self.session)


def make_planner(config: EngineConfig, session: ModelSession | None = None) -> Planner:
    """The planner ``config`` asks for."""
    if config.model_planner == "stub":
        return StubPlanner()
    from engine.plan.openai import OpenAIPlanner  # its prompts and schema only when needed

    return RoutingPlanner(model=OpenAIPlanner(config, session), offline=StubPlanner())


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

    async def plan(self, goal: str, workspace: Path, context: PlanContext | None = None) -> Plan:
        if GOAL_ID.match(goal.strip()):
            return await self.offline.plan(goal, workspace, context)
        return await self.model.plan(goal, workspace, context)
