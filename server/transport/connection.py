"""A client connection as a front-end sees it: decoded frames in, an outbox out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from server import wire
from server.transport.framing import (
    DEFAULT_MAX_BODY,
    Frame,
    FrameDecoder,
    IsNotification,
    Rejected,
    check_envelope,
)
from server.transport.outbox import Outbox

READ_CHUNK = 1 << 16


@dataclass
class Connection:
    frames: AsyncIterator[Frame]
    outbox: Outbox
    name: str  # for the log: "stdio", "tcp 127.0.0.1:40112", ...


class FrontEnd(Protocol):
    """What serves a connection (the language server; later others, such as ACP)."""

    def is_notification(self, method: str) -> bool: ...

    async def run(self, connection: Connection, stop: asyncio.Event) -> int:
        """Serve ``connection`` until it ends or ``stop`` is set; the exit code."""


async def stream_frames(
    reader: asyncio.StreamReader, is_notification: IsNotification, max_body: int = DEFAULT_MAX_BODY
) -> AsyncIterator[Frame]:
    """Frames of a byte stream with Content-Length framing (stdio, TCP, Unix socket)."""
    decoder = FrameDecoder(is_notification, max_body=max_body)
    while data := await reader.read(READ_CHUNK):
        for frame in decoder.feed(data):
            yield frame


async def message_frames(
    messages: AsyncIterable[str | bytes], is_notification: IsNotification
) -> AsyncIterator[Frame]:
    """Frames of a message-oriented stream (WebSocket: one JSON message per frame)."""
    async for message in messages:
        try:
            decoded: Any = orjson.loads(message)
        except orjson.JSONDecodeError:
            yield Rejected(wire.PARSE_ERROR, "Parse error: the message is not JSON")
            continue
        yield check_envelope(decoded, is_notification)
