"""One language-server session on one connection: read, dispatch, and close cleanly.

The session ends on ``exit``, at the end of input, when the transport stops (SIGTERM, SIGINT,
SIGHUP) or when the client stops reading for good (the outbox gives up). Then every run is
cancelled and its processes are reaped, so no process of a run outlives the session, and what is
still queued for the client gets a short, bounded chance to go out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.lsp.pygls_compat import is_notification
from server.lsp.server import create_server
from server.transport.connection import Connection
from server.transport.framing import Incoming, Rejected, Skipped

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 30.0  # runs get this long to stop at the end of a session (kill grace is 2 s)
FLUSH_TIMEOUT_S = 2.0  # what is queued for the client gets this long to go out at the end


class LspFrontEnd:
    """The language server as a transport's front-end (``server.transport.serve``)."""

    is_notification = staticmethod(is_notification)

    async def run(self, connection: Connection, stop: asyncio.Event) -> int:
        return await run_session(connection, stop)


async def run_session(connection: Connection, stop: asyncio.Event) -> int:
    """Serve one connection until ``exit``, end of input or ``stop``; the exit code."""
    loop = asyncio.get_running_loop()
    server = create_server(connection.outbox)
    exited: asyncio.Future[int] = loop.create_future()
    given_up = asyncio.Event()
    server.protocol.on_exit = lambda code: None if exited.done() else exited.set_result(code)
    connection.outbox.on_give_up = lambda reason: given_up.set()

    async def read() -> None:
        async for frame in connection.frames:
            if isinstance(frame, Incoming):
                server.protocol.receive(frame.message)
            elif isinstance(frame, Rejected):
                log.warning("%s: %s (id %r)", connection.name, frame.message, frame.msg_id)
                if frame.answer:
                    server.protocol.send_error(frame.msg_id, frame.code, frame.message)
            elif isinstance(frame, Skipped):
                log.warning(
                    "%s: skipped %d bytes looking for a header", connection.name, frame.size
                )

    reading = asyncio.ensure_future(read())
    waits: set[asyncio.Future[Any]] = {
        reading,
        exited,
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(given_up.wait()),
    }
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            if waiting is not exited:
                waiting.cancel()
        try:
            await asyncio.wait_for(server.close_runs(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.error("%s: runs did not stop within %.0f s", connection.name, CLOSE_TIMEOUT_S)
        if not await connection.outbox.flush(FLUSH_TIMEOUT_S):
            log.warning("%s: the client did not take what was left for it", connection.name)
        connection.outbox.close()
    if reading.done() and not reading.cancelled() and reading.exception() is not None:
        log.info("%s: connection ended: %r", connection.name, reading.exception())
    if exited.done():
        return exited.result()
    return 0 if server.protocol.shutdown_requested else 1
