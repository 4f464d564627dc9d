"""Approvals through agent/requestPermission and window/showMessageRequest, and with neither.

The asking step is ``rm -f ./nonexistent-file && touch ran``: the gate asks (rm is high risk), it
harms nothing, and the ``ran`` file says whether it ran.
"""

from __future__ import annotations

import asyncio
import os
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
    config,
    initialize,
    run_ids,
    send_run,
    step,
    trace_records,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
ASKING = "rm -f ./nonexistent-file && touch ran"
TIMEOUT_MS = 1500  # the approval timeout of these servers: the timeout tests wait this long


def resolved(workspace: Path, run_id: str) -> list[dict[str, Any]]:
    return [r for r in trace_records(workspace, run_id) if r["type"] == "approval.resolved"]


async def run_asking(client: AgentClient, workspace: Path, *extra_steps: Any) -> dict[str, Any]:
    params = {"workspace": str(workspace), "steps": [step(ASKING), *extra_steps]}
    result: dict[str, Any] = await call(client, "agent/runGoal", params)
    return result


def answer_with(value: Any) -> Any:
    async def answer(params: Any) -> Any:
        return value

    return answer


async def never_answer(params: Any) -> Any:
    await asyncio.sleep(3600)


# -- agent/requestPermission ---------------------------------------------------------------


@pytest_lsp.fixture(config=config(), scope="module", params=CLIENTS)
async def acp(
    lsp_client: AgentClient,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[None]:
    caps = capabilities(request.param, request_permission=True)
    # No sandbox: these tests are about asking, and without one the gate asks about every
    # command that may change files (inline code included; a sandbox would contain it).
    options = {"agent": {"approvalTimeoutMs": TIMEOUT_MS, "sandbox": "off"}}
    await initialize(lsp_client, caps, tmp_path_factory.mktemp("default"), options)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize(
    ("option", "status", "ran"),
    [("allow_once", "succeeded", True), ("reject_once", "rejected", False)],
)
async def test_permission_once(
    acp: AgentClient, tmp_path: Path, option: str, status: str, ran: bool
) -> None:
    acp.on_permission = answer_with({"outcome": "selected", "optionId": option})
    result = await run_asking(acp, tmp_path)
    assert result["results"][0]["status"] == status
    assert (tmp_path / "ran").exists() is ran
    request = acp.permission_requests[-1]
    assert request["runId"] == result["runId"]
    assert request["step"]["cmd"] == ASKING
    assert request["risk"]["level"] == "high"
    kinds = [o["kind"] for o in request["options"]]
    assert kinds == ["allow_once", "allow_always", "reject_once", "reject_always"]
    assert all(o["optionId"] == o["kind"] and o["name"] for o in request["options"])
    (record,) = resolved(tmp_path, result["runId"])
    assert (record["by"], record["optionId"]) == ("user", option)
    updates = [
        n["step"]["status"] for n in acp.notes["agent/stepUpdated"] if n["runId"] == result["runId"]
    ]
    assert updates[0] == "awaitingApproval"


@pytest.mark.parametrize(
    ("option", "rule", "later"),
    [
        ("allow_always", "allow rm in {ws}", ("allow", "succeeded")),
        ("reject_always", "deny rm on nonexistent-file in {ws}", ("deny", "denied")),
    ],
)
async def test_permission_always_is_saved_as_a_rule(
    acp: AgentClient, tmp_path: Path, option: str, rule: str, later: tuple[str, str]
) -> None:
    acp.on_permission = answer_with({"outcome": "selected", "optionId": option})
    first = await run_asking(acp, tmp_path)
    (record,) = resolved(tmp_path, first["runId"])
    assert (record["by"], record["optionId"]) == ("user", option)
    (saved,) = record["saved"]  # "rule N of <the user's policy.toml>: <the rule>"
    real = os.path.realpath(tmp_path)  # noqa: ASYNC240 - the rule names the real path
    assert saved.endswith("/policy.toml: " + rule.format(ws=real))
    asked = len(acp.permission_requests)
    second = await run_asking(acp, tmp_path)
    assert len(acp.permission_requests) == asked  # the gate follows the rule: nobody is asked
    step = second["results"][0]
    assert (step["decision"], step["status"]) == later
    assert resolved(tmp_path, second["runId"]) == []


async def test_permission_always_for_inline_code_is_remembered_for_the_session(
    acp: AgentClient, tmp_path: Path
) -> None:
    inline = 'python3 -c \'open("ran", "w")\''  # no rule can pin inline code down
    acp.on_permission = answer_with({"outcome": "selected", "optionId": "allow_always"})
    params = {"workspace": str(tmp_path), "steps": [step(inline)]}
    first = await call(acp, "agent/runGoal", params)
    (record,) = resolved(tmp_path, first["runId"])
    assert "saved" not in record and record["unsaved"] == ['python3 -c open("ran", "w")']
    asked = len(acp.permission_requests)
    second = await call(acp, "agent/runGoal", params)
    assert len(acp.permission_requests) == asked
    assert second["results"][0]["status"] == "succeeded"
    (record,) = resolved(tmp_path, second["runId"])
    assert (record["by"], record["optionId"]) == ("session", "allow_always")


async def test_permission_cancelled_outcome_rejects(acp: AgentClient, tmp_path: Path) -> None:
    acp.on_permission = answer_with({"outcome": "cancelled"})
    result = await run_asking(acp, tmp_path)
    assert result["results"][0]["status"] == "rejected"
    assert not (tmp_path / "ran").exists()
    (record,) = resolved(tmp_path, result["runId"])
    assert (record["by"], record["optionId"]) == ("dismissed", None)


@pytest.mark.parametrize(
    "answer",
    [
        {"outcome": "selected"},  # no optionId
        {"outcome": "selected", "optionId": "allow_forever"},  # not an offered option
        {"outcome": "selected", "option_id": "allow_once"},  # Python name, not the wire name
        {"optionId": "allow_once"},  # no outcome
        None,
    ],
)
async def test_permission_invalid_answer_rejects(
    acp: AgentClient, tmp_path: Path, answer: Any
) -> None:
    acp.on_permission = answer_with(answer)
    result = await run_asking(acp, tmp_path)
    assert result["results"][0]["status"] == "rejected"
    assert not (tmp_path / "ran").exists()
    (record,) = resolved(tmp_path, result["runId"])
    assert (record["allowed"], record["by"]) == (False, "error")
    assert record["detail"].startswith("invalid answer to requestPermission")


async def test_permission_timeout_withdraws_the_request(acp: AgentClient, tmp_path: Path) -> None:
    acp.on_permission = never_answer
    result = await run_asking(acp, tmp_path)
    assert result["results"][0]["status"] == "rejected"
    (record,) = resolved(tmp_path, result["runId"])
    assert record["by"] == "timeout"
    await wait_until(lambda: "agent/requestPermission" in acp.withdrawn)


async def test_several_approvals_pending_at_once(acp: AgentClient, tmp_path: Path) -> None:
    both = asyncio.Event()

    async def answer_when_both_pending(params: Any) -> Any:
        if sum(1 for r in acp.permission_requests if r["runId"] == params["runId"]) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 5)
        return {"outcome": "selected", "optionId": "allow_once"}

    acp.on_permission = answer_when_both_pending
    other = step("rm -f ./nothing-either && touch ran-too")
    result = await run_asking(acp, tmp_path, other)
    assert [r["status"] for r in result["results"]] == ["succeeded", "succeeded"]


