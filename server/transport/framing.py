"""The LSP base protocol's framing, sans I/O: bytes in, messages or rejections out.

``FrameDecoder.feed`` takes whatever arrived and returns what it completes: an ``Incoming``
message (a JSON-RPC 2.0 envelope that passed every check), a ``Rejected`` one (answer it with the
error, to its id when one could be known) or ``Skipped`` bytes (out of sync; logged). A bad frame
never makes the session deaf: the decoder resynchronises at the next ``Content-Length`` header.

- A header block that is not ``Content-Length``/``Content-Type`` lines, a missing, negative or
  non-numeric ``Content-Length``, or a header past ``MAX_HEADER_BYTES``: -32700, then resync.
- A body that is not JSON: -32700. When the body holds the start of the next frame (the length
  was too long) that part is read again; leftovers of a too-short length are skipped.
- A body past ``max_body`` bytes is skipped without being kept: -32600.
- Envelope checks (``check_envelope``): an object, ``"jsonrpc": "2.0"``, a string method, a string
  or integer id, an id only on requests; no batches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from server import wire

MAX_HEADER_BYTES = 8192
DEFAULT_MAX_BODY = 64 << 20  # a writeFile step may carry 16 MiB of content; JSON escaping adds
SHOWN = 80  # at most this much of the input is quoted back in an error message

MsgId = int | str
_HEADER = re.compile(rb"content-length:", re.IGNORECASE)
_KNOWN_HEADERS = (b"content-length", b"content-type")
_GUESS_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\\n]|\\.){0,200}")')


@dataclass(frozen=True, slots=True)
class Incoming:
    """A well-formed JSON-RPC message (request, notification or response)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame or message that is answered with an error (``answer`` False: a bad response,
    which JSON-RPC forbids answering; it is only logged)."""

    code: int
    message: str
    msg_id: MsgId | None = None
    answer: bool = True


@dataclass(frozen=True, slots=True)
class Skipped:
    """Bytes dropped while looking for the next header."""

    size: int


Frame = Incoming | Rejected | Skipped
IsNotification = Callable[[str], bool]


def shown(raw: bytes | str) -> str:
    """A short, printable piece of the input for an error message."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")


def guess_id(raw: bytes) -> MsgId | None:
    """The ``id`` of a message that could not be parsed, when it can be read off the bytes."""
    match = _GUESS_ID.search(raw)
    if match is None:
        return None
    try:
        value = orjson.loads(match.group(1))
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, int | str) else None


