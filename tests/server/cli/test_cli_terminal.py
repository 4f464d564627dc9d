"""`agentd run` on a real pseudo-terminal, where its behaviour is terminal-only: the live view,
approval prompts (unknown keys, help, always, end of input, a timeout), output of parallel steps
held below an open prompt, and Ctrl-C."""

from __future__ import annotations

import re
from pathlib import Path

from tests.procs import gone
from tests.server.cli.cli_helpers import Terminal, run_in_pty, trace_records, wait_until

ASK = "rm -f ./nothing"  # the gate asks before rm; there is nothing to delete
PROMPT = "Allow? [y] once, [a] always, [N] reject, [?] help"


def test_the_live_view_says_what_it_does_then_each_step_and_the_summary(tmp_path: Path) -> None:
    code, screen = run_in_pty(["run", "swe.analyze"], tmp_path)
    assert code == 0, screen
    assert screen.index("starting agentd") < screen.index("planning swe.analyze")
    for line in [
        "✓ s1 echo 'Running SWE task...' (succeeded",
        "│ Running SWE task...",
        "✓ s2 ls -la (succeeded",
        "│ total ",
        "✓ s3 pwd",
        "succeeded, trust 0.9: 4 of 4 steps succeeded.",
        f"Trace: {tmp_path}/.agent/runs/",
    ]:
        assert line in screen


def test_an_unknown_key_asks_again_and_question_mark_explains(tmp_path: Path) -> None:
    term = Terminal(["run", "--step", ASK], tmp_path)
    first = term.expect(PROMPT)
    assert f"Approval needed for step s1: {ASK}" in term.screen and "risk high" in term.screen
    assert re.search(r"\[\?\] help \((\d+(\.\d)? s|1 min) left\): ", term.screen)
    term.type(b"x\n")
    again = term.expect("'x' is not an answer: type y, a, n or ? and Enter", after=first)
    term.expect(PROMPT, after=again)
    assert trace_records(tmp_path)[-1]["type"] == "approval.requested"  # still asking
    term.type(b"?\n")
    shown = term.expect("allow always", after=again)
    term.expect("save a rule to your policy file", after=shown)  # where "always" is kept
    term.expect(PROMPT, after=shown)
    term.type(b"y\n")
    assert term.wait() == 0, term.screen
    assert f"s1 {ASK} (succeeded, " in term.screen and "approved by you (once)" in term.screen


def test_always_is_saved_and_settles_the_same_command_in_this_run(tmp_path: Path) -> None:
    term = Terminal(["run", "--step", ASK, "--step", ASK], tmp_path)
    term.expect(PROMPT)
    term.type(b"a\n")
    assert term.wait() == 0, term.screen
    assert term.screen.count("Approval needed") == 1
    assert "approved by you (always)" in term.screen
    assert "s2 rm -f ./nothing (succeeded" in term.screen
    assert "approved: a rule you saved (allow always)" in term.screen
    assert f"policy.toml: allow rm in {tmp_path.resolve()} (agentd policy list" in term.screen


def test_output_of_parallel_steps_waits_below_an_open_prompt(tmp_path: Path) -> None:
    gated = "while [ ! -e go ]; do sleep 0.05; done; echo parallel-done"
    term = Terminal(["run", "--step", ASK, "--step", gated, "--parallel"], tmp_path)
    asked = term.expect(PROMPT)
    (tmp_path / "go").write_text("")  # s2 finishes while the prompt is open
    wait_until(
        lambda: any(
            r.get("stepId") == "s2" for r in trace_records(tmp_path) if r["type"] == "step.finished"
        ),
        "s2 to finish",
    )
    term.type(b"?\n")  # the CLI has read its messages in order by the time it answers a key
    helped = term.expect("remembered only until this agentd command ends", after=asked)
    term.expect(PROMPT, after=helped)
    assert "parallel-done" not in term.screen[asked:]  # held: the prompt owns the terminal
    term.type(b"y\n")
    assert term.wait() == 0, term.screen
    last_prompt = term.screen.rindex(PROMPT)
    assert term.screen.index("│ parallel-done", asked) > last_prompt  # shown once answered


def test_a_prompt_that_times_out_says_so(tmp_path: Path) -> None:
    args = ["run", "--step", ASK, "--step", "echo after", "--approval-timeout-ms", "1500"]
    term = Terminal(args, tmp_path)
    term.expect(PROMPT)
    assert term.wait() == 1, term.screen
    said = "No answer within the 1.5 s approval time limit (--approval-timeout-ms, setting "
    assert said + "agent.approvalTimeoutMs): step s1 is rejected." in term.screen
    assert f"s1 {ASK} (rejected: no answer within the 1.5 s approval time limit" in term.screen
    assert "s2 echo after (skipped: waited for s1, which was rejected)" in term.screen
    resolved = next(r for r in trace_records(tmp_path) if r["type"] == "approval.resolved")
    assert (resolved["allowed"], resolved["by"]) == (False, "timeout")


def test_end_of_input_at_a_prompt_rejects(tmp_path: Path) -> None:
    term = Terminal(["run", "--step", ASK], tmp_path)
    term.expect(PROMPT)
    term.type(b"\x04")  # Ctrl-D
    assert term.wait() == 1, term.screen
    assert f"s1 {ASK} (rejected by you" in term.screen


def test_ctrl_c_cancels_and_shows_what_the_step_had_printed(tmp_path: Path) -> None:
    step = "echo started; exec sleep 30.72"
    term = Terminal(["run", "--step", step], tmp_path)
    term.expect("s1: started")  # the live tail: the step is running
    term.type(b"\x03")
    assert term.wait() == 130, term.screen
    assert "cancelling the run" in term.screen
    line = term.screen.index(f"s1 {step} (cancelled")
    assert "│ started" in term.screen[line:]  # under it: what it printed before the stop
    assert re.search(r"Run \S+ was cancelled, trust 0.0: 0 of 1 step succeeded", term.screen)
    assert f"Trace: {tmp_path}/.agent/runs/" in term.screen
    assert gone("sleep", "30.72")


def test_ctrl_c_at_a_prompt_cancels_the_run_not_just_the_step(tmp_path: Path) -> None:
    term = Terminal(["run", "--step", ASK, "--step", "echo never"], tmp_path)
    term.expect(PROMPT)
    term.type(b"\x03")
    assert term.wait() == 130, term.screen
    assert "No answer within" not in term.screen  # a cancel is not a timeout
    assert f"s1 {ASK} (cancelled" in term.screen and "was cancelled" in term.screen
