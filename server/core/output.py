"""Output coalescing: a flood of process output becomes at most ~20 notifications a second per run.

Text is buffered per (step, stream) and sent through the run's token bucket: one
``agent/outputDelta`` costs one token, tokens come back at ``RATE_PER_SECOND`` and at most
``BURST`` are kept, so any T seconds of a run carry at most ``BURST + RATE_PER_SECOND * T``
notifications, however many steps print. Buffers go out oldest first while tokens last; the rest
waits (and keeps coalescing) for the next token. When a step reaches its final status, what it
still has buffered is sent only if a token is free; otherwise it is dropped here, because the
step's final ``agent/stepUpdated`` carries its complete captured stdout/stderr. The same at the
end of the run. So the deltas of a (step, stream) are always a prefix of its final output.

While the connection is congested (the client reads slower than we write) nothing is sent: text
keeps coalescing until the connection is clear again, and a step that ends meanwhile drops its
buffers like a step without tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.vocab import Stream

Send = Callable[[str, "Stream", str], None]  # (step_id, stream, text)


class Timer(Protocol):
    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], Timer]
Key = tuple[str, "Stream"]

RATE_PER_SECOND = 20.0
BURST = 4
_EPSILON = 1e-9  # a token refilled to 0.99999999 by float arithmetic is a token


class Backpressure(Protocol):
    """The connection's state (``server.transport.outbox.Outbox``)."""

    @property
    def congested(self) -> bool: ...

    def when_clear(self, callback: Callable[[], None]) -> None: ...


class _NeverCongested:
    congested = False

    def when_clear(self, callback: Callable[[], None]) -> None:
        callback()


class OutputCoalescer:
    """Buffers ``(step, stream) -> text`` and sends it through ``send`` at a bounded rate."""

    def __init__(
        self,
        send: Send,
        *,
        rate: float = RATE_PER_SECOND,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
        backpressure: Backpressure | None = None,
    ) -> None:
        self._send = send
        self._backpressure: Backpressure = backpressure or _NeverCongested()
        self._waiting_for_clear = False
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._call_later = call_later  # the running loop's call_later unless a test injects one
        self._tokens = float(burst)  # a run starts with a full bucket
        self._counted_at = clock()
        self._buffers: dict[Key, list[str]] = {}  # insertion order: oldest first
        self._timer: Timer | None = None
        self.sent = 0
        self.withheld = 0  # buffers left to the final agent/stepUpdated for want of a token

    def add(self, step_id: str, stream: Stream, text: str) -> None:
        if not text:
            return
        buffer = self._buffers.get((step_id, stream))
        if buffer is None:
            self._buffers[(step_id, stream)] = [text]
        else:
            buffer.append(text)
        if self._timer is None:
            self._schedule()

    def finish_step(self, step_id: str) -> None:
        """The step reached its final status: send its buffers while tokens last, drop the rest."""
        self._drain(step_id)
        self._drop(step_id)

    def close(self) -> None:
        """The end of the run: the same for every step, and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._drain(None)
        self._drop(None)

    def _available(self) -> float:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._counted_at) * self._rate)
        self._counted_at = now
        return self._tokens

    def _schedule(self) -> None:
        wait = max(0.0, (1.0 - self._available()) / self._rate)
        call_later = self._call_later or asyncio.get_running_loop().call_later
        self._timer = call_later(wait, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._drain(None)
        if self._buffers and not self._waiting_for_clear:
            self._schedule()

    def _selected(self, step_id: str | None) -> list[Key]:
        return [key for key in self._buffers if step_id is None or key[0] == step_id]

    def _on_clear(self) -> None:
        self._waiting_for_clear = False
        if self._timer is None and self._buffers:
            self._schedule()

    def _drain(self, step_id: str | None) -> None:
        if self._backpressure.congested:
            if not self._waiting_for_clear:
                self._waiting_for_clear = True
                self._backpressure.when_clear(self._on_clear)
            return
        for key in self._selected(step_id):
            if self._available() + _EPSILON < 1.0:
                return
            self._tokens -= 1.0
            self._send(key[0], key[1], "".join(self._buffers.pop(key)))
            self.sent += 1

    def _drop(self, step_id: str | None) -> None:
        for key in self._selected(step_id):
            del self._buffers[key]
            self.withheld += 1