async def test_cancel_withdraws_a_pending_approval(acp: AgentClient, tmp_path: Path) -> None:
    acp.withdrawn.clear()
    acp.on_permission = never_answer
    params = {"workspace": str(tmp_path), "steps": [step(ASKING)]}
    answer, _ = send_run(acp, "command", params)
    await wait_until(
        lambda: run_ids(tmp_path) and acp.permission_requests[-1]["step"]["cmd"] == ASKING
    )
    (run_id,) = run_ids(tmp_path)
    await wait_until(lambda: acp.permission_requests[-1]["runId"] == run_id)
    assert await call(acp, "agent/cancel", {"runId": run_id}) == {"cancelled": True}
    result = await asyncio.wait_for(answer, 5)
    assert result["status"] == "cancelled"
    await wait_until(lambda: "agent/requestPermission" in acp.withdrawn)
    (record,) = resolved(tmp_path, run_id)
    assert record["by"] == "cancelled"


# -- window/showMessageRequest -------------------------------------------------------------


@pytest_lsp.fixture(config=config(), scope="module", params=CLIENTS)
async def editor(
    lsp_client: AgentClient,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[None]:
    options = {"approvalTimeoutMs": TIMEOUT_MS}  # a bare settings object works too
    await initialize(lsp_client, capabilities(request.param), tmp_path_factory.mktemp("d"), options)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize(
    ("title", "status", "by", "option"),
    [
        ("Allow once", "succeeded", "user", "allow_once"),
        ("Reject", "rejected", "user", "reject_once"),
        (None, "rejected", "dismissed", None),
    ],
)
async def test_message_request(
    editor: AgentClient,
    tmp_path: Path,
    title: str | None,
    status: str,
    by: str,
    option: str | None,
) -> None:
    editor.on_message_request = answer_with(types.MessageActionItem(title=title) if title else None)
    result = await run_asking(editor, tmp_path)
    assert result["results"][0]["status"] == status
    request = editor.message_requests[-1]
    assert [a.title for a in request.actions or []] == ["Allow once", "Allow always", "Reject"]
    assert ASKING in request.message
    (record,) = resolved(tmp_path, result["runId"])
    assert (record["by"], record["optionId"]) == (by, option)


async def test_message_request_allow_always(editor: AgentClient, tmp_path: Path) -> None:
    editor.on_message_request = answer_with(types.MessageActionItem(title="Allow always"))
    await run_asking(editor, tmp_path)
    asked = len(editor.message_requests)
    again = await run_asking(editor, tmp_path)
    assert len(editor.message_requests) == asked
    assert (again["results"][0]["decision"], again["results"][0]["approvedBy"]) == (
        "allow",
        "policy",
    )
    assert any("allow rm in" in note for note in again["results"][0]["reliedOn"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    await run_asking(editor, elsewhere)  # the rule names its workspace: asked again here
    assert len(editor.message_requests) == asked + 1


async def test_message_request_timeout(editor: AgentClient, tmp_path: Path) -> None:
    editor.on_message_request = never_answer
    result = await run_asking(editor, tmp_path)
    assert result["results"][0]["status"] == "rejected"
    assert resolved(tmp_path, result["runId"])[0]["by"] == "timeout"
    await wait_until(lambda: types.WINDOW_SHOW_MESSAGE_REQUEST in editor.withdrawn)


# -- neither -------------------------------------------------------------------------------


@pytest_lsp.fixture(config=config(), params=CLIENTS)
async def mute(
    lsp_client: AgentClient, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    await initialize(lsp_client, capabilities(request.param, show_message=False), tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_nobody_to_ask_rejects(mute: AgentClient, tmp_path: Path) -> None:
    result = await run_asking(mute, tmp_path)
    assert result["results"][0]["status"] == "rejected"
    assert resolved(tmp_path, result["runId"])[0]["by"] == "unavailable"
    assert (await call(mute, "agent/health", {}))["approvals"] == "none"
