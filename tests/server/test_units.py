"""Unit tests of the server's pure parts: coalescing, settings, error text, output locations."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from pygls.exceptions import JsonRpcException

from engine.config import EngineConfig
from engine.errors import UnknownGoal
from engine.models import RunGoalParams
from server.core.output import BURST, RATE_PER_SECOND, OutputCoalescer
from server.lsp.diagnostics import LOCATION, source_diagnostics
from server.lsp.rpc import validate
from server.lsp.runs import OUTPUT_DELTA, PLAN_READY, RUN_STARTED, STEP_UPDATED
from server.lsp.server import create_server
from server.lsp.settings import config_from_settings, settings_section
from server.transport.serve import parse_address


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_coalescer_spends_tokens_oldest_first_and_drops_the_rest_at_the_end() -> None:
    sent: list[tuple[str, str, str]] = []
    clock = FakeClock()
    coalescer = OutputCoalescer(lambda *args: sent.append(args), burst=2, clock=clock)
    coalescer.close()  # the timer must not fire in this test: the clock is fake
    for step_id in ("a", "b", "c"):
        coalescer.add(step_id, "stdout", f"{step_id}1 ")
    coalescer.add("a", "stdout", "a2 ")
    coalescer.finish_step("c")  # the bucket starts full (2 tokens): c's text goes at once
    assert sent == [("c", "stdout", "c1 ")]
    coalescer._on_timer()  # one token left: the oldest buffer goes, coalesced
    assert sent[1:] == [("a", "stdout", "a1 a2 ")]
    coalescer.finish_step("b")  # no token: b's text is left to its final agent/stepUpdated
    assert len(sent) == 2 and coalescer.withheld == 1
    clock.now += 1.5 / RATE_PER_SECOND  # one token back
    coalescer.add("d", "stderr", "d1")
    coalescer.close()
    assert sent[2:] == [("d", "stderr", "d1")]
    assert coalescer.sent == 3


async def test_coalescer_rate_in_any_second_is_bounded() -> None:
    sent: list[tuple[str, float]] = []
    coalescer = OutputCoalescer(lambda step_id, _s, _t: sent.append((step_id, time.monotonic())))
    began = time.monotonic()
    texts: dict[str, str] = {}
    while time.monotonic() - began < 1.5:
        for step_id in ("s1", "s2", "s3", "s4"):
            coalescer.add(step_id, "stdout", "x")
            texts[step_id] = texts.get(step_id, "") + "x"
        await asyncio.sleep(0.001)
    coalescer.close()
    times = [t for _, t in sent]
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert busiest <= RATE_PER_SECOND + BURST, busiest
    assert len(sent) >= RATE_PER_SECOND  # the budget is used, not wasted
    assert {step_id for step_id, _ in sent} == set(texts)  # oldest first: nobody starves


def test_settings_section_shapes() -> None:
    assert settings_section({"agent": {"maxParallel": 2}}) == {"maxParallel": 2}
    assert settings_section({"maxParallel": 2}) == {"maxParallel": 2}
    assert settings_section(None) is None
    assert settings_section([1]) is None


def test_settings_errors_use_wire_names_and_hide_values() -> None:
    base = EngineConfig()
    with pytest.raises(ValueError) as caught:
        config_from_settings(base, {"stepTimeoutMs": -5, "apiKey": 12345})
    assert "stepTimeoutMs" in str(caught.value)
    assert "12345" not in str(caught.value)
    merged = config_from_settings(base, {"model": "m", "unknownKey": 1})
    assert merged.model == "m"


def test_validation_errors_name_nested_fields() -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, {"steps": [{"kind": "writeFile", "path": "a"}]})
    assert caught.value.message == "steps[0].content: Field required"
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, "goal")
    assert caught.value.message.startswith("params:")


@pytest.mark.parametrize(
    ("line", "path", "row", "col"),
    [
        ("src/a.py:3:1: boom", "src/a.py", "3", "1"),
        ("lib/x.c:10: error: bad", "lib/x.c", "10", None),
        ("/abs/p.py:7:2: E1 thing", "/abs/p.py", "7", "2"),
    ],
)
def test_output_locations(line: str, path: str, row: str, col: str | None) -> None:
    match = LOCATION.match(line)
    assert match is not None
    assert (match["path"], match["line"], match["col"]) == (path, row, col)


def test_no_location_in_plain_text() -> None:
    assert LOCATION.match("Running: 3 tests") is None
    assert LOCATION.match("  at 12:30: noon") is None


def test_source_diagnostics_stay_in_the_workspace(tmp_path: Path) -> None:
    from engine.models import Risk, StepResult

    (tmp_path / "a.py").write_text("x\n")
    out = "a.py:1: inside\n../outside.py:1: no\n/etc/hosts:1: no\n"
    failed = StepResult(
        id="s1", kind="runCli", cmd="lint", risk=Risk(level="low"), decision="allow",
        status="failed", stdout=out,
    )  # fmt: skip
    found = source_diagnostics(tmp_path, [failed])
    assert list(found) == [(tmp_path / "a.py").as_uri()]


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("8080", "host:", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_address(bad)


async def test_unexpected_errors_become_internal_errors() -> None:
    server = create_server()

    async def broken(params: Any) -> Any:
        raise RuntimeError("boom")

    async def unknown(params: Any) -> Any:
        raise UnknownGoal("x", ["demo.test"])

    with pytest.raises(JsonRpcException) as caught:
        await server.answerer.answer("agent/x", broken, {})
    assert caught.value.code == -32603
    assert "boom" in caught.value.message
    with pytest.raises(JsonRpcException) as caught:
        await server.answerer.answer("agent/x", unknown, {})
    assert caught.value.code == -32602
    assert caught.value.message.startswith("goal: unknown goal")


def test_python_names_are_not_wire_names() -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, {"goal": "demo.test", "dry_run": True})
    assert caught.value.message == "dry_run: Extra inputs are not permitted"
    assert validate(RunGoalParams, {"goal": "demo.test", "dryRun": True}).dry_run is True
    merged = config_from_settings(EngineConfig(), {"max_parallel": 3, "stepTimeoutMs": 5000})
    assert (merged.max_parallel, merged.step_timeout_ms) == (8, 5000)


async def test_no_import_per_engine_event() -> None:
    from engine.events import OutputDelta, PlanReady, RunFinished, RunStarted, StepUpdated
    from engine.models import Bits, Risk, RunResult, StepResult
    from server.lsp.progress import RunProgress
    from server.lsp.runs import RunSession

    server = create_server()
    sent: list[tuple[str, dict[str, Any]]] = []
    session = RunSession(server, RunProgress(server, "explicit steps"))
    session._notify = lambda method, params: sent.append((method, params))  # type: ignore[method-assign]
    step = StepResult(id="s1", kind="runCli", cmd="echo", risk=Risk(level="low"), decision="allow",
                      status="running")  # fmt: skip
    done = step.model_copy(update={"status": "succeeded", "stdout": "hi\n"})
    result = RunResult(run_id="r", goal="explicit", planner="explicit", status="succeeded",
                       steps=["echo"], stdout="hi\n", deliverables=[], bits=Bits(t=0.9),
                       results=[done], trace="t")  # fmt: skip
    run_events = [
        RunStarted("r", "explicit", Path()),
        PlanReady("r", "explicit", [step]),
        StepUpdated("r", step),
        OutputDelta("r", "s1", "stdout", "hi\n"),
        StepUpdated("r", done),
        RunFinished("r", result),
    ]
    real_import = __import__
    imported: list[str] = []

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return real_import(name, *args, **kwargs)

    with patch("builtins.__import__", spy):
        for event in run_events:
            session.on_event(event)
    assert imported == []
    methods = [method for method, _ in sent]
    assert methods == [RUN_STARTED, PLAN_READY, STEP_UPDATED, OUTPUT_DELTA, STEP_UPDATED]
    assert sent[3][1] == {"runId": "r", "stepId": "s1", "stream": "stdout", "text": "hi\n"}
    assert sent[4][1]["step"]["stdout"] == "hi\n"


def test_outcome_line_of_a_plan() -> None:
    from engine.models import Bits, Risk, RunResult, StepResult
    from server.lsp.runs import outcome_line

    planned = StepResult(id="s1", kind="runCli", cmd="x", risk=Risk(level="low"),
                         decision="allow", status="planned")  # fmt: skip
    result = RunResult(run_id="r", goal="g", planner="stub", status="planned", steps=["x", "x"],
                       stdout="", deliverables=[], bits=Bits(t=0.0), results=[planned, planned],
                       trace="t")  # fmt: skip
    assert outcome_line(result) == "planned: 2 steps"
