"""The `agentd` CLI's pieces alone: JSON-RPC framing, argument parsing, renderers, approvals."""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.cli.client import Connection, RpcError, ServerExited
from server.cli.main import _run_params, build_parser, main
from server.cli.prompt import Approver
from server.cli.render import (
    PlainRenderer,
    Renderer,
    marks_for,
    output_tail,
    step_line,
    summary_line,
)
from tests.server.cli.cli_helpers import ENV

# --- the client: two Connections talking over a socket pair -------------------------------------


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Connection, Connection]]:
    a, b = socket.socketpair()
    client = Connection(*await asyncio.open_unix_connection(sock=a))
    server = Connection(*await asyncio.open_unix_connection(sock=b))
    listeners = [asyncio.create_task(c.listen()) for c in (client, server)]
    yield client, server
    for c in (client, server):
        c._writer.close()
    await asyncio.gather(*listeners, return_exceptions=True)


async def test_requests_both_ways_and_errors(peers: tuple[Connection, Connection]) -> None:
    client, server = peers

    async def echo(params: Any) -> Any:
        return {"echo": params, "asked": await server.request("ask/client", {"q": 1})}

    async def boom(params: Any) -> Any:
        raise ValueError("bad handler")

    async def answer(params: Any) -> Any:
        return params["q"] + 1

    server.on_request("echo", echo)
    server.on_request("boom", boom)
    client.on_request("ask/client", answer)
    assert await client.request("echo", [1, "ü"]) == {"echo": [1, "ü"], "asked": 2}
    with pytest.raises(RpcError) as err:
        await client.request("boom", None)
    assert err.value.code == -32603 and "bad handler" in err.value.message
    with pytest.raises(RpcError) as err:
        await client.request("nope", None)
    assert err.value.code == -32601

    def broken(params: Any) -> None:
        raise KeyError("oops")

    client.on_notification("broken", broken)
    server.notify("broken", {})  # a failing notification handler does not end the session
    assert await client.request("echo", 1) == {"echo": 1, "asked": 2}


async def test_cancel_request_reaches_the_handler(peers: tuple[Connection, Connection]) -> None:
    client, server = peers
    started, notified = asyncio.Event(), asyncio.Queue[Any]()

    async def forever(params: Any) -> Any:
        started.set()
        await asyncio.Event().wait()

    server.on_request("forever", forever)
    client.on_notification("note", notified.put_nowait)
    request_id, answer = client.send_request("forever", {})
    await started.wait()
    client.cancel(request_id)
    with pytest.raises(RpcError) as err:
        await answer
    assert err.value.code == -32800
    server.notify("note", {"n": 1})
    assert await notified.get() == {"n": 1}


async def test_pending_requests_fail_when_the_peer_goes(
    peers: tuple[Connection, Connection],
) -> None:
    client, server = peers

    arrived = asyncio.Event()

    async def hang(params: Any) -> Any:
        arrived.set()
        await asyncio.Event().wait()

    server.on_request("hang", hang)
    _, answer = client.send_request("hang", {})
    await arrived.wait()
    server._writer.close()
    with pytest.raises(ServerExited):
        await answer
    with pytest.raises(ServerExited):  # and later requests fail at once instead of hanging
        await client.request("hang", {})


# --- the command line ---------------------------------------------------------------------------