class FrameDecoder:
    """Turns a byte stream into frames; see the module docstring for the rules."""

    def __init__(
        self, is_notification: IsNotification, *, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self._is_notification = is_notification
        self._max_body = max_body
        self._buffer = bytearray()
        self._body_length: int | None = None  # reading a body of this many bytes
        self._skip = 0  # bytes of an over-long body still to drop
        self._skip_error: Rejected | None = None  # answered once the body's start is seen

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        if self._skip:
            return self._skip_body()
        if self._body_length is not None:
            return self._body()
        return self._header()

    # -- headers -----------------------------------------------------------------------------
    def _header(self) -> Frame | None:
        buffer = self._buffer
        if not buffer:
            return None
        if not self._starts_with_header(buffer):
            return self._resync(0)
        end, gap = _header_end(buffer)
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                return self._bad_header(
                    len(buffer), f"a header longer than {MAX_HEADER_BYTES} bytes"
                )
            return None
        fields: dict[bytes, bytes] = {}
        for line in re.split(rb"\r?\n", bytes(buffer[:end])):
            name, colon, value = line.partition(b":")
            if not colon:
                return self._bad_header(end + gap, f"a header line without a colon: {shown(line)}")
            fields[name.strip().lower()] = value.strip()
        raw_length = fields.get(b"content-length")
        if raw_length is None:
            return self._bad_header(end + gap, "a header without Content-Length")
        if not raw_length.isdigit() or len(raw_length) > 12:
            return self._bad_header(end + gap, f"an invalid Content-Length {shown(raw_length)}")
        del buffer[: end + gap]
        length = int(raw_length)
        if length > self._max_body:
            self._skip = length
            self._skip_error = Rejected(
                wire.INVALID_REQUEST,
                f"a message of {length} bytes is larger than the limit of {self._max_body} bytes",
            )
            return self._skip_body()
        self._body_length = length
        return self._body()

    @staticmethod
    def _starts_with_header(buffer: bytearray) -> bool:
        head = bytes(buffer[:16]).lower()
        return any(
            head.startswith(name) or name.startswith(head) for name in _KNOWN_HEADERS
        )  # a prefix may be all that has arrived yet

    def _bad_header(self, size: int, problem: str) -> Rejected:
        """Answer a bad header block (to the id of the body after it, when one can be read)."""
        del self._buffer[:size]
        following = bytes(self._buffer[: self._next_header(0)])
        return Rejected(wire.PARSE_ERROR, f"Parse error: {problem}", guess_id(following))

    def _next_header(self, start: int) -> int:
        match = _HEADER.search(self._buffer, start)
        return match.start() if match else len(self._buffer)

    def _resync(self, start: int) -> Frame | None:
        """Drop bytes up to the next ``Content-Length`` header (keeping a possible partial one)."""
        at = self._next_header(start)
        if at == len(self._buffer):
            at = max(start, len(self._buffer) - len(b"content-length:") + 1)
        if at == 0:
            return None
        del self._buffer[:at]
        return Skipped(at)

    # -- bodies ------------------------------------------------------------------------------
    def _body(self) -> Frame | None:
        length = self._body_length
        assert length is not None
        if len(self._buffer) < length:
            return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._body_length = None
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return self._unparsable(body, exc)
        return check_envelope(decoded, self._is_notification)

    def _unparsable(self, body: bytes, exc: orjson.JSONDecodeError) -> Rejected:
        inner = _HEADER.search(body, 1)
        msg_id = guess_id(body[: inner.start()] if inner else body)
        if inner is not None:  # the length was too long: the next frame starts inside the body
            self._buffer[:0] = body[inner.start() :]
            hint = "Content-Length is longer than the message"
        elif exc.msg.startswith("depth limit"):
            hint = "nested too deeply"
        else:
            hint = "Content-Length must count bytes, not characters"
        return Rejected(wire.PARSE_ERROR, f"Parse error: the body is not JSON ({hint})", msg_id)

    def _skip_body(self) -> Frame | None:
        if self._skip_error is not None:  # answer once the start of the body shows its id
            if len(self._buffer) < min(self._skip, 1024):
                return None
            error, self._skip_error = self._skip_error, None
            return Rejected(error.code, error.message, guess_id(bytes(self._buffer[:1024])))
        dropped = min(self._skip, len(self._buffer))
        if not dropped:
            return None
        del self._buffer[:dropped]
        self._skip -= dropped
        return Skipped(dropped)


def _header_end(buffer: bytearray) -> tuple[int, int]:
    """Where the header block ends and how long its terminator is; (-1, 0) while incomplete."""
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, 2
    return (crlf, 4) if crlf >= 0 else (-1, 0)


def check_envelope(decoded: Any, is_notification: IsNotification) -> Incoming | Rejected:
    """JSON-RPC 2.0's rules for one message (LSP sends no batches)."""
    if isinstance(decoded, list):
        return Rejected(
            wire.INVALID_REQUEST, "batch requests are not supported: one message per frame"
        )
    if not isinstance(decoded, dict):
        return Rejected(wire.INVALID_REQUEST, "a message must be a JSON object")
    has_id = "id" in decoded
    msg_id = decoded.get("id")
    valid_id = isinstance(msg_id, int | str) and not isinstance(msg_id, bool)
    known_id = msg_id if valid_id else None
    method = decoded.get("method")
    if decoded.get("jsonrpc") != "2.0":
        return Rejected(
            wire.INVALID_REQUEST,
            'a message needs "jsonrpc": "2.0"',
            known_id,
            answer=method is not None,
        )
    if method is None:  # a response to one of our requests
        if not has_id or ("result" in decoded) == ("error" in decoded):
            return Rejected(
                wire.INVALID_REQUEST,
                "a message needs a method (request, notification) or an id with a result or "
                "an error (response)",
                known_id,
                answer=has_id,
            )
        return Incoming(decoded)
    if not isinstance(method, str) or not method:
        return Rejected(wire.INVALID_REQUEST, "method must be a non-empty string", known_id)
    if has_id and not valid_id:
        return Rejected(wire.INVALID_REQUEST, "id must be a string or an integer")
    params = decoded.get("params")
    if params is not None and not isinstance(params, dict | list):
        return Rejected(wire.INVALID_PARAMS, "params must be an object or an array", known_id)
    if has_id and is_notification(method):
        return Rejected(
            wire.INVALID_REQUEST,
            f"{shown(method)} is a notification: send it without an id",
            known_id,
        )
    return Incoming(decoded)
