"""Socket transports: TCP, WebSocket and a Unix socket, a session per connection, until a signal.

TCP and WebSocket need the server's token (``server.transport.auth``); a WebSocket from a web page
(it carries an ``Origin``) is refused unless that origin was allowed with ``--allow-origin``; a
Unix socket is created 0600 and only this user's (or root's) processes are served on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson

from engine import __version__
from engine.userdirs import state_dir
from server.transport.auth import (
    new_token,
    origin_allowed,
    peer_is_us,
    require_token,
    token_matches,
    write_token,
)
from server.transport.connection import Connection, FrontEnd, message_frames, stream_frames
from server.transport.framing import Frame, Rejected
from server.transport.outbox import Outbox
from server.transport.serve import Listen, TransportError, is_loopback, stop_on_signals
from server.transport.sinks import TransportSink, WebSocketSink

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from websockets.asyncio.server import ServerConnection
    from websockets.datastructures import Headers
    from websockets.http11 import Request, Response

log = logging.getLogger(__name__)


def _refuser(outbox: Outbox) -> Any:
    def refuse(rejected: Rejected) -> None:
        error = {"code": rejected.code, "message": rejected.message}
        outbox.send(orjson.dumps({"jsonrpc": "2.0", "id": rejected.msg_id, "error": error}))

    return refuse


async def serve_sockets(front_end: FrontEnd, where: Listen) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    sessions: set[asyncio.Task[Any]] = set()
    token = None if where.scheme == "unix" else new_token()

    async def session(connection: Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            await front_end.run(connection, stop)
        finally:
            sessions.discard(task)

    def guarded(frames: AsyncIterator[Frame], outbox: Outbox) -> AsyncIterator[Frame]:
        return frames if token is None else require_token(frames, token, _refuser(outbox))

    async def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if where.scheme == "unix" and not peer_is_us(sock):
            log.warning("refused a Unix-socket peer that runs as another user")
            writer.close()
            return
        peer = writer.get_extra_info("peername") or "unix"
        sink = TransportSink(writer.transport, writer.drain)
        outbox = Outbox(sink, stall_timeout_s=where.stall_timeout_s)
        frames = guarded(stream_frames(reader, front_end.is_notification), outbox)
        try:
            await session(Connection(frames, outbox, f"{where.scheme} {peer}"))
        finally:
            writer.close()

    async def on_websocket(ws: ServerConnection) -> None:
        outbox = Outbox(WebSocketSink(ws), framed=False, stall_timeout_s=where.stall_timeout_s)
        frames: AsyncIterator[Frame] = message_frames(ws, front_end.is_notification)
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        if token is not None and not token_matches(query.get("token", [None])[0], token):
            frames = guarded(frames, outbox)  # else the token must come in initialize
        try:
            await session(Connection(frames, outbox, f"ws {ws.remote_address}"))
        finally:
            await ws.close()

    listener = await _listen(where, on_stream, on_websocket)
    token_file = _announce(where, listener, token)
    try:
        await stop.wait()
    finally:
        listener.close()
        if sessions:
            await asyncio.wait(set(sessions))
        for path in (token_file, where.path if where.scheme == "unix" else None):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
    return 0


async def _listen(where: Listen, on_stream: Any, on_websocket: Any) -> Any:
    if where.scheme == "unix":
        assert where.path is not None
        if where.path.exists() and not where.path.is_socket():
            raise TransportError(f"{where.path} exists and is not a socket")
        with contextlib.suppress(FileNotFoundError):
            where.path.unlink()  # a socket left by a server that was killed
        old = os.umask(0o177)  # the socket is created 0600: no window where others can connect
        try:
            return await asyncio.start_unix_server(on_stream, str(where.path))
        finally:
            os.umask(old)
    assert where.address is not None
    host, port = where.address
    if where.scheme == "tcp":
        return await asyncio.start_server(on_stream, host, port)
    try:
        from websockets.asyncio.server import serve as ws_serve
    except ImportError:
        raise TransportError(
            "agentd serve --ws needs the websockets package (pip install 'pygls[ws]')"
        ) from None

    def check_origin(connection: ServerConnection, request: Request) -> Response | None:
        headers: Headers = request.headers
        origin = headers.get("Origin")
        if origin_allowed(origin, where.allowed_origins):
            return None
        log.warning("refused a WebSocket from the web page origin %r", origin)
        return connection.respond(
            http.HTTPStatus.FORBIDDEN, "this origin may not connect (agentd serve --allow-origin)\n"
        )

    return await ws_serve(on_websocket, host, port, process_request=check_origin)


def _announce(where: Listen, listener: Any, token: str | None) -> Path | None:
    """Say where we listen and how to connect (the token, its file); log a non-loopback bind."""
    if where.scheme == "unix":
        print(f"agentd: listening on unix:{where.path} (mode 0600)", file=sys.stderr, flush=True)
        return None
    token_file = None
    for sock in listener.sockets:
        host, port = sock.getsockname()[:2]
        url = f"{where.scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        log.info("agentd %s serving on %s", __version__, url)
        if not is_loopback(host):
            log.warning("listening on %s, a non-loopback address: keep the token secret", url)
        print(f"agentd: listening on {url}", file=sys.stderr, flush=True)
        if token is not None and token_file is None:
            token_file = state_dir() / "serve" / f"{where.scheme}-{port}.token"
            write_token(token_file, token)
            how = "initializationOptions.token in initialize"
            if where.scheme == "ws":
                how += ", or ?token=... in the URL"
            print(
                f"agentd: token {token} (also in {token_file}); clients send it as {how}",
                file=sys.stderr,
                flush=True,
            )
    return token_file
