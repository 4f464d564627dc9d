"""Framing, sans I/O: every bad frame kind is answered, and the next good frame still decodes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server import wire
from server.transport.framing import (
    MAX_HEADER_BYTES,
    Frame,
    FrameDecoder,
    Incoming,
    Rejected,
    Skipped,
    check_envelope,
)

NOTIFICATIONS = {"initialized", "exit", "$/cancelRequest"}
HEALTH = {"jsonrpc": "2.0", "id": 99, "method": "agent/health", "params": {}}


def body(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def frame(payload: bytes, length: int | None = None) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(payload) if length is None else length, payload)


def decoder(max_body: int = 1 << 20) -> FrameDecoder:
    return FrameDecoder(NOTIFICATIONS.__contains__, max_body=max_body)


def answers(frames: list[Frame]) -> list[Frame]:
    """The frames a session acts on (skipped garbage is only logged)."""
    return [f for f in frames if not isinstance(f, Skipped)]


def test_a_request_in_one_piece_and_byte_by_byte() -> None:
    data = frame(body(HEALTH)) + frame(body(HEALTH | {"id": 100}))
    assert answers(decoder().feed(data)) == [Incoming(HEALTH), Incoming(HEALTH | {"id": 100})]
    slow = decoder()
    frames = [f for i in range(len(data)) for f in slow.feed(data[i : i + 1])]
    assert [f.message["id"] for f in frames if isinstance(f, Incoming)] == [99, 100]


def test_headers_are_case_insensitive_and_may_carry_a_content_type() -> None:
    payload = body(HEALTH)
    data = b"content-type: application/vscode-jsonrpc\r\nCONTENT-LENGTH: %d\r\n\r\n" % len(payload)
    assert answers(decoder().feed(data + payload)) == [Incoming(HEALTH)]
    assert answers(decoder().feed(b"Content-Length: %d\n\n" % len(payload) + payload)) == [
        Incoming(HEALTH)
    ]


def test_a_length_that_counts_characters_is_answered_with_the_id_and_the_next_frame_works() -> None:
    message = {"jsonrpc": "2.0", "id": 7, "method": "agent/runGoal", "params": {"goal": "héllo"}}
    payload = body(message)
    characters = len(payload.decode())  # one less than the bytes: the client counted characters
    frames = answers(decoder().feed(frame(payload, characters) + frame(body(HEALTH))))
    assert frames[0] == Rejected(
        wire.PARSE_ERROR,
        "Parse error: the body is not JSON (Content-Length must count bytes, not characters)",
        7,
    )
    assert frames[1:] == [Incoming(HEALTH)]


def test_a_length_that_is_too_long_gives_the_next_frame_back() -> None:
    payload = body({"jsonrpc": "2.0", "id": 8, "method": "agent/health"})
    data = frame(payload, len(payload) + 30) + frame(body(HEALTH))
    frames = answers(decoder().feed(data))
    assert isinstance(frames[0], Rejected) and frames[0].msg_id == 8
    assert "longer than the message" in frames[0].message
    assert frames[1:] == [Incoming(HEALTH)]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"Content-Length: -5", "an invalid Content-Length '-5'"),
        (b"Content-Length: abc", "an invalid Content-Length 'abc'"),
        (b"Content-Length: 1e3", "an invalid Content-Length '1e3'"),
        (b"Content-Type: x", "a header without Content-Length"),
        (b"Content-Length 12", "a header line without a colon"),
    ],
)
def test_bad_headers_are_answered_and_resynchronised(header: bytes, problem: str) -> None:
    payload = body({"jsonrpc": "2.0", "id": 5, "method": "agent/health"})
    frames = answers(decoder().feed(header + b"\r\n\r\n" + payload + frame(body(HEALTH))))
    assert len(frames) == 2 and isinstance(frames[0], Rejected)
    assert frames[0].code == wire.PARSE_ERROR and frames[0].message.startswith(
        f"Parse error: {problem}"
    )
    assert frames[0].msg_id == 5  # read off the body that followed the bad header
    assert frames[1] == Incoming(HEALTH)


def test_garbage_before_a_header_is_skipped() -> None:
    frames = decoder().feed(b"\x00\xff garbage }" + frame(body(HEALTH)))
    assert frames == [Skipped(12), Incoming(HEALTH)]


def test_an_endless_header_is_refused() -> None:
    frames = decoder().feed(b"Content-Type: " + b"x" * MAX_HEADER_BYTES)
    assert isinstance(frames[0], Rejected) and "header longer than" in frames[0].message


def test_a_body_past_the_limit_is_skipped_without_being_kept() -> None:
    big = body(
        {"jsonrpc": "2.0", "id": 3, "method": "agent/runGoal", "params": {"goal": "x" * 5000}}
    )
    d = decoder(max_body=1000)
    frames = d.feed(frame(big)[:1500])
    assert frames[0] == Rejected(
        wire.INVALID_REQUEST,
        f"a message of {len(big)} bytes is larger than the limit of 1000 bytes",
        3,
    )
    assert len(d._buffer) < 1024  # dropped as it arrives
    rest = d.feed(frame(big)[1500:] + frame(body(HEALTH)))
    assert answers(rest) == [Incoming(HEALTH)]


@pytest.mark.parametrize(
    ("payload", "hint"),
    [
        (b"{this is not json", "Content-Length must count bytes"),
        (b"\xff\xfe\xfd", "Content-Length must count bytes"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_bodies_that_are_not_json(payload: bytes, hint: str) -> None:
    frames = answers(decoder().feed(frame(payload) + frame(body(HEALTH))))
    assert isinstance(frames[0], Rejected) and frames[0].code == wire.PARSE_ERROR
    assert hint in frames[0].message and frames[1] == Incoming(HEALTH)


BAD = wire.INVALID_REQUEST
NO_JSONRPC = 'a message needs "jsonrpc": "2.0"'
NO_METHOD = (
    "a message needs a method (request, notification) or an id with a result or an error (response)"
)
BAD_METHOD = "method must be a non-empty string"
BAD_ID = "id must be a string or an integer"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ([HEALTH], Rejected(BAD, "batch requests are not supported: one message per frame")),
        ("hello", Rejected(BAD, "a message must be a JSON object")),
        ({"id": 4, "method": "agent/health"}, Rejected(BAD, NO_JSONRPC, 4)),
        ({"jsonrpc": "1.0", "id": 4, "method": "x"}, Rejected(BAD, NO_JSONRPC, 4)),
        ({"jsonrpc": "2.0", "id": 4, "method": 12}, Rejected(BAD, BAD_METHOD, 4)),
        ({"jsonrpc": "2.0", "id": 4, "method": ""}, Rejected(BAD, BAD_METHOD, 4)),
        ({"jsonrpc": "2.0", "id": True, "method": "x"}, Rejected(BAD, BAD_ID)),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "x"}, Rejected(BAD, BAD_ID)),
        ({"jsonrpc": "2.0", "id": None, "method": "x"}, Rejected(BAD, BAD_ID)),
        (
            {"jsonrpc": "2.0", "id": 4, "method": "x", "params": 3},
            Rejected(wire.INVALID_PARAMS, "params must be an object or an array", 4),
        ),
        (
            {"jsonrpc": "2.0", "id": 4, "method": "initialized"},
            Rejected(BAD, "'initialized' is a notification: send it without an id", 4),
        ),
        ({"jsonrpc": "2.0", "id": 4}, Rejected(BAD, NO_METHOD, 4)),
        ({"jsonrpc": "2.0", "result": 1}, Rejected(BAD, NO_METHOD, answer=False)),
        ({"jsonrpc": "1.0", "id": 4, "result": 1}, Rejected(BAD, NO_JSONRPC, 4, answer=False)),
    ],
)
def test_envelopes_that_break_json_rpc(message: Any, expected: Rejected) -> None:
    assert check_envelope(message, NOTIFICATIONS.__contains__) == expected


@pytest.mark.parametrize(
    "message",
    [
        HEALTH,
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "exit"},
        {"jsonrpc": "2.0", "id": "abc", "method": "agent/plan", "params": []},
        {"jsonrpc": "2.0", "id": 1, "result": None},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "no"}},
    ],
)
def test_good_envelopes_pass(message: dict[str, Any]) -> None:
    assert check_envelope(message, NOTIFICATIONS.__contains__) == Incoming(message)


def test_error_messages_quote_only_a_short_piece_of_the_input() -> None:
    frames = decoder().feed(b"Content-Length: " + b"9" * 50 + b"\r\n\r\n")
    assert isinstance(frames[0], Rejected) and len(frames[0].message) < 150
