"""Servers the transport tests start and the raw frames they send and read: `agentd serve`
on stdio (``spawn``) or on a socket (``listening``, ``stopped``)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from typing import Any

from tests.server.agent_client import SERVER, server_env


def frame(message: dict[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: int, method: str, params: Any = None, *, omit_params: bool = False) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if not omit_params:
        message["params"] = params
    return frame(message)


async def read_frames(stdout: asyncio.StreamReader, until_id: int) -> list[dict[str, Any]]:
    """Every message up to the answer with ``until_id``; fails if stdout holds anything else."""
    messages = []
    while True:
        header = await stdout.readuntil(b"\r\n\r\n")
        match = re.fullmatch(rb"Content-Length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n", header)
        assert match, f"not a message header on stdout: {header[:200]!r}"
        message = json.loads(await stdout.readexactly(int(match[1])))
        messages.append(message)
        if message.get("id") == until_id and "method" not in message:
            return messages


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *SERVER,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(),
    )


async def listening(*args: str) -> tuple[asyncio.subprocess.Process, str, int, str, str]:
    """A socket server: (process, host, port, token, what it printed) off its stderr."""
    proc = await asyncio.create_subprocess_exec(
        *SERVER, *args, stderr=asyncio.subprocess.PIPE, env=server_env()
    )
    assert proc.stderr is not None
    lines = ""
    while "agentd: token " not in lines:
        lines += (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
    found = re.search(r"listening on \w+://([\d.]+):(\d+)", lines)
    token = re.search(r"token (\S+) \(also in (\S+)\)", lines)
    assert found and token, lines
    mode = os.stat(token[2]).st_mode & 0o777
    assert oct(mode) == "0o600"  # only this user can read it
    return proc, found[1], int(found[2]), token[1], lines


async def stopped(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    proc.send_signal(signal.SIGTERM)
    rest = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    return rest
