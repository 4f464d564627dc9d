"""Non-blocking byte sinks for the ``Outbox``: an asyncio transport (pipe, TCP, Unix socket) or a
WebSocket connection. Writes never block; ``drained`` waits for the peer to catch up."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from server.transport.outbox import HIGH_WATER

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection


class FlowControl(asyncio.Protocol):
    """The write side's protocol: remembers when the transport asks us to pause."""

    def __init__(self) -> None:
        self._resumed = asyncio.Event()
        self._resumed.set()

    def pause_writing(self) -> None:
        self._resumed.clear()

    def resume_writing(self) -> None:
        self._resumed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._resumed.set()  # the transport is closing now: nothing waits for it

    async def wait_resumed(self) -> None:
        await self._resumed.wait()


class TransportSink:
    """An asyncio write transport (its own buffer; paused above ``high_water``). ``drain`` waits
    for the protocol's ``resume_writing`` (``FlowControl.wait_resumed``, ``StreamWriter.drain``)."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        drain: Callable[[], Awaitable[None]],
        high_water: int = HIGH_WATER,
    ) -> None:
        self._transport = transport
        self._drain = drain
        self._lost = False
        transport.set_write_buffer_limits(high=high_water, low=high_water // 4)

    def write(self, data: bytes) -> None:
        if not self.closed:
            self._transport.write(data)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    async def drained(self) -> None:
        try:
            await self._drain()
        except ConnectionError:
            self._lost = True

    def close(self) -> None:
        self._transport.close()

    @property
    def closed(self) -> bool:
        return self._lost or self._transport.is_closing()


class WebSocketSink:
    """A WebSocket connection: one text frame per message, sent in order by one task."""

    def __init__(self, connection: ServerConnection, high_water: int = HIGH_WATER) -> None:
        self._connection = connection
        self._low_water = high_water // 4
        self._queue: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._wake = asyncio.Event()
        self._low = asyncio.Event()
        self._low.set()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._send_all())

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        self._queue.append(data)
        self._size += len(data)
        if self._size > self._low_water:
            self._low.clear()
        self._wake.set()

    def buffered(self) -> int:
        transport = self._connection.transport
        return self._size + (transport.get_write_buffer_size() if transport is not None else 0)

    async def drained(self) -> None:
        await self._low.wait()

    def close(self) -> None:
        self._closed = True
        self._low.set()
        self._task.cancel()

    @property
    def closed(self) -> bool:
        return self._closed

    async def _send_all(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    data = self._queue.popleft()
                    await self._connection.send(data.decode("utf-8"))
                    self._size -= len(data)
                    if self._size <= self._low_water:
                        self._low.set()
        except ConnectionClosed:
            self._closed = True
            self._low.set()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self._queue.clear()
            raise
