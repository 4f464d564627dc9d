"""Transports (stdio, TCP, WebSocket) and logging for ``agentd serve``.

Every transport runs the same session loop: pygls reads and dispatches messages; the session ends
on ``exit``, on end of input or on SIGTERM/SIGINT/SIGHUP, and then cancels every run and waits for
its processes, so no process of a run outlives the connection. Each TCP or WebSocket connection
gets a server of its own (pygls 2.1's ``start_tcp`` serves one connection, then exits with a
SystemExit traceback; it is not used). Logs go to stderr or ``--log-file``, never to stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from pygls.exceptions import JsonRpcException
from pygls.io_ import run_async

from engine import __version__
from server.lsp.server import AgentServer, AnsweredError, create_server

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 30.0  # runs get this long to stop at the end of a session (kill grace is 2 s)
Read = Callable[[threading.Event], Awaitable[None]]


def serve(
    *,
    tcp: str | None = None,
    ws: str | None = None,
    log_file: str | None = None,
    log_level: str = "WARNING",
) -> int:
    """Serve over stdio (default), ``tcp="HOST:PORT"`` or ``ws="HOST:PORT"``; the exit code."""
    try:
        if tcp is not None and ws is not None:
            raise ValueError("--tcp and --ws are exclusive")
        where = tcp if tcp is not None else ws
        address = parse_address(where) if where is not None else None
        configure_logging(log_file, log_level)
    except (ValueError, OSError) as exc:
        print(f"agentd serve: {exc}", file=sys.stderr)
        return 2
    # Everything imported so far (lsprotocol's ~200 ms of types) lives as long as the process:
    # freezing it keeps a full GC pass over it from landing in the `initialize` answer (~30 ms).
    gc.freeze()
    try:
        if address is None:
            log.info("agentd %s serving on stdio", __version__)
            return asyncio.run(_serve_stdio(*_take_stdio()))
        return asyncio.run(_serve_sockets(address, websocket=ws is not None))
    except KeyboardInterrupt:
        return 130


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


class _QuietExpectedErrors(logging.Filter):
    """pygls logs a traceback for every error answer, even the expected ones (-32602, -32800),
    and for every message it cannot parse: ``AgentServer.report_server_error`` says it in one
    warning line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JsonRpcException):
            return False
        return not str(record.msg).startswith("Unable to deserialize message")


