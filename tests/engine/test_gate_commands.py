"""The RuleGate on command lines: the level of every case in ``gate_cases``, the reasons it gives,
and that it stays fast and never raises.

Nothing here runs a command: the gate only reads the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.rules import assess_command
from tests.engine.gate_cases import CRITICAL, HIGH, LOW, MEDIUM, UNKNOWN


@pytest.mark.parametrize(
    ("cmd", "level"),
    [(c, "low") for c in LOW]
    + [(c, "medium") for c in MEDIUM]
    + [(c, "high") for c in HIGH]
    + [(c, "critical") for c in CRITICAL]
    + [(c, "unknown") for c in UNKNOWN],
)
def test_command_levels(cmd: str, level: str, tmp_path: Path) -> None:
    risk = assess_command(cmd, tmp_path)
    assert risk.level == level, (cmd, risk.reasons)
    assert risk.reasons


def test_reasons_name_the_worst_part_first(tmp_path: Path) -> None:
    risk = assess_command("ls && rm -rf / && frobnicate", tmp_path)
    assert risk.reasons[0] == "rm -r /: outside the workspace (critical)"
    assert "unrecognised command 'frobnicate' (high)" in risk.reasons


DETACHED = "detaches from the step's process group (high)"


@pytest.mark.parametrize("cmd", ["setsid sleep 300 &", "setsid -f sleep 300", "daemonize /bin/x"])
def test_detaching_says_why(cmd: str, tmp_path: Path) -> None:
    name = cmd.split()[0]
    assert assess_command(cmd, tmp_path).reasons[0] == f"{name}: {DETACHED}"


def test_detaching_still_judges_what_it_runs(tmp_path: Path) -> None:
    risk = assess_command("setsid -f rm -rf ~", tmp_path)
    assert risk.reasons[0] == "rm -r ~: outside the workspace (critical)"
    assert f"setsid: {DETACHED}" in risk.reasons
    risk = assess_command("tmux new -d 'make test'", tmp_path)
    assert risk.reasons[0].startswith("tmux: runs commands in a terminal session outside")
    assert "make: runs project code or changes the workspace (medium)" in risk.reasons


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        ("chmod 000 .", "chmod .: targets the workspace root itself"),
        ("chown -R nobody ./", "chown ./: targets the workspace root itself"),
        ("rm -rf .", "rm -r .: targets the workspace root itself"),
        ("rm -rf ./", "rm -r ./: targets the workspace root itself"),
        ("rmdir .", "rmdir .: targets the workspace root itself"),
        ("cd sub && rm -rf ..", "rm -r ..: targets the workspace root itself"),
        ("rm -rf *", "rm -r *: deletes everything in the workspace root"),
        ("cd src && rm -rf ./*", "rm -r ./*: deletes everything in src"),
        ("chmod 600 .git/config", "chmod .git/config: path '.git/config' is inside .git/"),
    ],
)
def test_reasons_for_the_workspace_root_and_protected_paths(
    cmd: str, reason: str, tmp_path: Path
) -> None:
    first = assess_command(cmd, tmp_path).reasons[0]
    assert first.startswith(reason) and first.endswith("(critical)"), first
    assert "escapes the workspace" not in first


def test_the_workspace_root_named_by_its_absolute_path(tmp_path: Path) -> None:
    first = assess_command(f"chmod -R 000 {tmp_path}", tmp_path).reasons[0]
    assert first == f"chmod {tmp_path}: targets the workspace root itself (critical)"


@pytest.mark.parametrize(
    "odd", ["", "   ", "\n\n", "(((", ")))", "|||", "'" * 3, "\\", "$(", "`", "<<", "a" * 50_000]
)
def test_never_raises_on_odd_input(odd: str, tmp_path: Path) -> None:
    risk = assess_command(odd, tmp_path)
    assert risk.level in ("low", "medium", "high", "critical", "unknown")
