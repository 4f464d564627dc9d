"""The wire itself: garbage in, stdout kept clean, logging, bad frames and options (the socket
transports are in test_sockets.py)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.server.agent_client import (
    SERVER,
    server_env,
)
from tests.server.transport.servers import frame, read_frames, request, spawn

SECRET = "sk-wire-DO-NOT-ECHO-5678"


async def test_garbage_on_the_wire_is_survived(tmp_path: Path) -> None:
    proc = await spawn("--log-level", "DEBUG")
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    init = {
        "processId": None,
        "rootUri": tmp_path.as_uri(),
        "capabilities": {},
        # planner stub: the key must stay out of the logs, and agent/health reach no network
        "initializationOptions": {"agent": {"apiKey": SECRET, "planner": "stub"}},
    }
    proc.stdin.write(request(1, "initialize", init))
    proc.stdin.write(b"\x00\xff\xfe random bytes without a header\r\n\r\n")
    proc.stdin.write(frame(b"{this is not json"))
    proc.stdin.write(frame(b"\xff\xfe\xfd"))
    proc.stdin.write(b"x" * (3 << 20) + b"\r\n")  # one over-long line
    proc.stdin.write(request(2, "agent/health", omit_params=True))  # params are optional
    proc.stdin.write(request(3, "textDocument/hover", {"bad": 42}))  # typed params pygls rejects
    proc.stdin.write(request(4, "agent/runGoal", {"steps": [{"kind": "runCli", "cmd": "echo ok"}]}))
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=4), 30)
    answers = [m for m in messages if "method" not in m]
    assert "capabilities" in answers[0]["result"]
    parse_errors = [m for m in answers if m["id"] is None]
    assert [m["error"]["code"] for m in parse_errors] == [-32700, -32700]
    by_id = {m["id"]: m for m in answers}
    assert "version" in by_id[2]["result"]
    assert by_id[3]["error"]["code"] == -32602
    assert by_id[4]["result"]["stdout"] == "ok\n"
    proc.stdin.write(request(5, "shutdown"))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=5), 10)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    stderr = (await proc.stderr.read()).decode()
    assert "DEBUG" in stderr  # logs went to stderr, and read_frames found only messages on stdout
    assert SECRET not in stderr
    # One warning line per bad frame, no tracebacks at ERROR.
    assert "Parse error: the body is not JSON" in stderr
    assert "skipped" in stderr
    assert "Traceback" not in stderr, stderr
    assert not re.search(r"^\S+ \S+ ERROR ", stderr, re.MULTILINE), stderr


BAD_FRAMES: list[tuple[str, int, Any]] = [  # (kind, the code it is answered with, to which id)
    ("length one byte short", -32700, 11),
    ("negative length", -32700, 11),
    ("non-numeric length", -32700, 11),
    ("no jsonrpc", -32600, 11),
    ("batch", -32600, None),
    ("id on a notification", -32600, 11),
    ("non-string method", -32600, 11),
]


def bad_frame(kind: str) -> bytes:
    good = {"jsonrpc": "2.0", "id": 11, "method": "agent/health", "params": {}}
    if kind == "length one byte short":  # a client that counts characters, not bytes
        payload = json.dumps(good | {"params": {"é": 1}}, ensure_ascii=False).encode()
        return b"Content-Length: %d\r\n\r\n" % (len(payload) - 1) + payload
    if kind == "negative length":
        return b"Content-Length: -4\r\n\r\n" + json.dumps(good).encode()
    if kind == "non-numeric length":
        return b"Content-Length: ten\r\n\r\n" + json.dumps(good).encode()
    changed: Any = {
        "no jsonrpc": {k: v for k, v in good.items() if k != "jsonrpc"},
        "batch": [good],
        "id on a notification": {"jsonrpc": "2.0", "id": 11, "method": "initialized", "params": {}},
        "non-string method": good | {"method": ["agent/health"]},
    }[kind]
    return frame(json.dumps(changed).encode())


@pytest.mark.parametrize(("kind", "code", "msg_id"), BAD_FRAMES)
async def test_each_bad_frame_is_answered_and_the_session_goes_on(
    kind: str, code: int, msg_id: Any
) -> None:
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(request(1, "initialize", {"processId": None, "capabilities": {}}))
    proc.stdin.write(bad_frame(kind))
    proc.stdin.write(request(12, "agent/health", {}))
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=12), 30)
    answers = [m for m in messages if "method" not in m and m["id"] != 1]
    assert [(m["id"], m.get("error", {}).get("code")) for m in answers] == [
        (msg_id, code),
        (12, None),
    ]
    message = answers[0]["error"]["message"]
    assert "Traceback" not in message and "object has no attribute" not in message
    proc.stdin.close()  # end of input ends the session
    assert await asyncio.wait_for(proc.wait(), 10) == 1  # no shutdown first
    assert "Traceback" not in (await proc.stderr.read()).decode()


async def test_huge_strings_are_refused_in_a_few_words(tmp_path: Path) -> None:
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(request(1, "initialize", {"processId": None, "capabilities": {}}))
    proc.stdin.write(
        request(2, "agent/runGoal", {"goal": "demo.test", "workspace": "/" + "w" * (50 << 20)})
    )
    proc.stdin.write(
        request(3, "agent/runGoal", {"goal": "demo.test", "workDoneToken": "t" * 100_000})
    )
    proc.stdin.write(
        request(
            4,
            "agent/runGoal",
            {"steps": [{"kind": "runCli", "cmd": "echo a\x00b"}], "workspace": str(tmp_path)},
        )
    )
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=4), 60)
    answers = {m["id"]: m for m in messages if "method" not in m}
    for msg_id, field in ((2, "workspace"), (3, "workDoneToken"), (4, "steps[0].cmd")):
        error = answers[msg_id]["error"]
        assert error["code"] == -32602 and error["message"].startswith(field), error
        assert len(error["message"]) < 300
    assert not (tmp_path / ".agent").exists()  # nothing ran
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)


async def test_requests_after_shutdown_are_refused() -> None:
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(request(1, "initialize", {"processId": None, "capabilities": {}}))
    proc.stdin.write(request(2, "shutdown"))
    await proc.stdin.drain()
    await asyncio.wait_for(read_frames(proc.stdout, until_id=2), 30)
    # pygls 2.1 dropped these without an answer: the client waited forever.
    proc.stdin.write(request(3, "agent/health", {}))
    proc.stdin.write(
        request(
            4,
            "textDocument/hover",
            {"textDocument": {"uri": "file:///a"}, "position": {"line": 0, "character": 0}},
        )
    )
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=4), 10)
    answers = {m["id"]: m for m in messages if "method" not in m}
    assert answers[3]["error"] == {
        "code": -32600,
        "message": "agent/health: the server is shutting down",
    }
    assert answers[4]["error"]["code"] == -32600
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_requests_before_initialize_are_refused(tmp_path: Path) -> None:
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    # pygls ran these against a session that did not exist yet: -32603 AttributeError.
    run = {"workspace": str(tmp_path), "steps": [{"kind": "runCli", "cmd": "echo early"}]}
    proc.stdin.write(request(1, "agent/runGoal", run))
    proc.stdin.write(request(2, "workspace/executeCommand", {"command": "agent/health"}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    init: dict[str, Any] = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
    proc.stdin.write(request(3, "initialize", init))
    proc.stdin.write(request(4, "agent/runGoal", run))
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=4), 30)
    answers = {m["id"]: m for m in messages if "method" not in m}
    assert answers[1]["error"] == {
        "code": -32002,
        "message": "agent/runGoal: the server is not initialized; send initialize first",
    }
    assert answers[2]["error"]["code"] == -32002
    assert "workspace/executeCommand" in answers[2]["error"]["message"]
    assert "capabilities" in answers[3]["result"]
    assert answers[4]["result"]["stdout"] == "early\n"
    assert len(list((tmp_path / ".agent" / "runs").glob("*.jsonl"))) == 1  # the first never ran
    proc.stdin.write(request(5, "shutdown"))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    await proc.stdin.drain()
    await asyncio.wait_for(read_frames(proc.stdout, until_id=5), 10)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert "Traceback" not in (await proc.stderr.read()).decode()


async def test_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "agentd.log"
    proc = await spawn("--log-file", str(log_file), "--log-level", "INFO")
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(
        request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    )
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.write(request(2, "agent/health", {}))
    await proc.stdin.drain()
    await asyncio.wait_for(read_frames(proc.stdout, until_id=2), 30)
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)
    assert await proc.stderr.read() == b""
    logged = log_file.read_text()
    assert "INFO" in logged
    assert "Sending data" not in logged  # pygls's message-body logging stays off


async def test_python_m_server_is_agentd_serve() -> None:
    proc = await asyncio.create_subprocess_exec(
        *SERVER, "--tcp", "nope", stderr=asyncio.subprocess.PIPE, env=server_env()
    )
    assert proc.stderr is not None
    assert await asyncio.wait_for(proc.wait(), 30) == 2
    assert b"HOST:PORT" in await proc.stderr.read()


async def test_deeply_nested_params_are_answered() -> None:
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(request(1, "initialize", {"processId": None, "capabilities": {}}))
    nested = b'{"jsonrpc":"2.0","id":2,"method":"agent/runGoal","params":' + b"[" * 5000
    proc.stdin.write(frame(nested + b"]" * 5000 + b"}"))
    proc.stdin.write(request(3, "agent/health", {}))
    await proc.stdin.drain()
    messages = await asyncio.wait_for(read_frames(proc.stdout, until_id=3), 30)
    answers = {m["id"]: m for m in messages if "method" not in m}
    assert answers[2]["error"]["code"] == -32700  # was no answer at all
    assert "nested too deeply" in answers[2]["error"]["message"]
    assert "version" in answers[3]["result"]
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 10)
