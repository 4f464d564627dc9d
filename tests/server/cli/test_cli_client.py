"""The CLI's JSON-RPC client alone: two Connections talking over a socket pair."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.cli.client import Connection, RpcError, ServerExited


async def test_requests_both_ways_and_errors(peers: tuple[Connection, Connection]) -> None:
    client, server = peers

    async def echo(params: Any) -> Any:
        return {"echo": params, "asked": await server.request("ask/client", {"q": 1})}

    async def boom(params: Any) -> Any:
        raise ValueError("bad handler")

    async def answer(params: Any) -> Any:
        return params["q"] + 1

    server.on_request("echo", echo)
    server.on_request("boom", boom)
    client.on_request("ask/client", answer)
    assert await client.request("echo", [1, "ü"]) == {"echo": [1, "ü"], "asked": 2}
    with pytest.raises(RpcError) as err:
        await client.request("boom", None)
    assert err.value.code == -32603 and "bad handler" in err.value.message
    with pytest.raises(RpcError) as err:
        await client.request("nope", None)
    assert err.value.code == -32601

    def broken(params: Any) -> None:
        raise KeyError("oops")

    client.on_notification("broken", broken)
    server.notify("broken", {})  # a failing notification handler does not end the session
    assert await client.request("echo", 1) == {"echo": 1, "asked": 2}


async def test_cancel_request_reaches_the_handler(peers: tuple[Connection, Connection]) -> None:
    client, server = peers
    started, notified = asyncio.Event(), asyncio.Queue[Any]()

    async def forever(params: Any) -> Any:
        started.set()
        await asyncio.Event().wait()

    server.on_request("forever", forever)
    client.on_notification("note", notified.put_nowait)
    request_id, answer = client.send_request("forever", {})
    await started.wait()
    client.cancel(request_id)
    with pytest.raises(RpcError) as err:
        await answer
    assert err.value.code == -32800
    server.notify("note", {"n": 1})
    assert await notified.get() == {"n": 1}


async def test_pending_requests_fail_when_the_peer_goes(
    peers: tuple[Connection, Connection],
) -> None:
    client, server = peers

    arrived = asyncio.Event()

    async def hang(params: Any) -> Any:
        arrived.set()
        await asyncio.Event().wait()

    server.on_request("hang", hang)
    _, answer = client.send_request("hang", {})
    await arrived.wait()
    server._writer.close()
    with pytest.raises(ServerExited):
        await answer
    with pytest.raises(ServerExited):  # and later requests fail at once instead of hanging
        await client.request("hang", {})
