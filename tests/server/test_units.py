"""Unit tests of the server's pure parts: coalescing, settings, error text, output locations."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from engine.config import EngineConfig
from engine.errors import UnknownGoal
from engine.models import RunGoalParams
from server.app import create_server
from server.diagnostics import LOCATION, source_diagnostics
from server.output import OutputCoalescer
from server.rpc import validate
from server.serve import parse_address
from server.settings import config_from_settings, settings_section


async def test_coalescer_bounds_the_rate_and_keeps_every_byte() -> None:
    sent: list[tuple[str, str, str, float]] = []
    coalescer = OutputCoalescer(lambda s, st, t: sent.append((s, st, t, time.monotonic())))
    began = time.monotonic()
    while time.monotonic() - began < 1.0:
        for stream in ("stdout", "stderr"):
            coalescer.add("s1", stream, "x")
        coalescer.add("s2", "stdout", "y")
        await asyncio.sleep(0.001)
    coalescer.close()
    assert len(sent) <= 20 * (time.monotonic() - began) + 2 * 3  # a first and a last flush
    writes = int(sum(len(t) for s, st, t, _ in sent if (s, st) == ("s1", "stdout")))
    assert writes == sum(len(t) for s, st, t, _ in sent if (s, st) == ("s1", "stderr"))
    assert "".join(t for s, _, t, _ in sent if s == "s2") == "y" * writes


async def test_coalescer_flushes_a_step_on_demand() -> None:
    sent: list[tuple[str, str, str]] = []
    coalescer = OutputCoalescer(lambda *args: sent.append(args))
    coalescer.add("a", "stdout", "1")
    coalescer.add("b", "stdout", "2")
    coalescer.flush_step("a")
    assert sent == [("a", "stdout", "1")]
    coalescer.close()
    assert sent[-1] == ("b", "stdout", "2")


def test_settings_section_shapes() -> None:
    assert settings_section({"agent": {"maxParallel": 2}}) == {"maxParallel": 2}
    assert settings_section({"maxParallel": 2}) == {"maxParallel": 2}
    assert settings_section(None) is None
    assert settings_section([1]) is None


def test_settings_errors_use_wire_names_and_hide_values() -> None:
    base = EngineConfig()
    with pytest.raises(ValueError) as caught:
        config_from_settings(base, {"stepTimeoutMs": -5, "apiKey": 12345})
    assert "stepTimeoutMs" in str(caught.value)
    assert "12345" not in str(caught.value)
    merged = config_from_settings(base, {"model": "m", "unknownKey": 1})
    assert merged.model == "m"


def test_validation_errors_name_nested_fields() -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, {"steps": [{"kind": "writeFile", "path": "a"}]})
    assert caught.value.message == "steps[0].content: Field required"
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, "goal")
    assert caught.value.message.startswith("params:")


@pytest.mark.parametrize(
    ("line", "path", "row", "col"),
    [
        ("src/a.py:3:1: boom", "src/a.py", "3", "1"),
        ("lib/x.c:10: error: bad", "lib/x.c", "10", None),
        ("/abs/p.py:7:2: E1 thing", "/abs/p.py", "7", "2"),
    ],
)
def test_output_locations(line: str, path: str, row: str, col: str | None) -> None:
    match = LOCATION.match(line)
    assert match is not None
    assert (match["path"], match["line"], match["col"]) == (path, row, col)


def test_no_location_in_plain_text() -> None:
    assert LOCATION.match("Running: 3 tests") is None
    assert LOCATION.match("  at 12:30: noon") is None


def test_source_diagnostics_stay_in_the_workspace(tmp_path: Path) -> None:
    from engine.models import Risk, StepResult

    (tmp_path / "a.py").write_text("x\n")
    out = "a.py:1: inside\n../outside.py:1: no\n/etc/hosts:1: no\n"
    failed = StepResult(
        id="s1", kind="runCli", cmd="lint", risk=Risk(level="low"), decision="allow",
        status="failed", stdout=out,
    )  # fmt: skip
    found = source_diagnostics(tmp_path, [failed])
    assert list(found) == [(tmp_path / "a.py").as_uri()]


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    for bad in ("8080", "host:", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_address(bad)


async def test_unexpected_errors_become_internal_errors() -> None:
    server = create_server()

    async def broken(params: Any) -> Any:
        raise RuntimeError("boom")

    async def unknown(params: Any) -> Any:
        raise UnknownGoal("x", ["demo.test"])

    with pytest.raises(JsonRpcException) as caught:
        await server.answerer.answer("agent/x", broken, {})
    assert caught.value.code == -32603
    assert "boom" in caught.value.message
    with pytest.raises(JsonRpcException) as caught:
        await server.answerer.answer("agent/x", unknown, {})
    assert caught.value.code == -32602
    assert caught.value.message.startswith("goal: unknown goal")


def test_main_parses_the_serve_options_itself() -> None:
    from server.__main__ import _parse

    options = _parse(["--tcp", "127.0.0.1:0", "--log-file", "f.log", "--log-level", "INFO"])
    assert (options.tcp, options.ws, options.log_file, options.log_level) == (
        "127.0.0.1:0", None, "f.log", "INFO",
    )  # fmt: skip
    with pytest.raises(SystemExit):
        _parse(["--tcp", "a:1", "--ws", "b:2"])
