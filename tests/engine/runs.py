"""Running goals through the real Engine in tests, checking every trace on the way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from engine.config import EngineConfig
from engine.engine import Engine
from engine.events import Event
from engine.models import RunGoalParams, RunResult
from engine.records import TraceRecord
from engine.trace import read_trace

# The engine tests test its mechanics unsandboxed (a sandboxed step's pids mean nothing outside
# it); tests/engine/execute/test_sandbox.py tests the sandbox.
FAST = EngineConfig(kill_grace_ms=200, approval_timeout_ms=300, sandbox="off")


async def run(
    ws: Path,
    engine: Engine | None = None,
    listener: Callable[[Event], None] | None = None,
    **params: Any,
) -> RunResult:
    engine = engine or Engine(FAST)
    handle = engine.start(RunGoalParams.model_validate(params), workspace=ws, listener=listener)
    result = await handle.result()
    trace_types(ws, result)
    return result


RECORD = TypeAdapter(TraceRecord)


def records(ws: Path, result: RunResult, type_: str) -> list[dict[str, Any]]:
    """The run's trace records of one type."""
    return [r for r in read_trace(ws / result.trace).records if r["type"] == type_]


def trace_types(ws: Path, result: RunResult) -> list[str]:
    """The record types of a run's trace, after checking the chain and every record's schema."""
    report = read_trace(ws / result.trace)
    assert report.verified and report.complete and report.keyed, report.problems
    for record in report.records:
        RECORD.validate_python(record)  # the records are exactly what engine.records documents
    return [r["type"] for r in report.records]
