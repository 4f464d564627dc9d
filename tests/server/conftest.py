"""The shared server fixture: one `python -m server` per module, real client capabilities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_lsp

from tests.server.agent_client import CLIENTS, AgentClient, capabilities, config, initialize


@pytest_lsp.fixture(config=config(), scope="module", params=CLIENTS)
async def client(
    lsp_client: AgentClient,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[None]:
    """An initialized session, once per module and per recorded client (Neovim, VS Code)."""
    await initialize(lsp_client, capabilities(request.param), tmp_path_factory.mktemp("default"))
    yield
    await lsp_client.shutdown_session()
