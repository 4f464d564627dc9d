"""The command line's grammar: usage errors and what each gets, "did you mean", --help with
examples for every command, --version, and what `agentd run` turns its flags into."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__
from server.cli.commands.run import run_params
from server.cli.main import build_parser, main
from server.cli.parser import parse
from tests.server.cli.cli_helpers import ENV, agentd


def test_the_cli_module_imports_nothing_heavy() -> None:
    """`agentd serve` goes through server.cli.main: start-up is benchmarked against bare pygls."""
    heavy = "{'rich', 'pydantic', 'engine', 'lsprotocol', 'pygls', 'orjson'}"
    probe = (
        "import server.cli.main, sys; server.cli.main.build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy} and m != 'engine'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_bad_usage_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2  # no command: the overview, on stderr
    assert "commands:" in capsys.readouterr().err
    assert main(["run"]) == 2  # neither GOAL nor --step
    assert "GOAL or at least one --step" in capsys.readouterr().err
    assert main(["run", "x", "--yes", "--no"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["goals", "--workspace", "/no/such/dir"]) == 2
    assert "workspace '/no/such/dir' is not a directory" in capsys.readouterr().err
    assert main(["serve", "--tcp", "no-port-here"]) == 2  # the server's own check, same code
    assert main(["trace", "--limit", "3"]) == 2  # a flag of another command


def test_numbers_must_be_whole_and_positive(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--max-parallel", "--timeout-ms", "--approval-timeout-ms"):
        for bad in ("x", "0", "1.5"):
            assert main(["run", "x", flag, bad]) == 2
            err = capsys.readouterr().err
            assert f"argument {flag}: expected a whole number >= 1, got '{bad}'" in err
            assert "positive" not in err


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["rnu", "swe.test"], "usage: agentd [-h]", "did you mean 'run'?"),
        (["trcae"], "usage: agentd [-h]", "did you mean 'trace'?"),
        (["run", "swe.test", "--dry-rn"], "usage: agentd run ", "did you mean '--dry-run'?"),
        (["run", "--paralel", "--step", "a"], "usage: agentd run ", "did you mean '--parallel'?"),
        (["runs", "--jsn"], "usage: agentd runs ", "did you mean '--json'?"),
        (["trace", "--outptu"], "usage: agentd trace ", "did you mean '--output'?"),
        (["completion", "zhs"], "usage: agentd completion ", "did you mean 'zsh'?"),
    ],
)
def test_typos_get_the_commands_own_usage_and_a_suggestion(
    capsys: pytest.CaptureFixture[str], argv: list[str], usage: str, hint: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and err.rstrip().endswith(hint), err


def test_a_typo_nothing_resembles_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x", "--zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzzzzz" in err and "did you mean" not in err


def test_no_abbreviated_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """`--dry` is a typo, not `--dry-run`: a later flag must not change what a script meant."""
    assert main(["run", "x", "--dry"]) == 2
    assert "did you mean '--dry-run'?" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"agentd {__version__}\n"


def test_every_command_has_help_with_examples(tmp_path: Path) -> None:
    top = agentd("--help", cwd=tmp_path)
    assert top.returncode == 0 and "examples:\n  agentd run swe.test" in top.stdout
    for name in build_parser().commands:
        shown = agentd(name, "--help", cwd=tmp_path)
        assert shown.returncode == 0, name
        assert f"\nexamples:\n  agentd {name}" in shown.stdout or (
            name == "completion" and "agentd completion bash" in shown.stdout
        ), shown.stdout
        assert name in top.stdout


def test_run_params_step_flags_take_one_command_each_in_order(tmp_path: Path) -> None:
    parser = build_parser()
    params = run_params(parse(parser, ["run", "--step", "echo a", "--dry-run"]), tmp_path)
    assert ("goal" not in params, params["dryRun"]) == (True, True)
    assert params["steps"] == [{"id": "s1", "kind": "runCli", "cmd": "echo a"}]
    assert params["workspace"] == str(tmp_path) and params["approval"] == "prompt"
    steps = run_params(parse(parser, ["run", "--step", "a", "--step", "b"]), tmp_path)["steps"]
    assert [(s["cmd"], s.get("after")) for s in steps] == [("a", None), ("b", ["s1"])]
    argv = ["run", "--step", "a", "--step", "b", "--parallel", "--timeout-ms", "5"]
    params = run_params(parse(parser, argv), tmp_path)
    assert [s.get("after") for s in params["steps"]] == [None, None]
    assert params["stepTimeoutMs"] == 5


def test_goal_and_steps_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    # `--step echo hi`: "hi" becomes the GOAL, which explicit steps would silently ignore.
    assert main(["run", "--step", "echo", "hi"]) == 2
    err = capsys.readouterr().err
    assert "run takes a GOAL or --step commands, not both (got GOAL 'hi')" in err
    assert "--step 'echo hi'" in err
    assert main(["run", "swe.analyze", "--parallel"]) == 2
    assert "--parallel applies to --step commands" in capsys.readouterr().err
