"""Output coalescing: a flood of process output becomes at most ~20 notifications a second per run.

Text is buffered per (step, stream) and flushed on a timer, at the end of a step and at the end of
the run. Nothing the engine delivered is ever dropped; only the number of messages is bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Send = Callable[[str, str, str], None]  # (step_id, stream, text)

RATE_PER_SECOND = 20.0


class OutputCoalescer:
    """Buffers ``(step, stream) -> text`` and sends it through ``send`` at a bounded rate.

    After a timed flush that sent ``n`` notifications the next one waits ``n / rate`` seconds, so
    many steps printing at once still share the run's budget.
    """

    def __init__(self, send: Send, *, rate: float = RATE_PER_SECOND) -> None:
        self._send = send
        self._interval = 1.0 / rate
        self._buffers: dict[tuple[str, str], list[str]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._next_at = 0.0  # monotonic time before which no timed flush happens
        self.sent = 0

    def add(self, step_id: str, stream: str, text: str) -> None:
        if not text:
            return
        self._buffers.setdefault((step_id, stream), []).append(text)
        if self._timer is None:
            delay = max(0.0, self._next_at - time.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        sent = self._flush(lambda _key: True)
        self._next_at = time.monotonic() + self._interval * max(sent, 1)

    def flush_step(self, step_id: str) -> None:
        """Send what a step has buffered now (before its final status goes out)."""
        self._flush(lambda key: key[0] == step_id)

    def close(self) -> None:
        """Send everything left and stop the timer (end of the run)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flush(lambda _key: True)

    def _flush(self, selected: Callable[[tuple[str, str]], bool]) -> int:
        keys = [key for key in self._buffers if selected(key)]
        for key in keys:
            text = "".join(self._buffers.pop(key))
            self._send(key[0], key[1], text)
        self.sent += len(keys)
        return len(keys)
