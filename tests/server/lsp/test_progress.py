"""Progress and live notifications: runStarted, stepUpdated, coalesced outputDelta, $/progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types

from server.core.output import RATE_PER_SECOND
from server.lsp.progress import CREATE_TIMEOUT_S
from tests.server.agent_client import (
    CLIENTS,
    AgentClient,
    call,
    capabilities,
    command,
    config,
    initialize,
    run_ids,
    send_run,
    step,
    trace_complete,
    wait_until,
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
    if begin.message and "/" in begin.message.split(":")[0]:
        # The client answered create after steps had finished: begin carries the latest report
        # (docs/protocol.md, Progress), so the steps before it get no report of their own.
        finished.insert(0, begin)
        assert len(finished) <= steps
    else:
        assert len(finished) == steps
    last = finished[-1].message
    assert last is not None and last.startswith(f"{steps}/{steps}: ")
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
    assert started == {
        "runId": result["runId"],
        "goal": "explicit",
        "workDoneToken": token,
        "workspace": str(tmp_path),
        "dryRun": False,
    }


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


def check_output(client: AgentClient, run_id: str, expected: dict[str, str]) -> int:
    """Each step's final stdout is its whole output, and its deltas (all before its final
    stepUpdated) are a prefix of it; so deltas and final updates together miss nothing.
    Returns the number of deltas."""
    run = [(m, n) for m, n in client.arrivals if n["runId"] == run_id]
    for step_id, text in expected.items():
        finals = [
            i
            for i, (m, n) in enumerate(run)
            if m == "agent/stepUpdated"
            and n["step"]["id"] == step_id
            and n["step"]["status"] not in ("pending", "awaitingApproval", "running")
        ]
        (final,) = finals
        assert run[final][1]["step"]["stdout"] == text
        deltas = [
            (i, n)
            for i, (m, n) in enumerate(run)
            if m == "agent/outputDelta" and n["stepId"] == step_id
        ]
        assert all(i < final for i, _ in deltas)
        assert text.startswith("".join(n["text"] for _, n in deltas if n["stream"] == "stdout"))
    return sum(1 for m, _ in run if m == "agent/outputDelta")


async def test_many_printing_steps_share_the_runs_budget(
    client: AgentClient, tmp_path: Path
) -> None:
    # Each step prints once and ends: every delta is a prefix of its step's final output (the
    # rate bound itself is tested on an injected clock: tests/server/core/test_output.py).
    steps = [step(f"echo hello {i}", id=f"e{i}") for i in range(100)]
    result = await call(client, "agent/runGoal", {"workspace": str(tmp_path), "steps": steps})
    assert result["status"] == "succeeded"
    check_output(client, result["runId"], {f"e{i}": f"hello {i}\n" for i in range(100)})


async def test_output_rate_is_bounded_in_every_second(client: AgentClient, tmp_path: Path) -> None:
    # ~1.6 s of steady output from 12 steps at once: hundreds of writes, few notifications.
    printer = "for j in $(seq 1 40); do echo {i} line $j; sleep 0.04; done"
    steps = [step(printer.format(i=i), id=f"p{i}") for i in range(12)]
    params = {"workspace": str(tmp_path), "steps": steps, "maxParallel": 12}
    result = await call(client, "agent/runGoal", params)
    assert result["status"] == "succeeded"
    expected = {f"p{i}": "".join(f"{i} line {j}\n" for j in range(1, 41)) for i in range(12)}
    # The steps print for 1.6 s at least (their sleeps): the budget of that time is used.
    assert check_output(client, result["runId"], expected) >= RATE_PER_SECOND


async def test_a_flood_is_delivered_in_few_notifications(
    client: AgentClient, tmp_path: Path
) -> None:
    result = await call(
        client, "agent/runGoal", {"workspace": str(tmp_path), "steps": [step("seq 1 20000")]}
    )
    expected = "".join(f"{i}\n" for i in range(1, 20001))
    check_output(client, result["runId"], {"s1": expected})


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


async def test_plan_progress_ends_with_the_step_count(client: AgentClient, tmp_path: Path) -> None:
    client.progress_reports.setdefault("plan-token", [])
    params = {"goal": "demo.test", "workspace": str(tmp_path), "workDoneToken": "plan-token"}
    result = await call(client, "agent/plan", params)
    assert result["status"] == "planned"
    end = client.progress_reports["plan-token"][-1]
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert end.message == "planned: 1 step"


async def test_a_client_that_never_answers_create(client: AgentClient, tmp_path: Path) -> None:
    stalled = asyncio.Event()
    given_up: list[bool] = []  # the server withdrew its create (after CREATE_TIMEOUT_S)

    async def never(params: Any) -> None:
        try:
            await stalled.wait()
        except asyncio.CancelledError:
            given_up.append(True)
            raise

    client.on_create = never
    try:
        answer, _ = send_run(
            client, "request", {"workspace": str(tmp_path), "steps": [step("sleep 30")]}
        )
        (run_id,) = await wait_until(lambda: run_ids(tmp_path))
        (note,) = await wait_until(lambda: notes_of(client, "agent/runStarted", run_id))
        assert not given_up  # runStarted came while create was still pending: not held back
        assert await call(client, "agent/cancel", {"runId": run_id}) == {"cancelled": True}
        result = await asyncio.wait_for(answer, CREATE_TIMEOUT_S + 10)
        assert result["status"] == "cancelled"
        assert note["workDoneToken"] not in client.progress_reports  # nothing on it, not even begin
    finally:
        client.on_create = None
        stalled.set()


async def test_progress_begins_when_create_is_answered(client: AgentClient, tmp_path: Path) -> None:
    async def slowly(params: Any) -> None:
        # Answer create only once the run is over: a server that waited for the answer before
        # running would never get it (pytest-timeout would end the test).
        def over() -> bool:
            ids = run_ids(tmp_path)
            return bool(ids) and trace_complete(tmp_path, ids[0])

        await wait_until(over, timeout=60)

    client.on_create = slowly
    try:
        result = await call(
            client, "agent/runGoal", {"workspace": str(tmp_path), "steps": [step("true")]}
        )
    finally:
        client.on_create = None
    (note,) = notes_of(client, "agent/runStarted", result["runId"])
    token = note["workDoneToken"]
    begin, end = client.progress_reports[token]  # the run was over before create was answered
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert (begin.message, begin.percentage) == ("1/1: s1 succeeded", 100)
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert end.message is not None and end.message.startswith("succeeded")


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
