"""Fixtures of the planner tests: a loopback OpenAI-compatible server, and runs planned by it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import EngineConfig
from engine.engine import Engine
from engine.events import Event
from engine.models import RunGoalParams, RunResult
from tests.engine.plan.fake_openai import FakeOpenAI
from tests.engine.runs import FAST, trace_types

KEY = "sk-test-" + "Zq9Xw8Vu7T" * 4
MODEL = "test-model"
GOAL = "write a greeting to out/hi.txt and show it"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def model_config(fake: FakeOpenAI | None, **changes: Any) -> EngineConfig:
    """FAST with the openai planner at ``fake`` (key KEY, model MODEL), plus ``changes``."""
    values: dict[str, Any] = {
        "planner": "openai",
        "model": MODEL,
        "base_url": fake.base_url if fake else None,
        "api_key": KEY,
        "model_retries": 0,
    }
    return FAST.merged(**{**values, **changes})


class Recorder:
    """A run's listener that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


async def model_run(
    ws: Path, engine: Engine, listener: Recorder | None = None, **params: Any
) -> RunResult:
    """A run of ``params`` (the goal GOAL by default), its trace checked against the records."""
    params.setdefault("goal", GOAL)
    handle = engine.start(RunGoalParams.model_validate(params), workspace=ws, listener=listener)
    result = await handle.result()
    trace_types(ws, result)
    return result
