"""Configuration (initializationOptions, didChangeConfiguration) and workspace folders."""

from __future__ import annotations

import asyncio
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
    wait_until,
)

SECRET = "sk-test-DO-NOT-ECHO-1234"


async def health(client: AgentClient) -> dict[str, Any]:
    result: dict[str, Any] = await call(client, "agent/health", {})
    return result


@pytest.fixture(params=CLIENTS)
def client_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_lsp.fixture(config=config())
async def client(lsp_client: AgentClient) -> AsyncIterator[None]:
    yield
    await lsp_client.shutdown_session()


async def test_initialization_options(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    refused = "http://127.0.0.1:9/v1"  # the model endpoint health tests: nothing listens there
    options = {
        "agent": {"maxParallel": 3, "stepTimeoutMs": 5000, "apiKey": SECRET, "baseUrl": refused}
    }
    await initialize(client, capabilities(client_name), tmp_path, options)
    report = await call(client, "agent/health", {"checkModel": True})
    assert (report["maxParallel"], report["stepTimeoutMs"]) == (3, 5000)
    assert report["model"]["apiKey"] == "set, from editor settings"
    assert report["model"]["reachable"] is False and "cannot reach" in report["model"]["problem"]
    assert SECRET not in str(report)


async def test_settings_take_camel_case_names_only(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    options = {"agent": {"max_parallel": 3, "stepTimeoutMs": 5000}}
    await initialize(client, capabilities(client_name), tmp_path, options)
    report = await health(client)
    assert (report["maxParallel"], report["stepTimeoutMs"]) == (8, 5000)


async def test_invalid_initialization_options_warn_and_keep_defaults(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    options = {"agent": {"maxParallel": 0, "apiKey": SECRET}}
    await initialize(client, capabilities(client_name), tmp_path, options)
    assert (await health(client))["maxParallel"] == 8
    (warning,) = await wait_until(lambda: client.messages)
    assert warning.type == types.MessageType.Warning
    assert "maxParallel" in warning.message
    assert SECRET not in warning.message


async def test_did_change_configuration(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    await initialize(client, capabilities(client_name), tmp_path)

    def change(settings: Any) -> None:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )

    change({"agent": {"maxParallel": 2, "approvalTimeoutMs": 4000}})
    assert (await health(client))["maxParallel"] == 2
    change({"agent": {"sandbox": "nope"}})  # invalid: warned, previous settings kept
    (warning,) = await wait_until(lambda: client.messages)
    assert "sandbox" in warning.message
    assert (await health(client))["maxParallel"] == 2
    change({"approvalTimeoutMs": 1234})  # a bare section replaces the previous one whole
    report = await health(client)
    assert (report["approvalTimeoutMs"], report["maxParallel"]) == (1234, 8)
    client.set_configuration({"maxParallel": 5}, section="agent")
    change(None)  # pull model: the server asks for the `agent` section, then applies it
    # polls: the server sends nothing when it applies settings (pytest-timeout guards a hang)
    while (await health(client))["maxParallel"] != 5:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def test_settings_without_our_section_keep_the_configuration(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    """Editors that push every section they have must not reset ours."""
    await initialize(client, capabilities(client_name), tmp_path, {"agent": {"maxParallel": 3}})

    def change(settings: Any) -> None:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )

    change({"python": {"analysis": {"typeCheckingMode": "strict"}}})  # not ours: ignored
    change({"python": {}, "max_parallel": 5})  # no camelCase agent key either: ignored
    assert (await health(client))["maxParallel"] == 3
    assert not client.messages
    change({"agent": None})  # ours, but not an object: warned, previous configuration kept
    (warning,) = await wait_until(lambda: client.messages)
    assert warning.type == types.MessageType.Warning
    assert "`agent` must be an object, got null" in warning.message
    change({"agent": [1], "python": {}})
    await wait_until(lambda: len(client.messages) == 2)
    assert "got an array" in client.messages[1].message
    assert (await health(client))["maxParallel"] == 3
    change({"stepTimeoutMs": 5000, "python": {}})  # a known key: a bare section, applied whole
    report = await health(client)
    assert (report["stepTimeoutMs"], report["maxParallel"]) == (5000, 8)
    change({"agent": {"maxParallel": 4}, "python": {}})
    assert (await health(client))["maxParallel"] == 4


async def test_workspace_folders_change_the_default(
    client: AgentClient, client_name: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    await initialize(client, capabilities(client_name), first, also=second)
    assert (await health(client))["workspace"] == str(first)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=second.as_uri(), name="second")],
                removed=[types.WorkspaceFolder(uri=first.as_uri(), name="ws")],
            )
        )
    )
    assert (await health(client))["workspace"] == str(second)
    result = await call(client, "agent/runGoal", {"steps": [{"kind": "runCli", "cmd": "pwd"}]})
    assert result["stdout"] == f"{second}\n"
