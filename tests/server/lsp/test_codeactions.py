"""Code actions on run diagnostics (trace file and source files): re-run the step, re-run the goal,
open the step's output; each a plain command the editor executes through the server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from lsprotocol.converters import get_converter

from tests.server.agent_client import AgentClient, call, command, step

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAILING = "echo 'src/a.py:2: boom'; exit 3"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a = 1\nb = 2\n")
    return tmp_path


async def actions_for(client: AgentClient, uri: str) -> list[types.CodeAction]:
    diagnostics = client.diagnostics[uri]
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=diagnostics[0].range,
        context=types.CodeActionContext(diagnostics=diagnostics),
    )
    return [
        get_converter().structure(a, types.CodeAction) for a in await code_action(client, params)
    ]


async def code_action(client: AgentClient, params: types.CodeActionParams) -> list[Any]:
    """The answer as plain JSON: this client's converter would squeeze every item of the
    ``Command | CodeAction`` union into a Command, so its result type is dropped."""
    msg_id = f"ca-{uuid.uuid4().hex[:8]}"
    future = client.protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
    client.protocol._result_types.pop(msg_id, None)
    found: list[Any] | None = await asyncio.wrap_future(future)
    return found or []


async def execute(client: AgentClient, action: types.CodeAction) -> Any:
    assert action.command is not None and action.command.arguments is not None
    return await command(client, action.command.command, *action.command.arguments)


async def test_a_failed_step_offers_rerun_and_its_output(
    client: AgentClient, workspace: Path
) -> None:
    params = {
        "workspace": str(workspace),
        "steps": [step("echo fine", id="ok"), step(FAILING, id="build")],
    }
    result = await call(client, "agent/runGoal", params)
    trace_uri = (workspace / result["trace"]).as_uri()
    failed = [d for d in client.diagnostics[trace_uri] if d.code == "failed"]
    assert failed[0].data == {
        "runId": result["runId"],
        "stepId": "build",
        "workspace": str(workspace),
    }

    on_source = await actions_for(client, (workspace / "src" / "a.py").as_uri())
    titles = [a.title for a in on_source]
    assert titles == ["Re-run step build", "Re-run these steps", "Open output of step build"]
    assert all(a.kind == types.CodeActionKind.QuickFix for a in on_source)

    rerun = await execute(client, on_source[0])
    assert rerun["steps"] == [FAILING] and rerun["runId"] != result["runId"]
    again = await execute(client, on_source[1])
    assert again["steps"] == ["echo fine", FAILING]

    shown = await execute(client, on_source[2])
    output = Path(shown["uri"].removeprefix("file://"))
    text = output.read_text()  # noqa: ASYNC240 - a small local file
    assert text.startswith(f"# step build (failed, exit code 3): {FAILING}")
    assert "src/a.py:2: boom" in text
    assert output.parent == workspace / ".agent" / "runs" / result["runId"]
    assert shown["shown"] is True  # the client was asked with window/showDocument


async def test_a_goal_is_rerun_by_its_id(client: AgentClient, tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        f'[goals.broken]\ntitle = "Broken"\nsteps = [{{ id = "b", run = "{FAILING}" }}]\n'
    )
    result = await call(client, "agent/runGoal", {"workspace": str(tmp_path), "goal": "broken"})
    actions = await actions_for(client, (tmp_path / result["trace"]).as_uri())
    titles = [a.title for a in actions]
    assert titles == ["Re-run step b", "Re-run goal broken", "Open output of step b"]
    assert (await execute(client, actions[1]))["goal"] == "broken"


async def test_other_diagnostics_get_no_actions(client: AgentClient, workspace: Path) -> None:
    uri = (workspace / "src" / "a.py").as_uri()
    foreign = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=1, character=0)
        ),
        message="not ours",
        source="pylint",
        data={"runId": "x", "stepId": "y", "workspace": str(workspace)},
    )
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=foreign.range,
        context=types.CodeActionContext(diagnostics=[foreign]),
    )
    assert await code_action(client, params) == []
