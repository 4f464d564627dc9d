"""Fixtures of the CLI's tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from server.cli.client import Connection


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Connection, Connection]]:
    """Two JSON-RPC connections of the CLI's client, talking to each other over a socket pair."""
    a, b = socket.socketpair()
    client = Connection(*await asyncio.open_unix_connection(sock=a))
    server = Connection(*await asyncio.open_unix_connection(sock=b))
    listeners = [asyncio.create_task(c.listen()) for c in (client, server)]
    yield client, server
    for c in (client, server):
        c._writer.close()
    await asyncio.gather(*listeners, return_exceptions=True)
