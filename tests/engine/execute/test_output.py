"""Live output: whole redacted lines to the listener, everything kept for a cancelled step."""

from __future__ import annotations

import re

from engine.execute.output import LINE_LIMIT, LiveOutput
from engine.models import Stream


def make() -> tuple[LiveOutput, list[tuple[Stream, str]]]:
    sent: list[tuple[Stream, str]] = []
    live = LiveOutput(
        lambda stream, text: sent.append((stream, text)),
        lambda t: t.replace("tok-secret", "[REDACTED]"),
    )
    return live, sent


def test_a_token_split_across_reads_is_still_redacted() -> None:
    live, sent = make()
    live.feed("stdout", "key=tok-se")
    live.feed("stdout", "cret\nnext")
    live.flush()
    assert sent == [("stdout", "key=[REDACTED]\n"), ("stdout", "next")]
    assert "tok-secret" not in "".join(text for _, text in sent)


def test_streams_are_buffered_separately() -> None:
    live, sent = make()
    live.feed("stdout", "out")
    live.feed("stderr", "err\n")
    live.feed("stdout", " line\n")
    assert sent == [("stderr", "err\n"), ("stdout", "out line\n")]


def test_a_long_line_without_newline_is_passed_on() -> None:
    live, sent = make()
    live.feed("stdout", "x" * LINE_LIMIT)
    assert sent == [("stdout", "x" * LINE_LIMIT)]


def test_captured_keeps_everything_redacted() -> None:
    live, _ = make()
    live.feed("stdout", "a tok-")
    live.feed("stdout", "secret b")
    assert live.captured("stdout") == "a [REDACTED] b" and live.captured("stderr") == ""


def test_a_private_key_is_held_until_its_end_line() -> None:
    sent: list[tuple[Stream, str]] = []

    def redact(text: str) -> str:
        return re.sub(r"-----BEGIN KEY-----.*?-----END KEY-----", "[REDACTED]", text, flags=re.S)

    live = LiveOutput(lambda stream, text: sent.append((stream, text)), redact)
    live.feed("stdout", "before\n-----BEGIN KEY-----\nAAAA\n")
    live.feed("stdout", "BBBB\n-----END KEY-----\nafter\n")
    assert "".join(text for _, text in sent) == "before\n[REDACTED]\nafter\n"
