"""Cancellation: every route, both request forms, per run; no process of a run survives.

A cancelled run's step is ``sleep 300 & sleep 300`` with every pid recorded in a file.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.server.agent_client import (
    AgentClient,
    assert_cleaned_up,
    call,
    send_run,
    start_sleeper,
    step,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
FORMS = ["request", "command"]


@pytest.mark.parametrize("form", FORMS)
async def test_cancel_request(client: AgentClient, form: str, tmp_path: Path) -> None:
    answer, msg_id, run_id, pids = await start_sleeper(client, form, tmp_path)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(answer, 10)
    assert caught.value.code == -32800
    # pygls 2.1 answered a command's $/cancelRequest but left it running: it must stop too.
    await assert_cleaned_up(tmp_path, run_id, pids)
    assert await call(client, "agent/cancel", {"runId": run_id}) == {"cancelled": False}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("token", ["server", "client"])
async def test_progress_cancel(client: AgentClient, form: str, token: str, tmp_path: Path) -> None:
    extra: dict[str, Any] = {}
    if token == "client":
        extra["workDoneToken"] = f"tok-{uuid.uuid4().hex[:6]}"
        client.progress_reports.setdefault(extra["workDoneToken"], [])
    answer, _, run_id, pids = await start_sleeper(client, form, tmp_path, **extra)
    (started,) = [n for n in client.notes["agent/runStarted"] if n["runId"] == run_id]
    client.window_work_done_progress_cancel(
        types.WorkDoneProgressCancelParams(token=started["workDoneToken"])
    )
    # A command cancelled by another route used to hang in pygls 2.1: it must be answered.
    result = await asyncio.wait_for(answer, 10)
    assert result["status"] == "cancelled"
    assert result["results"][0]["status"] == "cancelled"
    await assert_cleaned_up(tmp_path, run_id, pids)
    end = client.progress_reports[started["workDoneToken"]][-1]
    assert (
        isinstance(end, types.WorkDoneProgressEnd)
        and end.message == "cancelled: 0/1 steps succeeded, trust 0.0"
    )


@pytest.mark.parametrize("form", FORMS)
async def test_agent_cancel_is_idempotent(client: AgentClient, form: str, tmp_path: Path) -> None:
    answer, _, run_id, pids = await start_sleeper(client, form, tmp_path)
    assert await call(client, "agent/cancel", {"runId": run_id}) == {"cancelled": True}
    again = await call(client, "agent/cancel", {"runId": run_id})  # while it winds down
    result = await asyncio.wait_for(answer, 10)
    assert result["status"] == "cancelled"
    assert again in ({"cancelled": True}, {"cancelled": False})
    assert await call(client, "agent/cancel", {"runId": run_id}) == {"cancelled": False}
    await assert_cleaned_up(tmp_path, run_id, pids)


async def test_cancelling_one_run_leaves_the_other(client: AgentClient, tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    slow = {"workspace": str(other), "steps": [step("sleep 1; echo done")]}
    other_answer, _ = send_run(client, "request", slow)
    answer, _, run_id, pids = await start_sleeper(client, "command", one)
    assert (await call(client, "agent/cancel", {"runId": run_id}))["cancelled"]
    assert (await asyncio.wait_for(answer, 10))["status"] == "cancelled"
    finished = await asyncio.wait_for(other_answer, 10)
    assert finished["status"] == "succeeded"
    assert finished["stdout"] == "done\n"
    await assert_cleaned_up(one, run_id, pids)
