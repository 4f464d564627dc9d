"""The language-model planner over the wire (stdio): rounds as planReady notifications, usage in
the result, the endpoint in agent/health, replay, -32803 errors, and an API key that appears in no
trace, log, result, notification or step environment.

The server gets the key the way users give it (``OPENAI_API_KEY`` in its environment) and the
loopback fake's URL from the editor's settings (``baseUrl``)."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig

from tests.engine.plan.fake_openai import MODELS_PATH, FakeOpenAI, Reply
from tests.server.agent_client import (
    AgentClient,
    call,
    capabilities,
    initialize,
    make_client,
    server_env,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "sk-wire-" + "K3y5ecr3tX" * 4
LOG = Path(tempfile.mkdtemp(prefix="agentd-model-log-")) / "server.log"
ENV = server_env() | {"OPENAI_API_KEY": KEY}
CONFIG = ClientServerConfig(
    server_command=[sys.executable, "-m", "server", "--log-file", str(LOG), "--log-level", "DEBUG"],
    client_factory=make_client,
    server_env=ENV,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(
    lsp_client: AgentClient, fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[None]:
    options = {"agent": {"baseUrl": fake.base_url, "model": "test-model"}}
    workspace = tmp_path_factory.mktemp("default")
    await initialize(lsp_client, capabilities("visual-studio-code"), workspace, options)
    yield
    await lsp_client.shutdown_session()


def all_text(folder: Path) -> str:
    """Every file under ``folder`` (the trace, spilled output, kept content), as text."""
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


async def run_goal(client: AgentClient, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await call(client, "agent/runGoal", params)
    return result


async def test_rounds_over_the_wire(client: AgentClient, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(
        Reply.plan([{"kind": "runCli", "id": "one", "cmd": "echo one"}], done=False),
        Reply.plan([{"kind": "runCli", "id": "two", "cmd": "echo two"}], summary="both said"),
    )
    result = await run_goal(client, goal="say one, then two", workspace=str(tmp_path))

    assert result["planner"] == "openai:test-model" and result["status"] == "succeeded"
    assert result["steps"] == ["echo one", "echo two"] and result["summary"] == "both said"
    assert result["usage"] == {
        "rounds": 2,
        "calls": 2,
        "promptTokens": 200,
        "completionTokens": 40,
        "totalTokens": 240,
    }
    ready = [n for n in client.notes["agent/planReady"] if n["runId"] == result["runId"]]
    assert [(n["round"], [s["id"] for s in n["steps"]]) for n in ready] == [
        (1, ["one"]),
        (2, ["r2.two"]),
    ]
    finals = [
        n["step"]["id"]
        for n in client.notes["agent/stepUpdated"]
        if n["runId"] == result["runId"] and n["step"]["status"] == "succeeded"
    ]
    assert finals == ["one", "r2.two"]


async def test_health_tests_the_endpoint(client: AgentClient, fake: FakeOpenAI) -> None:
    fake.models = ["other-model"]
    before = len([r for r in fake.requests if r.path == MODELS_PATH])
    cheap: dict[str, Any] = await call(client, "agent/health", {})  # what the CLI asks often
    assert cheap["model"]["reachable"] is None and cheap["model"]["endpoint"] == fake.base_url
    assert len([r for r in fake.requests if r.path == MODELS_PATH]) == before  # untested
    health: dict[str, Any] = await call(client, "agent/health", {"checkModel": True})
    model = health["model"]
    assert health["planner"] == "openai:test-model" and health["modelConfigured"] is True
    assert model["endpoint"] == fake.base_url and model["reachable"] is True
    assert model["apiKey"] == "set, from environment OPENAI_API_KEY"
    assert model["dialect"] == "json_schema"  # what the session found when it planned
    assert "does not list the model 'test-model'" in model["note"]
    assert health["problems"] == []
    assert len([r for r in fake.requests if r.path == MODELS_PATH]) == before + 1
    fake.models_reply = Reply.failure(401, "Incorrect API key provided")
    try:
        refused: dict[str, Any] = await call(client, "agent/health", {"checkModel": True})
    finally:
        fake.models_reply = Reply(content="")
    assert "HTTP 401" in refused["model"]["problem"]
    assert any("language model: " in p for p in refused["problems"])


async def test_a_failed_plan_is_32803(
    client: AgentClient, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply.failure(404, "The model `test-model` does not exist"))
    with pytest.raises(JsonRpcException) as caught:
        await run_goal(client, goal="do a thing", workspace=str(tmp_path))
    assert caught.value.code == -32803
    assert "planner openai:test-model:" in caught.value.message
    assert "HTTP 404" in caught.value.message and "--model" in caught.value.message
    health: dict[str, Any] = await call(client, "agent/health", {})
    assert "HTTP 404" in health["model"]["lastError"]


async def test_a_request_picks_its_planner(
    client: AgentClient, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply.plan([{"kind": "runCli", "cmd": "echo chosen"}]))
    result = await run_goal(
        client, goal="pick a model", workspace=str(tmp_path), model="asked-for", maxRounds=1
    )
    assert result["planner"] == "openai:asked-for"
    assert fake.completions[-1].body["model"] == "asked-for"
    with pytest.raises(JsonRpcException) as caught:
        await run_goal(client, goal="offline please", workspace=str(tmp_path), planner="stub")
    assert caught.value.code == -32602 and "needs a language model" in caught.value.message


async def test_replay_over_the_wire(client: AgentClient, fake: FakeOpenAI, tmp_path: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"kind": "writeFile", "id": "w", "path": "out/note.txt", "content": "noted\n"},
        {"kind": "runCli", "cmd": "cat out/note.txt", "after": ["w"]},
    ]
    fake.script(Reply.plan(steps))
    planned = await call(client, "agent/plan", {"goal": "write a note", "workspace": str(tmp_path)})
    asked = len(fake.requests)
    result = await run_goal(
        client, planner="replay", runId=planned["runId"], workspace=str(tmp_path)
    )
    assert len(fake.requests) == asked  # no model
    assert result["planner"] == "replay" and result["goal"] == "write a note"
    assert result["stdout"] == "noted\n" and result["status"] == "succeeded"
    with pytest.raises(JsonRpcException) as caught:
        await run_goal(client, planner="replay", runId="nope", workspace=str(tmp_path))
    assert caught.value.code == -32602 and "no trace of run 'nope'" in caught.value.message


async def test_the_key_appears_nowhere(
    client: AgentClient, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(
        Reply.plan([{"kind": "runCli", "id": "env", "cmd": "env; echo done"}], done=False),
        Reply.failure(401, f"Incorrect API key provided: {KEY}"),
    )
    result = await run_goal(client, goal="show the environment", workspace=str(tmp_path))
    assert result["status"] == "failed" and "HTTP 401" in result["error"]
    assert "done" in result["stdout"] and "OPENAI_API_KEY" not in result["stdout"]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in fake.completions)

    seen = {
        "result": json.dumps(result),
        "notifications": json.dumps(client.arrivals),
        "log": LOG.read_text(),
        "workspace files": all_text(tmp_path),
    }
    assert "model.requested" in seen["workspace files"]  # the model rounds are in the trace
    assert "DEBUG" in seen["log"]
    for where, text in seen.items():
        assert KEY not in text, where
        assert KEY[8:24] not in text, where
