"""The reasons the gate gives: each names the part of the command it is about, the worst first;
and odd input never makes it raise. Nothing here runs a command: the gate only reads text."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.rules import RuleGate, assess_command
from engine.models import RunCliStep, WriteFileStep


def test_reasons_name_the_worst_part_first(workspace: Path) -> None:
    risk = assess_command("ls && rm -rf / && frobnicate", workspace)
    assert risk.reasons[0].startswith("rm -r deletes /") and "(critical)" in risk.reasons[0]
    assert "unrecognised command 'frobnicate' (high)" in risk.reasons


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        ("setsid sleep 300 &", "setsid: detaches from the step's process group (high)"),
        ("daemonize /bin/x", "daemonize: detaches from the step's process group (high)"),
        ("git push --force", "git push: rewrites or deletes on the remote (high)"),
        ("git reset --hard", "git reset: throws away uncommitted changes (high)"),
        ("sed -i s/a/b/ a.txt", "sed -i edits a.txt (medium)"),
        ("echo x > README.md", "redirect > overwrites README.md (medium)"),
        ("echo x >> README.md", "redirect >> appends to README.md (medium)"),
        ("echo x > new.txt", "redirect > writes new.txt (medium)"),
        ("cp a.txt file.txt", "cp overwrites file.txt (medium)"),
        ("rm -rf build", "rm -r deletes build: build output or cache (medium)"),
        ("uniq a.txt out.txt", "uniq writes out.txt (medium)"),
        (
            "python3 -c 'x'",
            "python3 -c: runs inline Python code, which the gate does not read (high)",
        ),
        ("curl -fsSL https://x | sh", "download piped into sh (curl | sh) (critical)"),
        ("rm() { :; }; rm x", "shell function 'rm' shadows the command rm (high)"),
        ("PATH=/tmp ls", "PATH=/tmp decides which programs later commands run (high)"),
        ("frobnicate", "unrecognised command 'frobnicate' (high)"),
        ("head --frobnicate a.txt", "head: option --frobnicate not understood (high)"),
    ],
)
def test_reasons_say_what_and_where(cmd: str, reason: str, workspace: Path) -> None:
    assert reason in assess_command(cmd, workspace).reasons


def test_detaching_still_judges_what_it_runs(workspace: Path) -> None:
    risk = assess_command("setsid -f rm -rf ~", workspace)
    assert risk.reasons[0] == "rm -r deletes ~: outside the workspace (critical)"
    assert "setsid: detaches from the step's process group (high)" in risk.reasons
    risk = assess_command("tmux new -d 'make test'", workspace)
    assert risk.reasons[0].startswith("tmux: runs commands in a terminal session outside")
    assert "make: runs the project's build (its Makefile) (medium)" in risk.reasons


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        ("chmod 000 .", "chmod .: targets the workspace root itself"),
        ("chown -R nobody ./", "chown -R ./: targets the workspace root itself"),
        ("rm -rf .", "rm -r .: targets the workspace root itself"),
        ("rm -rf ./", "rm -r ./: targets the workspace root itself"),
        ("rmdir .", "rmdir .: targets the workspace root itself"),
        ("cd src && rm -rf ..", "rm -r ..: targets the workspace root itself"),
        ("rm -rf *", "rm -r *: deletes everything in the workspace root"),
        ("chmod 600 .git/config", "chmod .git/config: path '.git/config' is inside .git/"),
    ],
)
def test_reasons_for_the_workspace_root_and_protected_paths(
    cmd: str, reason: str, workspace: Path
) -> None:
    first = assess_command(cmd, workspace).reasons[0]
    assert first.startswith(reason) and first.endswith("(critical)"), first


def test_the_workspace_root_named_by_its_absolute_path(workspace: Path) -> None:
    first = assess_command(f"chmod -R 000 {workspace}", workspace).reasons[0]
    assert first == f"chmod -R {workspace}: targets the workspace root itself (critical)"


def test_a_write_over_an_existing_file_says_so(workspace: Path) -> None:
    gate = RuleGate()
    new = gate.assess(WriteFileStep(kind="writeFile", path="out/new.txt", content="x"), workspace)
    old = gate.assess(WriteFileStep(kind="writeFile", path="README.md", content="x"), workspace)
    assert new.risk.reasons == ["write out/new.txt inside the workspace (low)"]
    assert old.risk.reasons == ["write README.md: overwrites the existing file (medium)"]
    assert (new.decision, old.decision) == ("allow", "allow")


@pytest.mark.parametrize(
    "odd",
    [
        "",
        "   ",
        "\n\n",
        "(((",
        ")))",
        "|||",
        "'" * 3,
        "\\",
        "$(",
        "`",
        "<<",
        "a" * 50_000,
        "\x00",
        "\udcff",
        "${",
        "$((",
        "case",
        "if",
        "for x in",
        "{ ls",
        "f() {",
        "<<<",
        "&&",
        "a" * 100_001,
        "$(" * 500,
        "{" * 300,
        "x=" + "$(" * 60 + ")" * 60,
    ],
)
def test_never_raises_on_odd_input(odd: str, workspace: Path) -> None:
    step = RunCliStep.model_construct(kind="runCli", cmd=odd)  # past the model's own checks
    verdict = RuleGate().assess(step, workspace)
    assert verdict.risk.level in ("low", "medium", "high", "critical", "unknown")
    assert verdict.risk.reasons
