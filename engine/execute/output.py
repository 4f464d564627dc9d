"""A running step's output as the listener sees it: whole lines, redacted, and kept for a cancel.

Redaction works on whole lines so that a token split across two reads of a pipe is still masked;
a line that grows past ``LINE_LIMIT`` without a newline is passed on as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.models import Stream

LINE_LIMIT = 8192
KEY_BEGIN, KEY_END, KEY_LIMIT = "-----BEGIN ", "-----END ", 64 * 1024

Send = Callable[[Stream, str], None]


class LiveOutput:
    """Feeds ``send`` redacted whole lines, and remembers everything captured so far."""

    def __init__(self, send: Send, redact: Callable[[str], str]) -> None:
        self._send = send
        self._redact = redact
        self._pending: dict[Stream, str] = {"stdout": "", "stderr": ""}
        self._captured: dict[Stream, list[str]] = {"stdout": [], "stderr": []}

    def feed(self, stream: Stream, text: str) -> None:
        self._captured[stream].append(text)
        pending = self._pending[stream] + text
        cut = pending.rfind("\n") + 1
        key = pending.rfind(KEY_BEGIN)
        if key >= 0 and KEY_END not in pending[key:] and len(pending) < KEY_LIMIT:
            cut = min(cut, key)  # a private key is redacted whole: hold it until its END line
        elif cut == 0 and len(pending) >= LINE_LIMIT:
            cut = len(pending)
        if cut:
            self._send(stream, self._redact(pending[:cut]))
            pending = pending[cut:]
        self._pending[stream] = pending

    def flush(self) -> None:
        """Pass on what is left of unfinished lines (the step has ended)."""
        for stream, pending in self._pending.items():
            if pending:
                self._send(stream, self._redact(pending))
                self._pending[stream] = ""

    def captured(self, stream: Stream) -> str:
        """Everything captured so far (redacted): what a cancelled step keeps."""
        return self._redact("".join(self._captured[stream]))
