"""A running step's output as the listener sees it, and what it keeps for a cancel.

The runner redacts the byte stream before anything sees it (``engine.execute.capture``) and passes
it on in whole lines (or 64 KiB pieces of an endless one): this only forwards and remembers.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.vocab import Stream

Send = Callable[[Stream, str], None]


class LiveOutput:
    """Feeds ``send`` the (already redacted) output, and remembers everything so far."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._captured: dict[Stream, list[str]] = {"stdout": [], "stderr": []}

    def feed(self, stream: Stream, text: str) -> None:
        self._captured[stream].append(text)
        self._send(stream, text)

    def captured(self, stream: Stream) -> str:
        """Everything captured so far: what a cancelled step keeps."""
        return "".join(self._captured[stream])