class _QuietWireNoise(logging.Filter):
    """pygls's read loop logs "Unable to handle message" with a traceback for garbage on the wire
    (bad JSON, bad UTF-8, unparseable params), which ``report_server_error`` reports anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        expected = (ValueError, JsonRpcException, AnsweredError)
        return not (record.msg == "Unable to handle message" and isinstance(error, expected))


_QUIET_PYGLS = _QuietExpectedErrors()
_QUIET_WIRE = _QuietWireNoise()


def configure_logging(log_file: str | None, log_level: str) -> None:
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {log_level!r}")
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pygls logs every message body at INFO: too much, and it may carry secrets.
    pygls_logger = logging.getLogger("pygls")
    pygls_logger.setLevel(max(level, logging.WARNING))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_QUIET_PYGLS)
    log.addFilter(_QUIET_WIRE)  # pygls's read loops log through ours (run_async(..., log, ...))


# -- sessions --------------------------------------------------------------------------------


async def run_session(server: AgentServer, read: Read, stop: asyncio.Event) -> int:
    """Serve one connection until ``exit``, end of input or ``stop``; then close its runs."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[int] = loop.create_future()
    server.protocol.on_exit = lambda code: None if exited.done() else exited.set_result(code)
    stop_reading = threading.Event()  # what pygls's read loops check between messages
    reading = asyncio.ensure_future(read(stop_reading))
    stopped = asyncio.ensure_future(stop.wait())
    waits: set[asyncio.Future[Any]] = {reading, exited, stopped}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_reading.set()
        reading.cancel()
        stopped.cancel()
        try:
            await asyncio.wait_for(server.close_runs(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.error("runs did not stop within %.0f s", CLOSE_TIMEOUT_S)
    if reading.done() and not reading.cancelled() and reading.exception() is not None:
        log.info("connection ended: %r", reading.exception())
    if exited.done():
        return exited.result()
    return 0 if server.shutdown_requested else 1


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        # Not possible off the main thread or on Windows: then the default handlers stay.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)


class _Reader:
    """An asyncio stream for pygls's read loop that survives over-long garbage lines."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        while True:
            try:
                return await self._stream.readline()
            except ValueError:  # a line past the limit: asyncio discarded it; read on
                log.warning("discarded an over-long line on the wire")

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""  # end of input in the middle of a message: pygls stops reading


class _PipeWriter:
    """stdout for pygls: a closed pipe (the client went away) drops data instead of raising."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._closed = False

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self._out.write(data)
            self._out.flush()
        except (OSError, ValueError):
            self._closed = True
            log.info("the client's end of the pipe is closed")

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._out.close()


class _StreamWriter:
    """An asyncio StreamWriter for pygls: writes after the peer left are dropped."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


def _take_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Keep the wire on private descriptors; fd 0 becomes /dev/null and fd 1 goes to stderr.

    Then nothing else in the process (a stray print, a child process, a C library) can read
    protocol bytes or write into the protocol stream.
    """
    sys.stdout.flush()
    wire_in = os.fdopen(os.dup(0), "rb", buffering=0)
    wire_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return wire_in, wire_out


async def _serve_stdio(wire_in: BinaryIO, wire_out: BinaryIO) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _install_signals(stop)
    server = create_server()
    server.protocol.set_writer(_PipeWriter(wire_out))
    stream = asyncio.StreamReader(limit=1 << 20)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), wire_in)
        reader: Any = _Reader(stream)
    except ValueError:  # stdin is a regular file: no pipe transport, read it in a thread
        reader = _FileReader(wire_in)

    async def read(stop_reading: threading.Event) -> None:
        await run_async(stop_reading, reader, server.protocol, log, server._report_server_error)

    try:
        return await run_session(server, read, stop)
    finally:
        server.protocol.writer = None
        wire_out.close()


class _FileReader:
    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    async def readline(self) -> bytes:
        return await asyncio.to_thread(self._source.readline)

    async def readexactly(self, n: int) -> bytes:
        return await asyncio.to_thread(self._source.read, n)


async def _serve_sockets(address: tuple[str, int], *, websocket: bool) -> int:
    stop = asyncio.Event()
    _install_signals(stop)
    sessions: set[asyncio.Task[Any]] = set()

    async def session(server: AgentServer, read: Read) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            await run_session(server, read, stop)
        finally:
            sessions.discard(task)

    async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = create_server()
        server.protocol.set_writer(_StreamWriter(writer))

        async def read(stop_reading: threading.Event) -> None:
            await run_async(
                stop_reading, _Reader(reader), server.protocol, log, server._report_server_error
            )

        try:
            await session(server, read)
        finally:
            writer.close()

    async def on_ws(connection: ServerConnection) -> None:
        from pygls.io_ import run_websocket

        server = create_server()

        async def read(stop_reading: threading.Event) -> None:
            await run_websocket(
                connection, stop_reading, server.protocol, log, server._report_server_error
            )

        try:
            await session(server, read)
        finally:
            await connection.close()

    host, port = address
    if websocket:
        try:
            from websockets.asyncio.server import serve as ws_serve
        except ImportError:
            print(
                "agentd serve --ws needs the websockets package (pip install 'pygls[ws]')",
                file=sys.stderr,
            )
            return 2
        listener: Any = await ws_serve(on_ws, host, port)
    else:
        listener = await asyncio.start_server(on_tcp, host, port)
    scheme = "ws" if websocket else "tcp"
    for sock in listener.sockets:
        sock_host, sock_port = sock.getsockname()[:2]
        url = f"{scheme}://{f'[{sock_host}]' if ':' in sock_host else sock_host}:{sock_port}"
        log.info("agentd %s serving on %s", __version__, url)
        if not _is_loopback(sock_host):
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
