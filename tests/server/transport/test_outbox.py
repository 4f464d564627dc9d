"""The outbox with a sink the test controls: it never blocks, keeps order, coalesces what may be
coalesced, drops nothing that must arrive, and gives up on a client that does not read."""

from __future__ import annotations

import asyncio

import pytest

from server.transport.outbox import Outbox, frame


class Sink:
    """A peer that reads only when the test lets it (``take``)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.received = bytearray()
        self.closed = False
        self._drained = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.buffer += data

    def buffered(self) -> int:
        return len(self.buffer)

    async def drained(self) -> None:
        self._drained.clear()
        while len(self.buffer) > 10 and not self.closed:
            await self._drained.wait()
            self._drained.clear()

    def take(self) -> None:
        self.received += self.buffer
        self.buffer.clear()
        self._drained.set()

    def close(self) -> None:
        self.closed = True
        self._drained.set()


def bodies(data: bytes) -> list[bytes]:
    out = []
    while data:
        header, _, rest = data.partition(b"\r\n\r\n")
        length = int(header.split(b":")[1])
        out.append(rest[:length])
        data = rest[length:]
    return out


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_reading_client_gets_everything_in_order() -> None:
    sink = Sink()
    outbox = Outbox(sink, high_water=100)
    outbox.send(b"one")
    sink.take()
    assert bodies(bytes(sink.received)) == [b"one"] and not outbox.congested


async def test_while_congested_messages_queue_and_progress_coalesces() -> None:
    sink = Sink()
    outbox = Outbox(sink, high_water=10)
    outbox.send(b"first answer")  # past the high water: congested from now on
    assert outbox.congested
    outbox.send_latest("progress", b"report 1")
    outbox.send(b"step 1 done")
    outbox.send_latest("progress", b"report 2")
    outbox.send_latest("progress", b"report 3")
    outbox.send(b"answer")
    assert sink.received == b""  # nothing waited on the peer: all queued, the loop went on
    for _ in range(10):
        sink.take()
        await settle()
    assert bodies(bytes(sink.received)) == [b"first answer", b"report 3", b"step 1 done", b"answer"]
    assert not outbox.congested


async def test_when_clear_runs_once_the_queue_is_drained() -> None:
    sink = Sink()
    outbox = Outbox(sink, high_water=10)
    cleared: list[str] = []
    outbox.when_clear(lambda: cleared.append("now"))  # not congested: at once
    outbox.send(b"a long first message")
    outbox.when_clear(lambda: cleared.append("later"))
    assert cleared == ["now"]
    sink.take()
    await settle()
    assert cleared == ["now", "later"]


async def test_too_much_waiting_gives_the_client_up() -> None:
    sink = Sink()
    reasons: list[str] = []
    outbox = Outbox(sink, high_water=10, limit=1000, on_give_up=reasons.append)
    for _ in range(100):
        outbox.send(b"x" * 20)
    assert outbox.closed and sink.closed
    assert reasons and "bytes are waiting for a client that does not read them" in reasons[0]
    outbox.send(b"after")  # dropped quietly: the connection is gone
    assert sink.received == b""


async def test_a_stalled_client_is_given_up_and_a_slow_one_is_not() -> None:
    sink = Sink()
    gave_up = asyncio.Event()
    outbox = Outbox(sink, high_water=10, stall_timeout_s=0.2, on_give_up=lambda _: gave_up.set())
    outbox.send(b"more than ten bytes")
    for _ in range(6):  # slow: each read comes well within the stall timeout
        await asyncio.sleep(0.05)
        outbox.send(b"more than ten bytes")
        sink.take()
        await settle()
    assert not gave_up.is_set()
    outbox.send(b"more than ten bytes, never read")
    await asyncio.wait_for(gave_up.wait(), 30)  # stalled: given up (the bound only catches hangs)
    assert outbox.given_up is not None and "read nothing for 0.2 s" in outbox.given_up


async def test_flush_waits_for_the_queue_or_gives_up() -> None:
    sink = Sink()
    outbox = Outbox(sink, high_water=10)
    outbox.send(b"more than ten bytes")
    outbox.send(b"queued")
    assert await outbox.flush(0.01) is False
    sink.take()
    await settle()
    sink.take()
    assert await outbox.flush(5) is True
    assert bodies(bytes(sink.received)) == [b"more than ten bytes", b"queued"]


def test_frames_count_bytes() -> None:
    assert frame("é".encode()) == b"Content-Length: 2\r\n\r\n\xc3\xa9"


@pytest.mark.parametrize("framed", [True, False])
async def test_unframed_for_websockets(framed: bool) -> None:
    sink = Sink()
    Outbox(sink, framed=framed).send(b"{}")
    assert bytes(sink.buffer) == (frame(b"{}") if framed else b"{}")
