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

from tests.procs import gone
from tests.server.cli.cli_helpers import ENV, agentd, run_json

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
    assert lines[-2].startswith("Run ") and lines[-2].endswith(
        " succeeded, trust 0.9: 4 of 4 steps succeeded."
    )
    assert lines[-1] == f"Trace: {tmp_path}/.agent/runs/{lines[-2].split()[1]}.jsonl"
    many = agentd("run", "--step", "seq 50", cwd=tmp_path).stdout.splitlines()
    assert re.fullmatch(r" {4}\| (…|\.\.\.) 30 more lines", many[1])
    assert many[2:22] == [f"    | {n}" for n in range(31, 51)]


def test_run_demo_test_writes_its_deliverable_with_plain_output(tmp_path: Path) -> None:
    done = agentd("run", "demo.test", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "hello.txt").is_file()
    lines = done.stdout.splitlines()
    assert lines[0][2:].startswith("s1 write out/hello.txt (succeeded, ")
    assert lines[-2].endswith(" succeeded, trust 0.9: 1 of 1 step succeeded.")


def test_explicit_steps_run_in_order_and_a_failure_exits_1(tmp_path: Path) -> None:
    code, result = run_json("--step", "echo one", "--step", "echo two", cwd=tmp_path)
    assert code == 0 and result["goal"] == "explicit" and result["planner"] == "explicit"
    assert result["stdout"] == "one\n\ntwo\n" and result["results"][1]["after"] == ["s1"]
    failing = "echo partial; echo oops >&2; exit 3"
    done = agentd("run", "--step", failing, "--step", "echo never", cwd=tmp_path)
    assert done.returncode == 1
    assert f"s1 {failing} (failed with exit code 3, " in done.stdout
    assert "    | partial\n    ! oops\n" in done.stdout  # a failure shows stdout, then stderr
    assert "s2 echo never (skipped: waited for s1, which failed)" in done.stdout
    assert "failed, trust 0.0: 0 of 2 steps succeeded (1 failed, 1 skipped)." in done.stdout


def test_a_goal_with_step_flags_is_bad_usage(tmp_path: Path) -> None:
    done = agentd("run", "--step", "echo a", "swe.analyze", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "not both (got GOAL 'swe.analyze')" in done.stderr
    assert not (tmp_path / ".agent").exists()  # refused before any server started
    done = agentd("run", "--step", "echo a", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0][2:] == "s1 echo a (would run, risk low: echo: prints text (low))"
    assert lines[1].endswith(" planned (dry run, nothing ran): 1 step.") and len(lines) == 3


def test_timeout_ms_bounds_each_step_and_the_line_names_the_limit(tmp_path: Path) -> None:
    code, result = run_json("--step", "sleep 20", "--timeout-ms", "300", cwd=tmp_path)
    assert code == 1 and result["results"][0]["status"] == "timedOut"
    done = agentd("run", "--step", "sleep 20", "--timeout-ms", "300", cwd=tmp_path)
    assert done.returncode == 1
    assert "s1 sleep 20 (timed out at the 300 ms limit of --timeout-ms, " in done.stdout


def test_a_goals_own_timeout_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals.slow]\ntitle = "Slow"\n'
        'steps = [{ id = "nap", run = "sleep 20", timeoutMs = 400 }]\n'
    )
    done = agentd("run", "slow", cwd=tmp_path)
    assert done.returncode == 1
    assert "nap sleep 20 (timed out at the 400 ms limit of the step's own timeoutMs" in done.stdout
    shown = agentd("trace", cwd=tmp_path).stdout
    assert "nap sleep 20 (timed out at the 400 ms limit of the step's own timeoutMs" in shown


def test_dry_run_plans_and_runs_nothing(tmp_path: Path) -> None:
    code, result = run_json("demo.test", "--dry-run", cwd=tmp_path)
    assert code == 0 and result["status"] == "planned" and result["bits"]["t"] == 0.0
    assert [r["status"] for r in result["results"]] == ["planned"]
    assert not (tmp_path / "out").exists()


def test_dry_run_exits_1_when_a_step_would_be_denied(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("kept\n")
    denied = "mkfs.ext4 /dev/sda1"  # the gate denies it; a dry run never executes anything
    code, result = run_json("--step", "echo fine", "--step", denied, "--dry-run", cwd=tmp_path)
    assert code == 1 and result["status"] == "planned"
    assert [r["decision"] for r in result["results"]] == ["allow", "deny"]
    done = agentd("run", "--step", denied, "--dry-run", cwd=tmp_path)
    assert done.returncode == 1 and f"s1 {denied} (would be denied, risk critical" in done.stdout
    assert "1 step, 1 would be denied." in done.stdout
    assert (tmp_path / "keep.txt").read_text() == "kept\n"


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


def test_server_errors_exit_2_in_words_without_protocol(tmp_path: Path) -> None:
    done = agentd("run", "please refactor everything", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "language model" in done.stderr and "Export OPENAI_API_KEY" in done.stderr
    assert "`agentd goals` lists them" in done.stderr
    assert re.search(r"-32\d\d\d|agent/\w+|goal: ", done.stderr) is None, done.stderr
    typo = agentd("run", "swe.tset", cwd=tmp_path)
    assert typo.returncode == 2
    assert typo.stderr.startswith("agentd: unknown goal 'swe.tset'; known goals: ")
    assert typo.stderr.rstrip().endswith("did you mean 'swe.test'?")


def test_a_dying_server_is_reported(tmp_path: Path) -> None:
    crash = f"{sys.executable} -c \"import sys; sys.stderr.write('boom'); sys.exit(3)\""
    done = agentd("run", "demo.test", cwd=tmp_path, env=ENV | {"AGENTD_SERVER": crash})
    assert done.returncode == 2
    assert "server exited unexpectedly (exit code 3)" in done.stderr and "boom" in done.stderr


def test_ctrl_c_cancels_the_run_and_its_processes(tmp_path: Path) -> None:
    step = "sleep 30.71 & echo ready > ready; wait"
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
    while not (tmp_path / "ready").exists():
        assert time.monotonic() < deadline and cli.poll() is None, "the step never started"
        time.sleep(0.05)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 130, err
    assert "cancelling the run" in err
    assert json.loads(out)["status"] == "cancelled"  # cancelled by run id: a whole RunResult
    assert gone("sleep", "30.71")  # the step's whole process tree, sandboxed or not
    trace = next((tmp_path / ".agent" / "runs").glob("*.jsonl"))
    assert agentd("trace", trace.stem, cwd=tmp_path).returncode == 0  # a complete, valid trace
