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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from engine import __version__
from server.transport.connection import Connection, FrontEnd, stream_frames
from server.transport.outbox import STALL_TIMEOUT_S, Outbox
from server.transport.sinks import FlowControl, TransportSink

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class TransportError(Exception):
    """The transport cannot start (bad address, stdin that is not a pipe, missing package)."""


@dataclass(frozen=True)
class Listen:
    """Where to serve: ``stdio``; ``tcp`` or ``ws`` on ``address``; ``unix`` at ``path``."""

    scheme: str = "stdio"
    address: tuple[str, int] | None = None
    stall_timeout_s: float = STALL_TIMEOUT_S
    path: Path | None = None  # the Unix socket
    allowed_origins: frozenset[str] = frozenset()  # WebSocket origins a browser may use


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
        from server.transport.sockets import serve_sockets

        return asyncio.run(serve_sockets(front_end, where))
    except KeyboardInterrupt:
        return 130


def stop_on_signals(stop: asyncio.Event) -> None:
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
    stop_on_signals(stop)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), wire_in)
    flow = FlowControl()
    transport, _ = await loop.connect_write_pipe(lambda: flow, wire_out)
    outbox = Outbox(
        TransportSink(transport, flow.wait_resumed), stall_timeout_s=where.stall_timeout_s
    )
    connection = Connection(stream_frames(reader, front_end.is_notification), outbox, "stdio")
    return await front_end.run(connection, stop)
