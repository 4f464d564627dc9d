"""Outgoing messages with backpressure: a slow or stuck client never blocks the event loop.

The ``Outbox`` frames each message and hands it to a non-blocking ``Sink`` (a pipe, a socket, a
WebSocket). While the sink holds more than ``high_water`` bytes the outbox is *congested*: new
messages wait in its own queue, where ``send_latest`` messages (progress reports) are coalesced so
only the newest per key is kept, and front-ends hold back what they may drop (``agent/outputDelta``
coalesces on its side and is withheld). ``send`` messages (answers, final step updates) are never
dropped; the connection is closed instead when the client makes no progress for ``stall_timeout_s``
or more than ``limit`` bytes wait: memory stays bounded per connection.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Hashable
from typing import Protocol

log = logging.getLogger(__name__)

HIGH_WATER = 1 << 20  # bytes in the sink before messages queue here
LIMIT = 256 << 20  # bytes queued in all before the connection is given up (a big answer fits)
STALL_TIMEOUT_S = 60.0  # seconds a congested client may read nothing before it is given up


class Sink(Protocol):
    """A non-blocking byte sink with flow control."""

    def write(self, data: bytes) -> None:
        """Take ``data`` at once (buffering what the peer cannot take yet)."""

    def buffered(self) -> int:
        """Bytes taken but not yet handed to the operating system."""

    async def drained(self) -> None:
        """Return when ``buffered()`` is low again (or the sink is closed)."""

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class Outbox:
    """Sends framed messages through a sink without ever blocking; see the module docstring."""

    def __init__(
        self,
        sink: Sink,
        *,
        framed: bool = True,
        high_water: int = HIGH_WATER,
        limit: int = LIMIT,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        on_give_up: Callable[[str], None] | None = None,
    ) -> None:
        self._sink = sink
        self._framed = framed  # WebSocket frames need no Content-Length
        self._high_water = high_water
        self._limit = limit
        self._stall_timeout_s = stall_timeout_s
        self.on_give_up = on_give_up
        self._queue: collections.deque[bytes | Hashable] = collections.deque()
        self._latest: dict[Hashable, bytes] = {}  # key -> newest body of a queued send_latest
        self._queued = 0
        self._drainer: asyncio.Task[None] | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._on_clear: list[Callable[[], None]] = []
        self.given_up: str | None = None  # why the connection was given up

    @property
    def congested(self) -> bool:
        return self._drainer is not None

    @property
    def closed(self) -> bool:
        return self.given_up is not None or self._sink.closed

    def send(self, body: bytes) -> None:
        """Send a message that must arrive (an answer, a final status)."""
        if self.closed:
            return
        data = frame(body) if self._framed else body
        if self._drainer is None:
            self._sink.write(data)
            if self._sink.buffered() > self._high_water:
                self._congest()
            return
        self._queue.append(data)
        self._queued += len(data)
        self._check_limit()

    def send_latest(self, key: Hashable, body: bytes) -> None:
        """Send a message that a later one with the same ``key`` makes obsolete (a progress
        report): while congested only the newest is kept, in the place of the first."""
        if self._drainer is None or self.closed:
            self.send(body)
            return
        if key not in self._latest:
            self._queue.append(key)
        else:
            self._queued -= len(self._latest[key])
        self._latest[key] = body
        self._queued += len(body)
        self._check_limit()

    def when_clear(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, when the outbox is no longer congested (at once if it is not)."""
        if self._drainer is None:
            callback()
        else:
            self._on_clear.append(callback)

    async def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued was handed to the sink; False on timeout."""
        drainer = self._drainer
        if drainer is None:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(drainer)
                return True
        return False

    def close(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            self._drainer = None
        self._cancel_stall_timer()
        self._queue.clear()
        self._latest.clear()
        self._queued = 0
        self._on_clear.clear()
        self._sink.close()

    # -- congestion ----------------------------------------------------------------------------
    def _congest(self) -> None:
        self._drainer = asyncio.get_running_loop().create_task(self._drain())
        self._arm_stall_timer()

    async def _drain(self) -> None:
        while True:
            await self._sink.drained()
            self._arm_stall_timer()  # the client took data: it is slow, not stuck
            if self._sink.closed:
                return
            while self._queue and self._sink.buffered() <= self._high_water:
                item = self._queue.popleft()
                data = item if isinstance(item, bytes) else self._latest.pop(item)
                self._queued -= len(data)
                if not isinstance(item, bytes) and self._framed:
                    data = frame(data)
                self._sink.write(data)
            if not self._queue and self._sink.buffered() <= self._high_water:
                break
        self._drainer = None
        self._cancel_stall_timer()
        callbacks, self._on_clear = self._on_clear, []
        for callback in callbacks:
            callback()

    def _check_limit(self) -> None:
        waiting = self._queued + self._sink.buffered()
        if waiting > self._limit:
            self._give_up(f"{waiting} bytes are waiting for a client that does not read them")

    def _arm_stall_timer(self) -> None:
        self._cancel_stall_timer()
        loop = asyncio.get_running_loop()
        self._stall_timer = loop.call_later(
            self._stall_timeout_s,
            self._give_up,
            f"the client read nothing for {self._stall_timeout_s:g} s",
        )

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _give_up(self, reason: str) -> None:
        if self.given_up is not None:
            return
        self.given_up = reason
        log.warning("closing the connection: %s", reason)
        self.close()
        if self.on_give_up is not None:
            self.on_give_up(reason)
