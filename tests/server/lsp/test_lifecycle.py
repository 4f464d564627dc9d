"""Ending a session with runs in flight: shutdown, exit, end of input, SIGTERM. One server each."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp

from tests.procs import living, run_processes
from tests.server.agent_client import (
    CLIENTS,
    AgentClient,
    assert_cleaned_up,
    capabilities,
    config,
    initialize,
    start_sleeper,
    wait_until,
)

FORMS = ["request", "command"]


@pytest_lsp.fixture(config=config(), params=CLIENTS)
async def client(
    lsp_client: AgentClient, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    await initialize(lsp_client, capabilities(request.param), tmp_path)
    yield


def process(client: AgentClient) -> asyncio.subprocess.Process:
    assert client._server is not None
    return client._server


@pytest.mark.parametrize("form", FORMS)
async def test_shutdown_mid_run(client: AgentClient, form: str, tmp_path: Path) -> None:
    answer, _, run_id, pids = await start_sleeper(client, form, tmp_path)
    # pygls 2.1 failed here with "dictionary changed size during iteration" and no answer.
    await asyncio.wait_for(client.shutdown_async(None), 15)  # answered (null), not left hanging
    result = await asyncio.wait_for(answer, 1)  # answered before the shutdown itself
    assert result["status"] == "cancelled"
    assert not living(pids)
    await assert_cleaned_up(tmp_path, run_id, pids)
    client.exit(None)
    assert await asyncio.wait_for(process(client).wait(), 10) == 0


async def test_exit_without_shutdown_mid_run(client: AgentClient, tmp_path: Path) -> None:
    _, _, run_id, pids = await start_sleeper(client, "command", tmp_path)
    client.exit(None)
    assert await asyncio.wait_for(process(client).wait(), 15) == 1  # exit before shutdown
    await assert_cleaned_up(tmp_path, run_id, pids)


async def test_end_of_input_mid_run(client: AgentClient, tmp_path: Path) -> None:
    _, _, run_id, pids = await start_sleeper(client, "request", tmp_path)
    stdin = process(client).stdin
    assert stdin is not None
    stdin.close()  # the editor went away
    await asyncio.wait_for(process(client).wait(), 15)
    await assert_cleaned_up(tmp_path, run_id, pids)


async def test_sigterm_mid_run(client: AgentClient, tmp_path: Path) -> None:
    _, _, run_id, pids = await start_sleeper(client, "request", tmp_path)
    process(client).send_signal(signal.SIGTERM)
    await asyncio.wait_for(process(client).wait(), 15)
    await assert_cleaned_up(tmp_path, run_id, pids)


async def test_sigkill_of_the_server_takes_its_steps_along(
    client: AgentClient, tmp_path: Path
) -> None:
    """No cleanup can run in a killed server: the sandbox's namespace dies with it
    (bubblewrap's --die-with-parent)."""
    _, _, run_id, pids = await start_sleeper(client, "request", tmp_path)
    process(client).send_signal(signal.SIGKILL)
    await asyncio.wait_for(process(client).wait(), 10)
    await wait_until(lambda: not living(pids) and not run_processes(run_id), timeout=10)
