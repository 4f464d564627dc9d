"""The `agentd` CLI as a user runs it: a real `agentd serve` child, real workspaces, real processes.

The first part checks the client pieces alone (framing, renderers, approvals); the rest runs
`python -m server.cli` in subprocesses, in a pipe and under a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.client import Connection, RpcError, ServerExited
from server.prompt import Approver
from server.render import PlainRenderer, Renderer, marks_for, step_line
from server.reports import health_report, trace_text
from tests.engine.procs import alive, read_pids

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
SWE_STDOUT = "Running SWE task...\n"


# --- the client alone: two Connections talking over a socket pair -------------------------------


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

    async def hang(params: Any) -> Any:
        await asyncio.Event().wait()

    server.on_request("hang", hang)
    _, answer = client.send_request("hang", {})
    await asyncio.sleep(0.05)
    server._writer.close()
    with pytest.raises(ServerExited):
        await answer
    with pytest.raises(ServerExited):  # and later requests fail at once instead of hanging
        await client.request("hang", {})


# --- renderers and approvals ------------------------------------------------------------------


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
    renderer.step(_step("failed", stderr="boom\n"))
    result = {"runId": "r", "status": "failed", "bits": {"t": 0.0}, "trace": "t.jsonl"}
    renderer.finish(result | {"results": [_step("failed"), _step("skipped", id="s2")]})
    lines = out.getvalue().splitlines()
    assert lines[0] == "x s1 rm -f x (failed, 7 ms, risk high: deletes files, gate ask)"
    assert lines[1] == "    | boom"  # a failed step shows the tail of its output
    assert lines[2].startswith("- s2 rm -f x (skipped")  # only reported in the RunResult
    assert lines[3] == "Run r failed: 0/2 steps succeeded, trust 0.0, trace t.jsonl"


async def test_approver_answers_by_flag_and_rejects_without_a_terminal() -> None:
    options = [
        {"optionId": "a1", "name": "Allow once", "kind": "allow_once"},
        {"optionId": "r1", "name": "Reject", "kind": "reject_once"},
    ]
    ask = {"runId": "r", "step": _step("awaitingApproval"), "risk": {}, "options": options}
    quiet = Renderer(err=io.StringIO())
    yes = Approver("allow", interactive=True, renderer=quiet)
    no = Approver("reject", interactive=True, renderer=quiet)
    nobody = Approver(None, interactive=False, renderer=quiet)
    assert await yes.request_permission(ask) == {"outcome": "selected", "optionId": "a1"}
    assert await no.request_permission(ask) == {"outcome": "selected", "optionId": "r1"}
    assert await nobody.request_permission(ask) == {"outcome": "selected", "optionId": "r1"}
    assert await no.request_permission(ask | {"options": []}) == {"outcome": "cancelled"}
    actions = {"message": "run rm?", "actions": [{"title": "Allow once"}, {"title": "Reject"}]}
    assert await yes.show_message_request(actions) == {"title": "Allow once"}
    assert await nobody.show_message_request(actions) == {"title": "Reject"}


def test_health_report_in_words() -> None:
    health = {"version": "0.1.0", "planner": "stub", "sandbox": "off", "python": "3.11.7"}
    goals = {"goals": [{"id": "check", "source": "workspace"}, {"id": "x", "source": "builtin"}]}
    healthy, text = health_report(health, "/w", goals, None)
    assert healthy and "planner: stub" in text and "goals: 2, 1 of them" in text
    healthy, text = health_report(health, "/w", None, "goals.toml: line 3: bad")
    assert not healthy and "problem: goals.toml: line 3: bad" in text


def test_trace_text_says_whether_the_chain_holds() -> None:
    marks = {"succeeded": "+", "failed": "x"}
    records = [{"seq": 0, "ts": "t", "type": "run.finished", "prev": "", "status": "succeeded"}]
    ok = trace_text("t.jsonl", records, [], truncated=False, complete=True, marks=marks)
    assert "status=succeeded" in ok and ok.endswith("+ hash chain verified (1 records)")
    bad = trace_text(
        "t.jsonl", records, ["line 1: prev"], truncated=False, complete=False, marks=marks
    )
    assert "x hash chain BROKEN:\n  line 1: prev" in bad


def test_the_cli_module_imports_nothing_heavy() -> None:
    """`agentd serve` goes through server.cli: its start-up is benchmarked against bare pygls."""
    heavy = "{'rich', 'pydantic', 'engine', 'lsprotocol', 'pygls'}"
    probe = (
        "import server.cli, sys; "
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


# --- end to end: `python -m server.cli` against a real `agentd serve` child ---------------------


def agentd(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it: stdin not a terminal, stdout a pipe."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env=env or ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


def run_json(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    done = agentd("run", *args, "--json", cwd=cwd)
    return done.returncode, json.loads(done.stdout)


def test_run_swe_analyze_json_matches_the_contract(tmp_path: Path) -> None:
    code, result = run_json("swe.analyze", cwd=tmp_path)
    assert code == 0
    commands = ["echo 'Running SWE task...'", "ls -la", "pwd", "echo 'SWE task completed'"]
    assert (result["status"], result["planner"], result["steps"]) == ("succeeded", "stub", commands)
    assert result["stdout"] == "\n".join(r["stdout"] for r in result["results"])
    assert result["stdout"].startswith(SWE_STDOUT) and result["stdout"].endswith("completed\n")
    assert f"\n{tmp_path}\n" in result["stdout"]  # pwd ran in the workspace
    assert result["bits"] == {"t": 0.9} and result["deliverables"] == []
    assert (tmp_path / result["trace"]).is_file()


def test_run_demo_test_writes_its_deliverable_with_plain_output(tmp_path: Path) -> None:
    done = agentd("run", "demo.test", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "hello.txt").is_file()
    lines = done.stdout.splitlines()
    assert "\x1b" not in done.stdout  # no terminal, no escape codes
    assert lines[0][2:].startswith("s1 write out/hello.txt (succeeded, ")
    assert (
        lines[-1].startswith("Run ") and " succeeded: 1/1 steps succeeded, trust 0.9" in lines[-1]
    )


def test_explicit_steps_run_in_order_and_a_failure_exits_1(tmp_path: Path) -> None:
    code, result = run_json("--step", "echo one", "echo two", cwd=tmp_path)
    assert code == 0 and result["goal"] == "explicit" and result["planner"] == "explicit"
    assert result["stdout"] == "one\n\ntwo\n" and result["results"][1]["after"] == ["s1"]
    done = agentd("run", "--step", "echo oops >&2; exit 3", "--step", "echo never", cwd=tmp_path)
    assert done.returncode == 1
    assert "(failed, " in done.stdout and "exit 3" in done.stdout and "| oops" in done.stdout
    assert "s2 echo never (skipped" in done.stdout


def test_timeout_ms_bounds_each_step(tmp_path: Path) -> None:
    code, result = run_json("--step", "sleep 20", "--timeout-ms", "300", cwd=tmp_path)
    assert code == 1 and result["results"][0]["status"] == "timedOut"
    assert result["results"][0]["durationMs"] < 10_000


def test_dry_run_plans_and_runs_nothing(tmp_path: Path) -> None:
    code, result = run_json("demo.test", "--dry-run", cwd=tmp_path)
    assert code == 0 and result["status"] == "planned" and result["bits"]["t"] == 0.0
    assert [r["status"] for r in result["results"]] == ["planned"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "status", "code"),
    [(["--yes"], "succeeded", 0), (["--no"], "rejected", 1), ([], "rejected", 1)],
)
def test_approval_flags_answer_ask_steps(
    tmp_path: Path, flags: list[str], status: str, code: int
) -> None:
    done = agentd("run", "--step", "rm -f ./nonexistent", *flags, "--json", cwd=tmp_path)
    step = json.loads(done.stdout)["results"][0]
    assert (done.returncode, step["decision"], step["status"]) == (code, "ask", status)
    if not flags:
        assert "no terminal to ask" in done.stderr


def test_json_rpc_errors_exit_2_with_the_message(tmp_path: Path) -> None:
    done = agentd("run", "please refactor everything", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "language model" in done.stderr and "agent.planner" in done.stderr


def test_a_dying_server_is_reported(tmp_path: Path) -> None:
    crash = f"{sys.executable} -c \"import sys; sys.stderr.write('boom'); sys.exit(3)\""
    done = agentd("run", "demo.test", cwd=tmp_path, env=ENV | {"AGENTD_SERVER": crash})
    assert done.returncode == 2
    assert "server exited unexpectedly (exit code 3)" in done.stderr and "boom" in done.stderr


def test_ctrl_c_cancels_the_run_and_its_processes(tmp_path: Path) -> None:
    step = "sleep 30 & echo $! > pids; echo $$ >> pids; wait"
    cli = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "run", "--step", step, "--json"],
        cwd=tmp_path,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len((tmp_path / "pids").read_text().split() if (tmp_path / "pids").exists() else []) < 2:
        assert time.monotonic() < deadline and cli.poll() is None, "the step never started"
        time.sleep(0.05)
    cli.send_signal(signal.SIGINT)
    _, err = cli.communicate(timeout=30)
    assert cli.returncode == 130, err
    assert "cancel" in err
    assert alive(read_pids(tmp_path / "pids")) == []
    trace = next((tmp_path / ".agent" / "runs").glob("*.jsonl"))
    assert agentd("trace", trace.stem, cwd=tmp_path).returncode == 0  # a complete, valid trace


def test_goals_lists_builtin_and_workspace_goals(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals.check]\ntitle = "Lint and test"\nsteps = [{ id = "t", run = "true" }]\n'
    )
    done = agentd("goals", cwd=tmp_path)
    assert done.returncode == 0
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "swe.analyze" in rows and "builtin" in rows["swe.analyze"]
    assert "Lint and test" in rows["check"] and "workspace" in rows["check"]
    goals = json.loads(agentd("goals", "--json", cwd=tmp_path).stdout)["goals"]
    assert {"id": "check", "title": "Lint and test", "source": "workspace"}.items() <= next(
        g for g in goals if g["id"] == "check"
    ).items()


def test_trace_verifies_the_hash_chain(tmp_path: Path) -> None:
    _, result = run_json("swe.analyze", cwd=tmp_path)
    done = agentd("trace", result["runId"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "run.finished" in done.stdout and "hash chain verified" in done.stdout
    report = json.loads(agentd("trace", result["runId"], "--json", cwd=tmp_path).stdout)
    assert report["verified"] and report["complete"]
    path = tmp_path / result["trace"]
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"seq":1', '"seq":1,"forged":true')
    path.write_text("".join(lines))
    tampered = agentd("trace", result["runId"], cwd=tmp_path)
    assert tampered.returncode == 1 and "BROKEN" in tampered.stdout
    missing = agentd("trace", "no-such-run", cwd=tmp_path)
    assert missing.returncode == 2 and "no trace" in missing.stderr


def test_doctor_reports_health_in_words(tmp_path: Path) -> None:
    done = agentd("doctor", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("agentd 0.1.0") and done.stdout.rstrip().endswith("healthy")
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text("[goals.broken\n")
    sick = agentd("doctor", cwd=tmp_path)
    assert sick.returncode == 1 and "goals.toml" in sick.stdout


# --- under a pseudo-terminal: live progress and an interactive approval -------------------------


def run_in_pty(
    args: list[str], cwd: Path, answer: tuple[bytes, bytes] | None = None
) -> tuple[int, str]:
    """Run the CLI on a 120x40 terminal; type ``answer[1]`` once ``answer[0]`` is shown."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal, then become the CLI
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(cwd)
        argv = [sys.executable, "-m", "server.cli", *args]
        os.execve(sys.executable, argv, ENV | {"TERM": "xterm-256color"})
    output, deadline = b"", time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            output += data
            if answer is not None and answer[0] in output:
                os.write(fd, answer[1])
                answer = None
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode(errors="replace")
    return os.waitstatus_to_exitcode(status), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_terminal_shows_each_step_and_the_summary(tmp_path: Path) -> None:
    code, screen = run_in_pty(["run", "swe.analyze"], tmp_path)
    assert code == 0, screen
    for line in [
        "✓ s1 echo 'Running SWE task...' (succeeded",
        "✓ s2 ls -la (succeeded",
        "✓ s3 pwd",
    ]:
        assert line in screen
    assert "steps succeeded, trust 0.9" in screen


def test_terminal_asks_before_an_ask_step(tmp_path: Path) -> None:
    code, screen = run_in_pty(
        ["run", "--step", "rm -f ./nonexistent"], tmp_path, answer=(b"Allow?", b"y\n")
    )
    assert "Approval needed: s1 rm -f ./nonexistent" in screen and "risk high" in screen
    assert code == 0, screen
    assert "✓ s1 rm -f ./nonexistent (succeeded" in screen


def test_ctrl_c_in_a_terminal_cancels_the_run(tmp_path: Path) -> None:
    step = "echo $$ > pids; echo started; exec sleep 30"
    # The live tail shows the step's output: once it says "started", the pid file is there.
    code, screen = run_in_pty(["run", "--step", step], tmp_path, answer=(b"s1: started", b"\x03"))
    assert code == 130, screen
    assert "cancelling the run" in screen and f"s1 {step} (cancelled" in screen
    assert alive(read_pids(tmp_path / "pids")) == []
