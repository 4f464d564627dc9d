"""The user's config file under the editor's settings, over the wire: its values apply, its
problems are shown to the editor and listed by agent/health, and a setting the editor stops
sending falls back to the file, not to the default."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types

from tests.server.agent_client import (
    AgentClient,
    call,
    capabilities,
    config,
    initialize,
    wait_until,
)

CONFIG_DIR = Path(tempfile.mkdtemp(prefix="agentd-config-file-"))
(CONFIG_DIR / "config.toml").write_text(
    'planner = "openai"\nmodel = "from-file"\nbaseUrl = "http://127.0.0.1:9/v1"\n'
    'maxParallel = 3\nmodle = "typo"\n'
)


@pytest_lsp.fixture(config=config(AGENTD_CONFIG_DIR=str(CONFIG_DIR)))
async def client(lsp_client: AgentClient) -> AsyncIterator[None]:
    yield
    await lsp_client.shutdown_session()


async def health(client: AgentClient) -> dict[str, Any]:
    result: dict[str, Any] = await call(client, "agent/health", {"checkModel": True})
    return result


async def test_the_config_file_under_the_editor_settings(
    client: AgentClient, tmp_path: Path
) -> None:
    await initialize(client, capabilities("neovim"), tmp_path)
    report = await health(client)
    assert (report["planner"], report["maxParallel"]) == ("openai:from-file", 3)
    assert any("unknown key 'modle'" in p for p in report["problems"])
    assert any(p.startswith("language model: cannot reach") for p in report["problems"])
    warning = await wait_until(lambda: [m for m in client.messages if "modle" in m.message])
    assert warning[0].type == types.MessageType.Warning

    for settings, planner in (
        ({"agent": {"model": "from-editor"}}, "openai:from-editor"),
        ({"agent": {}}, "openai:from-file"),  # no longer sent: the file's, not the default
    ):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )
        report = await health_with_planner(client, planner)
        assert report["maxParallel"] == 3


async def health_with_planner(client: AgentClient, planner: str) -> dict[str, Any]:
    """agent/health once it reports ``planner`` (a notification's effect is not acknowledged)."""
    for _ in range(200):
        report = await health(client)
        if report["planner"] == planner:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"agent/health never reported {planner}: {report['planner']}")