def test_the_cli_module_imports_nothing_heavy() -> None:
    """`agentd serve` goes through server.cli.main: start-up is benchmarked against bare pygls."""
    heavy = "{'rich', 'pydantic', 'engine', 'lsprotocol', 'pygls'}"
    probe = (
        "import server.cli.main, sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["run"]) == 2  # neither GOAL nor --step
    assert "GOAL or at least one --step" in capsys.readouterr().err
    assert main(["run", "x", "--yes", "--no"]) == 2
    assert main(["run", "x", "--max-parallel", "0"]) == 2
    assert main(["goals", "--workspace", "/no/such/dir"]) == 2
    assert main(["--help"]) == 0
    assert main(["serve", "--tcp", "no-port-here"]) == 2  # the server's own check, same code


def test_numbers_must_be_whole_and_positive(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--max-parallel", "--timeout-ms"):
        for bad in ("x", "0", "1.5"):
            assert main(["run", "x", flag, bad]) == 2
            err = capsys.readouterr().err
            assert f"argument {flag}: expected a whole number >= 1, got '{bad}'" in err
            assert "_positive" not in err


def test_goal_and_steps_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    # `--step echo hi`: "hi" becomes the GOAL, which explicit steps would silently ignore.
    assert main(["run", "--step", "echo", "hi"]) == 2
    err = capsys.readouterr().err
    assert "run takes a GOAL or --step commands, not both (got GOAL 'hi')" in err
    assert "--step 'echo hi'" in err
    assert main(["run", "swe.analyze", "--parallel"]) == 2
    assert "--parallel applies to --step commands" in capsys.readouterr().err


def test_each_step_flag_takes_one_command_in_order_unless_parallel(tmp_path: Path) -> None:
    args = build_parser().parse_args(["run", "--step", "echo a", "--dry-run"])
    params = _run_params(args, tmp_path)
    assert ("goal" not in params, params["dryRun"]) == (True, True)
    assert params["steps"] == [{"id": "s1", "kind": "runCli", "cmd": "echo a"}]
    args = build_parser().parse_args(["run", "--step", "a", "--step", "b"])
    steps = _run_params(args, tmp_path)["steps"]
    assert [(s["cmd"], s.get("after")) for s in steps] == [("a", None), ("b", ["s1"])]
    args = build_parser().parse_args(["run", "--step", "a", "--step", "b", "--parallel"])
    steps = _run_params(args, tmp_path)["steps"]
    assert [s.get("after") for s in steps] == [None, None]


# --- renderers and approvals --------------------------------------------------------------------


def _step(status: str, **extra: Any) -> dict[str, Any]:
    risk = {"level": "high", "reasons": ["deletes files"]}
    return {"id": "s1", "kind": "runCli", "cmd": "rm -f x", "risk": risk, "decision": "ask"} | {
        "status": status,
        "durationMs": 7,
        **extra,
    }


def test_step_line_and_ascii_marks() -> None:
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    ascii_ = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    line = step_line(_step("failed", exitCode=2), marks_for(utf8))
    assert line == "✗ s1 rm -f x (failed, 7 ms, exit 2, risk high: deletes files, gate ask)"
    assert step_line(_step("succeeded"), marks_for(ascii_)).startswith("+ s1 rm -f x (succeeded")


def test_plain_renderer_prints_each_step_once_and_a_summary() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out=out)
    renderer.step(_step("running"))
    renderer.step(_step("failed", stdout="partial\n", stderr="boom\n"))
    result = {"runId": "r", "status": "failed", "bits": {"t": 0.0}, "trace": "t.jsonl"}
    renderer.finish(result | {"results": [_step("failed"), _step("skipped", id="s2")]})
    assert out.getvalue().splitlines() == [
        "x s1 rm -f x (failed, 7 ms, risk high: deletes files, gate ask)",
        "    | partial",  # a failed step shows the tails of its stdout and stderr
        "    | boom",
        "- s2 rm -f x (skipped, 7 ms, risk high: deletes files, gate ask)",  # only in the result
        "Run r failed: 0/2 steps succeeded, trust 0.0, trace t.jsonl",
    ]


def test_counts_agree_with_their_nouns() -> None:
    result = {"runId": "r", "bits": {"t": 0.9}, "trace": "t.jsonl"}
    one = result | {"status": "planned", "results": [_step("planned")]}
    assert "planned: 1 step planned, trust" in summary_line(one)
    two = result | {"status": "planned", "results": [_step("planned"), _step("planned")]}
    assert "planned: 2 steps planned, trust" in summary_line(two)
    done = result | {"status": "succeeded", "results": [_step("succeeded")]}
    assert "succeeded: 1/1 step succeeded, trust" in summary_line(done)
    assert output_tail("a\nb\n", "...", lines=1) == ["... 1 more line", "b"]
    assert output_tail("a\nb\nc\n", "...", lines=1) == ["... 2 more lines", "c"]


def test_plain_renderer_shows_the_tail_of_a_succeeded_steps_stdout() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out=out)
    stdout = "".join(f"line {n}\n" for n in range(1, 51))
    renderer.step(_step("succeeded", stdout=stdout, stderr="a warning\n"))
    renderer.step(_step("succeeded", id="s2", stdout="", stderr=""))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("+ s1 rm -f x (succeeded")
    assert lines[1] == "    | ... 30 more lines"  # ASCII marks: a StringIO has no encoding
    assert lines[2:22] == [f"    | line {n}" for n in range(31, 51)]
    assert lines[22].startswith("+ s2 rm -f x (succeeded") and len(lines) == 23  # no stderr
    out = io.StringIO()
    PlainRenderer(out=out, verbose=True).step(_step("succeeded", stdout="out\n", stderr="warn\n"))
    assert out.getvalue().splitlines()[1:] == ["    | out", "    | warn"]


async def test_approver_answers_by_flag_and_chooses_nothing_without_a_terminal() -> None:
    options = [
        {"optionId": "a1", "name": "Allow once", "kind": "allow_once"},
        {"optionId": "r1", "name": "Reject", "kind": "reject_once"},
    ]
    ask = {"runId": "r", "step": _step("awaitingApproval"), "risk": {}, "options": options}
    notes = io.StringIO()
    quiet = Renderer(err=notes)
    yes = Approver("allow", interactive=True, renderer=quiet)
    no = Approver("reject", interactive=True, renderer=quiet)
    nobody = Approver(None, interactive=False, renderer=quiet)
    assert await yes.request_permission(ask) == {"outcome": "selected", "optionId": "a1"}
    assert await no.request_permission(ask) == {"outcome": "selected", "optionId": "r1"}
    assert await nobody.request_permission(ask) == {"outcome": "cancelled"}  # nobody chose
    assert await no.request_permission(ask | {"options": []}) == {"outcome": "cancelled"}
    actions = {"message": "run rm?", "actions": [{"title": "Allow once"}, {"title": "Reject"}]}
    assert await yes.show_message_request(actions) == {"title": "Allow once"}
    assert await no.show_message_request(actions) == {"title": "Reject"}
    assert await nobody.show_message_request(actions) is None  # dismissed
    assert "no terminal to ask" in notes.getvalue()
