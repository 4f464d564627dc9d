"""docs/protocol.md's example session is a real one: its client messages are sent to a real
`agentd serve` over stdio, and every server message the doc shows must come back (run ids,
tokens, request ids, the workspace path and durations aside; order aside, since progress may
begin before or after the first step update)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from tests.server.agent_client import ROOT
from tests.server.transport.servers import frame, spawn

DOC = ROOT / "docs" / "protocol.md"
DOC_WORKSPACE = "/tmp/demo-ws"
_VOLATILE = [
    (re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}"), "RUN"),
    (re.compile(r"agentd-run-[0-9a-f]+"), "TOKEN"),
    (re.compile(r"agentd-[0-9a-f]{12}"), "REQUEST"),
]


def session_lines() -> list[tuple[str, dict[str, Any]]]:
    """The example session's messages: ("-->" or "<--", message), in the doc's order."""
    text = DOC.read_text()
    block = text.split("## Example session", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    found = []
    for line in block.splitlines():
        direction, _, body = line.partition(" ")
        assert direction in ("-->", "<--"), line
        found.append((direction, json.loads(body)))
    return found


def normal(value: Any, workspace: str) -> Any:
    """``value`` with what differs from run to run replaced by placeholders."""
    if isinstance(value, dict):
        return {
            k: 0 if k == "durationMs" else normal(v, workspace) for k, v in sorted(value.items())
        }
    if isinstance(value, list):
        return [normal(v, workspace) for v in value]
    if isinstance(value, str):
        value = value.replace(workspace, "WS")
        for pattern, placeholder in _VOLATILE:
            value = pattern.sub(placeholder, value)
    return value


async def replay(workspace: Path, sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send the doc's client messages (with its workspace swapped for ``workspace``); answer
    every progress ``create`` with null as the doc's client does; return what the server sent."""
    proc = await spawn()
    assert proc.stdin is not None and proc.stdout is not None
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def read() -> None:
        assert proc.stdout is not None and proc.stdin is not None
        while header := await proc.stdout.readuntil(b"\r\n\r\n"):
            length = int(re.search(rb"Content-Length: (\d+)", header)[1])  # type: ignore[index]
            message = json.loads(await proc.stdout.readexactly(length))
            received.append(message)
            arrived.set()
            if message.get("method") == "window/workDoneProgress/create":
                proc.stdin.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))

    reader = asyncio.ensure_future(read())
    for message in sent:
        if "method" not in message:
            continue  # an answer to the server: given by the reader as its request arrives
        text = json.dumps(message).replace(f"file://{DOC_WORKSPACE}", workspace.as_uri())
        proc.stdin.write(frame(json.loads(text)))
        await proc.stdin.drain()
        while "id" in message and not any(_is_answer(m, message["id"]) for m in received):
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 30)
    assert await asyncio.wait_for(proc.wait(), 30) == 0  # `exit` after `shutdown`
    reader.cancel()
    return received


async def test_the_example_session_is_what_the_server_says(tmp_path: Path) -> None:
    lines = session_lines()
    sent = [m for d, m in lines if d == "-->"]
    shown = [normal(m, DOC_WORKSPACE) for d, m in lines if d == "<--"]
    received = [normal(m, str(tmp_path)) for m in await replay(tmp_path, sent)]
    actual = "\n".join(f"<-- {key(m)}" for m in received)
    assert sorted(map(key, shown)) == sorted(map(key, received)), f"the server said:\n{actual}"
    assert (tmp_path / "out" / "hello.txt").read_text() == "Hello from agentd!\n"


def key(message: Any) -> str:
    return json.dumps(message, sort_keys=True)


def main() -> None:
    """Write docs/protocol.md's example session anew, from a real run in /tmp/demo-ws
    (``python -m tests.server.lsp.test_protocol_doc``): the doc's client lines, the server's."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_session()
    text = DOC.read_text()
    head, rest = text.split("## Example session", 1)
    intro, block = rest.split("```text\n", 1)
    DOC.write_text(
        head
        + "## Example session"
        + intro
        + "```text\n"
        + out.getvalue()
        + "```"
        + block.split("```", 1)[1]
    )


def _print_session() -> None:
    import shutil

    workspace = Path(DOC_WORKSPACE)
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir()
    sent = [m for d, m in session_lines() if d == "-->"]
    received = asyncio.run(replay(workspace, sent))
    answers = iter(m for m in sent if "method" not in m)
    for message in sent:
        if "method" not in message:
            continue
        print("-->", json.dumps(message))
        while (
            received
            and (message.get("id") is None or not _is_answer(received[0], message["id"]))
            and message.get("method") not in ("initialized", "exit")
        ):
            shown = received.pop(0)
            print("<--", json.dumps(shown))
            if shown.get("method") == "window/workDoneProgress/create":
                print("-->", json.dumps({**next(answers), "id": shown["id"]}))
        if received and "id" in message:
            print("<--", json.dumps(received.pop(0)))
    shutil.rmtree(workspace)


def _is_answer(message: dict[str, Any], msg_id: int) -> bool:
    return message.get("id") == msg_id and "method" not in message


if __name__ == "__main__":
    main()
