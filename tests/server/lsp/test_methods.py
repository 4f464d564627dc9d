"""Every method as a request and as a workspace/executeCommand command, and their errors.

One server per recorded client (Neovim, VS Code), shared by the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from engine.health import HealthResult
from server.wire import METHODS
from tests.server.agent_client import (
    AgentClient,
    call,
    command,
    step,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
FORMS = ["request", "command"]


async def invoke(client: AgentClient, form: str, method: str, params: Any) -> Any:
    if form == "request":
        return await call(client, method, params)
    return await command(client, method, params)


async def error_of(client: AgentClient, form: str, method: str, params: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await invoke(client, form, method, params)
    return caught.value


async def test_methods_are_advertised(client: AgentClient) -> None:
    assert client.init_result is not None
    caps = client.init_result.capabilities
    assert caps.execute_command_provider is not None
    assert set(METHODS) <= set(caps.execute_command_provider.commands)
    assert isinstance(caps.experimental, dict)
    agent = caps.experimental["agent"]
    assert agent["methods"] == list(METHODS)
    assert "agent/requestPermission" in agent["serverRequests"]


@pytest.mark.parametrize("form", FORMS)
async def test_run_goal(client: AgentClient, form: str, tmp_path: Path) -> None:
    result = await invoke(
        client,
        form,
        "agent/runGoal",
        {"workspace": str(tmp_path), "steps": [step("echo hello")], "approval": "allow"},
    )
    assert result["status"] == "succeeded"
    assert result["stdout"] == "hello\n"
    assert result["bits"] == {"t": 0.9}
    assert (tmp_path / result["trace"]).is_file()


@pytest.mark.parametrize("form", FORMS)
async def test_run_goal_uses_the_workspace_folder_by_default(
    client: AgentClient, form: str
) -> None:
    result = await invoke(client, form, "agent/runGoal", {"steps": [step("pwd")]})
    health = await invoke(client, form, "agent/health", {})
    assert result["stdout"].strip() == health["workspace"]


@pytest.mark.parametrize("form", FORMS)
async def test_plan_executes_nothing(client: AgentClient, form: str, tmp_path: Path) -> None:
    params = {
        "workspace": tmp_path.as_uri(),
        "steps": [{"kind": "writeFile", "path": "out/x.txt", "content": "x"}, step("rm -rf /")],
    }
    result = await invoke(client, form, "agent/plan", params)
    assert result["status"] == "planned"
    assert [r["status"] for r in result["results"]] == ["planned", "planned"]
    assert result["results"][1]["decision"] == "deny"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("form", FORMS)
async def test_demo_goal_writes_its_deliverable(
    client: AgentClient, form: str, tmp_path: Path
) -> None:
    result = await invoke(
        client, form, "agent/runGoal", {"goal": "demo.test", "workspace": str(tmp_path)}
    )
    assert result["status"] == "succeeded", result
    assert result["deliverables"] == ["out/hello.txt"]
    assert (tmp_path / "out" / "hello.txt").is_file()


@pytest.mark.parametrize("form", FORMS)
async def test_list_goals(client: AgentClient, form: str, tmp_path: Path) -> None:
    result = await invoke(client, form, "agent/listGoals", {"workspace": str(tmp_path)})
    ids = {g["id"]: g for g in result["goals"]}
    assert ids["demo.test"]["source"] == "builtin"
    assert "swe.analyze" in ids


async def test_list_goals_lists_a_broken_goals_file_beside_the_built_in_goals(
    client: AgentClient, tmp_path: Path
) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text('[goals.check]\nsteps = [{ rn = "x" }]\n')
    result = await call(client, "agent/listGoals", {"workspace": str(tmp_path)})
    assert "demo.test" in {g["id"] for g in result["goals"]}
    [problem] = result["problems"]
    assert problem["path"] == str(tmp_path / ".agent" / "goals.toml")
    assert "unknown key 'rn'" in problem["message"]


async def test_show_output_opens_the_spilled_stream_or_names_a_missing_step(
    client: AgentClient, tmp_path: Path
) -> None:
    # 300 000 bytes: past the 256 KiB capture cap, so the stream is spilled
    loud = step("head -c 300000 /dev/zero | tr '\\0' y; echo; echo tail-marker", id="loud")
    run = await call(client, "agent/runGoal", {"workspace": str(tmp_path), "steps": [loud]})
    assert run["results"][0]["truncated"] is True
    shown = await call(
        client,
        "agent/showOutput",
        {"runId": run["runId"], "stepId": "loud", "workspace": str(tmp_path)},
    )
    output = Path(shown["uri"].removeprefix("file://"))
    assert output.parent == tmp_path / ".agent" / "runs" / run["runId"]
    text = output.read_text()  # noqa: ASYNC240 - a small local file
    assert text.endswith("tail-marker\n")  # the whole stream, past the cap
    with pytest.raises(JsonRpcException) as caught:
        await call(
            client,
            "agent/showOutput",
            {"runId": run["runId"], "stepId": "nope", "workspace": str(tmp_path)},
        )
    assert caught.value.code == -32602
    assert "has no finished step 'nope'" in str(caught.value)


@pytest.mark.parametrize("form", FORMS)
async def test_trace(client: AgentClient, form: str, tmp_path: Path) -> None:
    run = await invoke(
        client, form, "agent/runGoal", {"workspace": str(tmp_path), "steps": [step("true")]}
    )
    trace = await invoke(
        client, form, "agent/trace", {"runId": run["runId"], "workspace": str(tmp_path)}
    )
    assert trace["runId"] == run["runId"]
    types = [e["type"] for e in trace["events"]]
    assert types[0] == "run.started"
    assert types[-1] == "run.finished"
    assert "step.finished" in types


@pytest.mark.parametrize("form", FORMS)
async def test_health(client: AgentClient, form: str) -> None:
    health = await invoke(client, form, "agent/health", {})
    # exactly the documented shape: every field of HealthResult, nothing else
    assert HealthResult.model_validate(health, by_alias=True, by_name=False).wire() == health
    assert health["approvals"] == "showMessageRequest"


@pytest.mark.parametrize("form", FORMS)
async def test_cancel_of_an_unknown_run(client: AgentClient, form: str) -> None:
    assert await invoke(client, form, "agent/cancel", {"runId": "nope"}) == {"cancelled": False}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("agent/runGoal", {"goal": "demo.test", "maxParallel": 0}, "maxParallel"),
        ("agent/runGoal", {"goal": "demo.test", "dryrun": True}, "dryrun"),
        ("agent/runGoal", {"goal": "demo.test", "dry_run": True}, "dry_run"),  # wire names only
        ("agent/plan", {"steps": [step("true", timeout_ms=5)]}, "steps[0].timeout_ms"),
        ("agent/cancel", {"run_id": "r1"}, "run_id"),
        ("agent/runGoal", {}, "goal"),
        ("agent/runGoal", {"steps": [{"kind": "runCli"}]}, "steps[0].cmd"),
        ("agent/plan", {"goal": "demo.test", "approval": "maybe"}, "approval"),
        ("agent/runGoal", {"goal": "demo.test", "workspace": "relative/dir"}, "workspace"),
        ("agent/runGoal", {"goal": "demo.test", "workspace": "/no/such/dir"}, "workspace"),
        ("agent/cancel", {}, "runId"),
        ("agent/trace", {"runId": "../etc/passwd"}, "runId"),
        ("agent/listGoals", {"workspace": 3}, "workspace"),
        ("agent/health", [1, 2], "params"),
    ],
)
async def test_invalid_params_name_the_field(
    client: AgentClient, form: str, method: str, params: Any, field: str
) -> None:
    error = await error_of(client, form, method, params)
    assert error.code == -32602
    assert error.message.startswith(f"{field}:") or f" {field}:" in error.message, error.message


async def test_max_parallel_message_is_exact(client: AgentClient) -> None:
    error = await error_of(client, "request", "agent/runGoal", {"goal": "x", "maxParallel": 0})
    assert error.message == "maxParallel: Input should be greater than or equal to 1"


async def test_unknown_trace_is_an_agent_error(client: AgentClient, tmp_path: Path) -> None:
    error = await error_of(
        client, "request", "agent/trace", {"runId": "r1", "workspace": str(tmp_path)}
    )
    assert error.code == -32602
    assert "no trace" in error.message


async def test_free_text_goal_says_how_to_configure_a_model(
    client: AgentClient, tmp_path: Path
) -> None:
    params = {"goal": "refactor the parser please", "workspace": str(tmp_path)}
    error = await error_of(client, "request", "agent/runGoal", params)
    assert "OPENAI_API_KEY" in error.message and "OPENAI_BASE_URL" in error.message


async def test_command_takes_exactly_one_argument(client: AgentClient) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "agent/health", {}, {})
    assert caught.value.code == -32602
    assert "one object argument" in caught.value.message
    assert "version" in await command(client, "agent/health")  # no argument means {}


async def test_unknown_method_and_command(client: AgentClient) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await call(client, "agent/noSuchMethod", {})
    assert caught.value.code == -32601
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "agent/noSuchCommand", {})
    assert caught.value.code == -32602
    assert (await call(client, "agent/health", None))["version"]  # still serving
