"""Transports: stdio, TCP and WebSocket, each connection served by a front-end.

Every connection reads through the framing decoder and writes through an ``Outbox``, so a bad
frame is answered and a slow client never blocks the event loop. A session ends on ``exit``, at
the end of input or on SIGTERM/SIGINT/SIGHUP; then its runs are cancelled and their processes
reaped. Each TCP or WebSocket connection gets a session of its own and the server keeps
listening until a signal stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import stat
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from engine import __version__
from server.transport.connection import Connection, FrontEnd, message_frames, stream_frames
from server.transport.outbox import STALL_TIMEOUT_S, Outbox
from server.transport.sinks import FlowControl, TransportSink, WebSocketSink

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

log = logging.getLogger(__name__)


class TransportError(Exception):
    """The transport cannot start (bad address, stdin that is not a pipe, missing package)."""


@dataclass(frozen=True)
class Listen:
    """Where to serve: stdio (``address`` None), or ``tcp``/``ws`` on ``address``."""

    scheme: str = "stdio"
    address: tuple[str, int] | None = None
    stall_timeout_s: float = STALL_TIMEOUT_S


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def serve(front_end: FrontEnd, where: Listen) -> int:
    """Serve until the session (stdio) or a signal (sockets) ends; the exit code."""
    try:
        if where.scheme == "stdio":
            wire_in, wire_out = _take_stdio()
            log.info("agentd %s serving on stdio", __version__)
            return asyncio.run(_serve_stdio(front_end, wire_in, wire_out, where))
        return asyncio.run(_serve_sockets(front_end, where))
    except KeyboardInterrupt:
        return 130


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        # Not possible off the main thread: then the default handlers stay.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)


# -- stdio ------------------------------------------------------------------------------------


def _take_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """Keep the wire on private descriptors; fd 0 becomes /dev/null and fd 1 goes to stderr, so
    nothing else in the process (a stray print, a C library) can touch the protocol stream."""
    mode = os.fstat(0).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        what = "a terminal" if os.isatty(0) else "not a pipe or a socket"
        raise TransportError(
            f"stdin is {what}: `agentd serve` speaks JSON-RPC to an editor or to `agentd run`, "
            "which start it with pipes (to try agentd, run `agentd run swe.analyze`)"
        )
    sys.stdout.flush()
    wire_in = os.fdopen(os.dup(0), "rb", buffering=0)
    wire_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return wire_in, wire_out


async def _serve_stdio(
    front_end: FrontEnd, wire_in: IO[bytes], wire_out: IO[bytes], where: Listen
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), wire_in)
    flow = FlowControl()
    transport, _ = await loop.connect_write_pipe(lambda: flow, wire_out)
    outbox = Outbox(
        TransportSink(transport, flow.wait_resumed), stall_timeout_s=where.stall_timeout_s
    )
    connection = Connection(stream_frames(reader, front_end.is_notification), outbox, "stdio")
    return await front_end.run(connection, stop)


# -- sockets ----------------------------------------------------------------------------------


async def _serve_sockets(front_end: FrontEnd, where: Listen) -> int:
    assert where.address is not None
    stop = asyncio.Event()
    _stop_on_signals(stop)
    sessions: set[asyncio.Task[Any]] = set()

    async def session(connection: Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            await front_end.run(connection, stop)
        finally:
            sessions.discard(task)

    async def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        outbox = Outbox(
            TransportSink(writer.transport, writer.drain), stall_timeout_s=where.stall_timeout_s
        )
        frames = stream_frames(reader, front_end.is_notification)
        try:
            await session(Connection(frames, outbox, f"tcp {peer}"))
        finally:
            writer.close()

    async def on_websocket(ws: ServerConnection) -> None:
        outbox = Outbox(WebSocketSink(ws), framed=False, stall_timeout_s=where.stall_timeout_s)
        frames = message_frames(ws, front_end.is_notification)
        try:
            await session(Connection(frames, outbox, f"ws {ws.remote_address}"))
        finally:
            await ws.close()

    host, port = where.address
    listener = await _listen(where.scheme, host, port, on_stream, on_websocket)
    for sock in listener.sockets:
        sock_host, sock_port = sock.getsockname()[:2]
        url = f"{where.scheme}://{f'[{sock_host}]' if ':' in sock_host else sock_host}:{sock_port}"
        log.info("agentd %s serving on %s", __version__, url)
        if not is_loopback(sock_host):
            log.warning(
                "listening on %s, a non-loopback address: anyone who can connect can run "
                "commands (there is no authentication)",
                url,
            )
        print(f"agentd: listening on {url}", file=sys.stderr, flush=True)
    await stop.wait()
    listener.close()
    if sessions:
        await asyncio.wait(set(sessions))
    return 0


async def _listen(
    scheme: str,
    host: str,
    port: int,
    on_stream: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    on_websocket: Callable[[ServerConnection], Awaitable[None]],
) -> Any:
    if scheme == "tcp":
        return await asyncio.start_server(on_stream, host, port)
    try:
        from websockets.asyncio.server import serve as ws_serve
    except ImportError:
        raise TransportError(
            "agentd serve --ws needs the websockets package (pip install 'pygls[ws]')"
        ) from None
    return await ws_serve(on_websocket, host, port)
