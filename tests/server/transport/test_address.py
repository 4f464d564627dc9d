"""Listening addresses."""

from __future__ import annotations

import pytest

from server.transport.serve import is_loopback, parse_address


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("8080", "host:", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("localhost")
