"""agent/revert through the server, as a request and as a command: a run that edits, creates and
deletes files is reverted exactly; a file changed since is reported, never overwritten; the
"Revert run" code action; and agent/health's word on the policy files."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from server import wire
from tests.server.agent_client import AgentClient, call, command, step

pytestmark = pytest.mark.asyncio(loop_scope="module")
FORMS = ["request", "command"]
EDITS = [
    step("echo after > edit.txt"),
    step("mkdir -p made/deeper && echo new > made/deeper/new.txt"),
    step("rm gone.txt"),  # asks: the run's approval allows it
    step("chmod +x tool.sh"),
]


async def invoke(client: AgentClient, form: str, method: str, params: Any) -> Any:
    if form == "request":
        return await call(client, method, params)
    return await command(client, method, params)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "edit.txt").write_text("before\n")
    (tmp_path / "gone.txt").write_text("to be deleted\n")
    (tmp_path / "tool.sh").write_text("#!/bin/sh\n")
    (tmp_path / "kept.txt").write_text("untouched\n")
    return tmp_path


def snapshot(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``root`` but agentd's own: content and executable bit."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & 0o100))
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".agent" not in p.parts
    }


async def edit(client: AgentClient, workspace: Path) -> str:
    params = {"workspace": str(workspace), "steps": EDITS, "approval": "allow"}
    result = await call(client, "agent/runGoal", params)
    assert result["status"] == "succeeded", result
    return str(result["runId"])


@pytest.mark.parametrize("form", FORMS)
async def test_a_run_is_reverted_exactly(client: AgentClient, form: str, workspace: Path) -> None:
    before = snapshot(workspace)
    run_id = await edit(client, workspace)
    assert snapshot(workspace) != before
    report = await invoke(client, form, wire.REVERT, {"runId": run_id, "workspace": str(workspace)})
    assert report == {
        "runId": run_id,
        "restored": ["edit.txt", "gone.txt", "made/deeper/new.txt", "tool.sh"],
        "conflicts": [],
        "skipped": [],
    }
    assert snapshot(workspace) == before
    assert not (workspace / "made").exists()
    again = await invoke(client, form, wire.REVERT, {"runId": run_id, "workspace": str(workspace)})
    assert again["restored"] == again["conflicts"] == []  # nothing left to put back


async def test_a_file_changed_since_is_reported_not_overwritten(
    client: AgentClient, workspace: Path
) -> None:
    run_id = await edit(client, workspace)
    (workspace / "edit.txt").write_text("the user's own edit\n")
    (workspace / "made" / "deeper" / "new.txt").unlink()
    report = await call(client, wire.REVERT, {"runId": run_id, "workspace": str(workspace)})
    assert report["conflicts"] == ["edit.txt"]
    assert report["restored"] == ["gone.txt", "tool.sh"]  # new.txt is already as before: gone
    assert (workspace / "edit.txt").read_text() == "the user's own edit\n"
    assert (workspace / "gone.txt").read_text() == "to be deleted\n"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"runId": "20990101T000000-nothere"}, "runId: no run '20990101T000000-nothere'"),
        ({"runId": "../escape"}, "runId: String should match pattern"),
        ({}, "runId: Field required"),
        ({"runId": "x", "dryRun": True}, "dryRun: Extra inputs are not permitted"),
    ],
)
async def test_bad_requests_say_why(
    client: AgentClient, workspace: Path, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await call(client, wire.REVERT, {"workspace": str(workspace), **params})
    assert caught.value.code == wire.INVALID_PARAMS
    assert message in str(caught.value.message)


async def test_a_dry_run_has_nothing_to_revert(client: AgentClient, workspace: Path) -> None:
    planned = await call(
        client, "agent/plan", {"workspace": str(workspace), "steps": [step("touch x")]}
    )
    with pytest.raises(JsonRpcException, match="was a dry run"):
        await call(client, wire.REVERT, {"runId": planned["runId"], "workspace": str(workspace)})


async def test_the_revert_code_action(client: AgentClient, workspace: Path) -> None:
    run_id = await edit(client, workspace)
    uri = (workspace / ".agent" / "runs" / f"{run_id}.jsonl").as_uri()
    diagnostics = client.diagnostics[uri]
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=diagnostics[0].range,
        context=types.CodeActionContext(diagnostics=diagnostics),
    )
    msg_id = f"ca-{uuid.uuid4().hex[:8]}"
    future = client.protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
    client.protocol._result_types.pop(msg_id, None)  # plain JSON (see test_codeactions)
    actions: list[dict[str, Any]] = await asyncio.wrap_future(future)
    (revert,) = [a for a in actions if a["title"] == f"Revert run {run_id}"]
    assert revert["command"]["command"] == wire.REVERT
    report = await command(client, wire.REVERT, *revert["command"]["arguments"])
    assert "edit.txt" in report["restored"]
    assert (workspace / "edit.txt").read_text() == "before\n"


async def test_health_names_the_policy_files_and_their_problems(client: AgentClient) -> None:
    health = await call(client, "agent/health", {})
    assert health["policyFile"].endswith("/policy.toml")
    assert health["policyErrors"] == [] and isinstance(health["policyRules"], int)
    own = Path(health["workspace"]) / ".agent" / "policy.toml"
    own.parent.mkdir(exist_ok=True)
    own.write_text('[[rule]]\naction = "deny"\ntool = "npm"\n\n[[rule]]\nacton = "ask"\n')
    try:
        broken = await call(client, "agent/health", {})
    finally:
        own.unlink()
    (problem,) = broken["policyErrors"]
    assert f"{own}: rule 2: unknown key 'acton'" in problem
