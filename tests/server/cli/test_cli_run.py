"""`agentd run` end to end: a real `agentd serve` child, real workspaces, real processes, in a pipe
and under a pseudo-terminal."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.procs import alive, read_pids
from tests.server.cli.cli_helpers import ENV, agentd, run_in_pty, run_json

SWE_STDOUT = "Running SWE task...\n"


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


def test_plain_output_shows_what_each_step_printed(tmp_path: Path) -> None:
    done = agentd("run", "swe.analyze", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout  # no terminal, no escape codes
    lines = done.stdout.splitlines()
    at = {line.split()[1]: i for i, line in enumerate(lines) if re.match(r"\S s\d ", line)}
    assert lines[at["s1"] + 1] == "    | Running SWE task..."
    assert lines[at["s2"] + 1].startswith("    | total ")  # what `ls -la` printed
    assert lines[at["s3"] + 1] == f"    | {tmp_path}"
    assert lines[-1].startswith("Run ") and "4/4 steps succeeded, trust 0.9" in lines[-1]
    many = agentd("run", "--step", "seq 50", cwd=tmp_path).stdout.splitlines()
    assert re.fullmatch(r" {4}\| (…|\.\.\.) 30 more lines", many[1])
    assert many[2:22] == [f"    | {n}" for n in range(31, 51)]


def test_run_demo_test_writes_its_deliverable_with_plain_output(tmp_path: Path) -> None:
    done = agentd("run", "demo.test", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "hello.txt").is_file()
    lines = done.stdout.splitlines()
    assert lines[0][2:].startswith("s1 write out/hello.txt (succeeded, ")
    assert lines[-1].startswith("Run ") and " succeeded: 1/1 step succeeded, trust 0.9" in lines[-1]


def test_explicit_steps_run_in_order_and_a_failure_exits_1(tmp_path: Path) -> None:
    code, result = run_json("--step", "echo one", "--step", "echo two", cwd=tmp_path)
    assert code == 0 and result["goal"] == "explicit" and result["planner"] == "explicit"
    assert result["stdout"] == "one\n\ntwo\n" and result["results"][1]["after"] == ["s1"]
    failing = "echo partial; echo oops >&2; exit 3"
    done = agentd("run", "--step", failing, "--step", "echo never", cwd=tmp_path)
    assert done.returncode == 1
    assert "(failed, " in done.stdout and "exit 3" in done.stdout
    assert "    | partial\n    | oops\n" in done.stdout  # a failure shows stdout, then stderr
    assert "s2 echo never (skipped" in done.stdout


def test_a_goal_with_step_flags_is_bad_usage(tmp_path: Path) -> None:
    done = agentd("run", "--step", "echo a", "swe.analyze", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "not both (got GOAL 'swe.analyze')" in done.stderr
    assert not (tmp_path / ".agent").exists()  # refused before any server started
    done = agentd("run", "--step", "echo a", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0][2:].startswith("s1 echo a (planned") and len(lines) == 2
    assert " planned: 1 step planned, trust 0.0" in lines[1]


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
    ("flags", "status", "code", "option"),
    [
        (["--yes"], "succeeded", 0, "allow_once"),
        (["--no"], "rejected", 1, "reject_once"),  # the user's choice
        ([], "rejected", 1, None),  # nobody could be asked: no option was chosen
    ],
)
def test_approval_flags_answer_ask_steps(
    tmp_path: Path, flags: list[str], status: str, code: int, option: str | None
) -> None:
    done = agentd("run", "--step", "rm -f ./nonexistent", *flags, "--json", cwd=tmp_path)
    result = json.loads(done.stdout)
    step = result["results"][0]
    assert (done.returncode, step["decision"], step["status"]) == (code, "ask", status)
    records = [json.loads(line) for line in (tmp_path / result["trace"]).read_text().splitlines()]
    resolved = next(r for r in records if r["type"] == "approval.resolved")
    assert (resolved["allowed"], resolved["optionId"]) == (status == "succeeded", option)
    if not flags:
        assert "no terminal to ask" in done.stderr
        assert "without a choice" in resolved["detail"]


def test_json_rpc_errors_exit_2_with_the_message(tmp_path: Path) -> None:
    done = agentd("run", "please refactor everything", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "language model" in done.stderr and "Export OPENAI_API_KEY" in done.stderr


def test_a_dying_server_is_reported(tmp_path: Path) -> None:
    crash = f"{sys.executable} -c \"import sys; sys.stderr.write('boom'); sys.exit(3)\""
    done = agentd("run", "demo.test", cwd=tmp_path, env=ENV | {"AGENTD_SERVER": crash})
    assert done.returncode == 2
    assert "server exited unexpectedly (exit code 3)" in done.stderr and "boom" in done.stderr


def test_ctrl_c_cancels_the_run_and_its_processes(tmp_path: Path) -> None:
    step = "sleep 30 & echo $! > pids; echo $$ >> pids; wait"
    cli = subprocess.Popen(
        [sys.executable, "-m", "server.cli.main", "run", "--step", step, "--json"],
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


# --- under a pseudo-terminal: live progress and an interactive approval -------------------------


def test_terminal_shows_each_step_its_output_and_the_summary(tmp_path: Path) -> None:
    code, screen = run_in_pty(["run", "swe.analyze"], tmp_path)
    assert code == 0, screen
    for line in [
        "✓ s1 echo 'Running SWE task...' (succeeded",
        "│ Running SWE task...",
        "✓ s2 ls -la (succeeded",
        "│ total ",
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
