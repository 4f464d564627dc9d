"""Progress and live notifications: runStarted, stepUpdated, coalesced outputDelta, $/progress."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types

from tests.server.agent_client import (
    CLIENTS,
    AgentClient,
    call,
    capabilities,
    command,
    config,
    initialize,
    step,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def notes_of(client: AgentClient, method: str, run_id: str) -> list[dict[str, Any]]:
    return [n for n in client.notes[method] if n["runId"] == run_id]


def check_progress(values: list[Any], goal: str, outcome: str, steps: int) -> None:
    begin, *reports, end = values
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == f"Agent: {goal}"
    assert begin.cancellable is True
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    finished = [r for r in reports if r.message and "/" in r.message.split(":")[0]]
    assert len(finished) == steps
    assert finished[-1].percentage == 100
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert end.message is not None and end.message.startswith(outcome)


@pytest.mark.parametrize("form", ["request", "command"])
async def test_progress_on_the_clients_token(
    client: AgentClient, form: str, tmp_path: Path
) -> None:
    token = f"client-token-{form}"
    client.progress_reports.setdefault(token, [])  # as if the client had made it
    params = {
        "workspace": str(tmp_path),
        "steps": [step("true"), step("false")],
        "workDoneToken": token,
    }
    if form == "request":
        result = await call(client, "agent/runGoal", params)
    else:
        result = await command(client, "agent/runGoal", params)
    assert result["status"] == "failed"
    check_progress(client.progress_reports[token], "explicit steps", "failed", steps=2)
    (started,) = notes_of(client, "agent/runStarted", result["runId"])
    assert started == {"runId": result["runId"], "goal": "explicit", "workDoneToken": token}


async def test_progress_on_a_server_created_token(client: AgentClient, tmp_path: Path) -> None:
    before = set(client.progress_reports)
    result = await call(client, "agent/runGoal", {"goal": "demo.test", "workspace": str(tmp_path)})
    (token,) = set(client.progress_reports) - before
    check_progress(client.progress_reports[token], "demo.test", "succeeded", steps=1)
    (started,) = notes_of(client, "agent/runStarted", result["runId"])
    assert started["workDoneToken"] == token


async def test_a_token_is_forgotten_after_its_run(client: AgentClient, tmp_path: Path) -> None:
    client.progress_reports.setdefault("reused", [])
    params = {"workspace": str(tmp_path), "steps": [step("true")], "workDoneToken": "reused"}
    await call(client, "agent/runGoal", params)
    await call(client, "agent/runGoal", params)  # accepted again: the first run let go of it
    ends = [
        v for v in client.progress_reports["reused"] if isinstance(v, types.WorkDoneProgressEnd)
    ]
    assert len(ends) == 2


async def test_step_updates_follow_every_status(client: AgentClient, tmp_path: Path) -> None:
    steps = [
        step("echo one", id="a"),
        step("echo two", id="b", after=["a"]),
        step("rm -rf /", id="c"),
    ]
    result = await call(client, "agent/runGoal", {"workspace": str(tmp_path), "steps": steps})
    updates = notes_of(client, "agent/stepUpdated", result["runId"])
    by_step: dict[str, list[str]] = {}
    for update in updates:
        by_step.setdefault(update["step"]["id"], []).append(update["step"]["status"])
    assert by_step["a"] == ["running", "succeeded"]
    assert by_step["b"] == ["running", "succeeded"]
    assert by_step["c"] == ["denied"]
    (plan,) = notes_of(client, "agent/planReady", result["runId"])
    assert [s["id"] for s in plan["steps"]] == ["a", "b", "c"]


async def test_output_is_coalesced_without_losing_text(client: AgentClient, tmp_path: Path) -> None:
    # ~2 s of steady output from two steps at once: hundreds of writes, few notifications.
    printer = "for i in $(seq 1 200); do echo {name} line $i; sleep 0.01; done"
    steps = [step(printer.format(name="A"), id="A"), step(printer.format(name="B"), id="B")]
    began = time.monotonic()
    result = await call(client, "agent/runGoal", {"workspace": str(tmp_path), "steps": steps})
    elapsed = time.monotonic() - began
    assert result["status"] == "succeeded"
    deltas = notes_of(client, "agent/outputDelta", result["runId"])
    for name in ("A", "B"):
        text = "".join(d["text"] for d in deltas if d["stepId"] == name and d["stream"] == "stdout")
        assert text == "".join(f"{name} line {i}\n" for i in range(1, 201))
    assert len(deltas) <= 20 * elapsed + 4, (len(deltas), elapsed)


async def test_a_flood_is_delivered_in_few_notifications(
    client: AgentClient, tmp_path: Path
) -> None:
    result = await call(
        client, "agent/runGoal", {"workspace": str(tmp_path), "steps": [step("seq 1 20000")]}
    )
    deltas = notes_of(client, "agent/outputDelta", result["runId"])
    assert "".join(d["text"] for d in deltas) == result["results"][0]["stdout"]
    assert len(deltas) <= 10


async def test_output_comes_before_the_final_step_update(
    client: AgentClient, tmp_path: Path
) -> None:
    result = await call(
        client, "agent/runGoal", {"workspace": str(tmp_path), "steps": [step("echo last")]}
    )
    run = [(m, n) for m, n in client.arrivals if n["runId"] == result["runId"]]
    methods = [m for m, _ in run]
    assert methods[0] == "agent/runStarted"
    assert methods[-2:] == ["agent/outputDelta", "agent/stepUpdated"]
    assert run[-2][1]["text"] == "last\n"
    assert run[-1][1]["step"]["status"] == "succeeded"


@pytest_lsp.fixture(config=config(), params=CLIENTS)
async def no_progress_client(
    lsp_client: AgentClient, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    caps = capabilities(request.param, work_done_progress=False)
    await initialize(lsp_client, caps, tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_no_server_token_without_the_capability(no_progress_client: AgentClient) -> None:
    client = no_progress_client
    result = await call(client, "agent/runGoal", {"steps": [step("true")]})
    assert result["status"] == "succeeded"
    assert client.progress_reports == {}
    (started,) = client.notes["agent/runStarted"]
    assert started["workDoneToken"] is None
