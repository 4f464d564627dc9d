"""The socket transports: TCP and WebSocket with a token, many connections, web pages kept out,
a Unix socket for this user alone, and the bound port logged."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.server.agent_client import (
    SERVER,
    call,
    capabilities,
    initialize,
    make_client,
    server_env,
)
from tests.server.transport.servers import listening, read_frames, request, stopped


@pytest.mark.parametrize("transport", ["tcp", "ws"])
async def test_socket_transports_serve_many_connections(transport: str, tmp_path: Path) -> None:
    proc, host, port, token, _ = await listening(f"--{transport}", "127.0.0.1:0")
    try:
        for connection in range(2):  # pygls 2.1's start_tcp served one connection only
            client = make_client()
            if transport == "tcp":
                await client.start_tcp(host, port)
            else:
                await client.start_ws(host, port)
            await initialize(client, capabilities("neovim"), tmp_path, {"token": token})
            params = {"steps": [{"kind": "runCli", "cmd": f"echo {connection}"}]}
            result = await call(client, "agent/runGoal", params)
            assert result["stdout"] == f"{connection}\n"
            await client.shutdown_async(None)
            client.exit(None)
            await asyncio.wait_for(client.stop(), 10)  # type: ignore[no-untyped-call]
    finally:
        await stopped(proc)


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_a_tcp_client_without_the_token_gets_nothing(
    token: str | None, tmp_path: Path
) -> None:
    proc, host, port, _, _ = await listening("--tcp", "127.0.0.1:0")
    try:
        reader, writer = await asyncio.open_connection(host, port)
        options = {} if token is None else {"token": token}
        init: dict[str, Any] = {"processId": None, "rootUri": tmp_path.as_uri(),
                                "capabilities": {}, "initializationOptions": options}  # fmt: skip
        writer.write(request(1, "initialize", init))
        run = {"workspace": str(tmp_path), "steps": [{"kind": "runCli", "cmd": "touch ran"}]}
        writer.write(request(2, "agent/runGoal", run))
        (answer,) = await asyncio.wait_for(read_frames(reader, until_id=1), 30)
        assert answer["error"]["code"] == -32600 and "needs its token" in answer["error"]["message"]
        assert await asyncio.wait_for(reader.read(), 30) == b""  # and the connection is closed
        writer.close()
        assert not (tmp_path / "ran").exists()
    finally:
        log = await stopped(proc)
    assert "did not present the server's token" in log


async def test_web_pages_cannot_open_a_websocket(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    args = ("--ws", "127.0.0.1:0", "--allow-origin", "http://ok")
    proc, host, port, token, _ = await listening(*args)
    try:
        url = f"ws://{host}:{port}/?token={token}"
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin="http://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        allowed = await connect(url, origin="http://ok")  # type: ignore[arg-type]
        init: dict[str, Any] = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}
        await allowed.send(json.dumps(message))
        assert "capabilities" in json.loads(await asyncio.wait_for(allowed.recv(), 30))["result"]
        await allowed.close()
    finally:
        await stopped(proc)


async def test_a_unix_socket_is_this_users_alone(tmp_path: Path) -> None:
    path = tmp_path / "agentd.sock"
    proc = await asyncio.create_subprocess_exec(
        *SERVER, "--socket", str(path), stderr=asyncio.subprocess.PIPE, env=server_env()
    )
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
    assert f"listening on unix:{path} (mode 0600)" in line
    try:
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        reader, writer = await asyncio.open_unix_connection(str(path))
        init: dict[str, Any] = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        writer.write(request(1, "initialize", init))  # no token: the file mode is the lock
        (answer,) = await asyncio.wait_for(read_frames(reader, until_id=1), 30)
        assert "capabilities" in answer["result"]
        writer.close()
        other = await asyncio.create_subprocess_exec(
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
            "-c", f"import socket; socket.socket(socket.AF_UNIX).connect({str(path)!r})",
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert other.stderr is not None
        assert await asyncio.wait_for(other.wait(), 30) != 0
        assert b"Permission denied" in await other.stderr.read()
    finally:
        await stopped(proc)
    assert not path.exists()  # removed on the way out


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
async def test_socket_log_names_the_bound_port(host: str, warned: bool) -> None:
    proc, _, port, _, printed = await listening("--tcp", f"{host}:0", "--log-level", "INFO")
    logged = printed + await stopped(proc)
    assert f"serving on tcp://{host}:{port}" in logged and f"tcp://{host}:{port}" in printed
    assert ("non-loopback address" in logged) is warned, logged
