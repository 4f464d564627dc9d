"""What the model is told about the workspace and about the previous round: bounded by the budget,
redacted, and never a file outside the workspace or one that looks like it holds secrets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.models import Risk, RiskLevel, StepResult
from engine.plan.prompts import (
    describe_workspace,
    git_status,
    list_workspace,
    named_files,
    observation,
    system_prompt,
)
from engine.secrets import Redactor

TOKEN = "ghp_" + "Z9y8X7w6V5" * 4


def redact(text: str) -> str:
    return Redactor().redact(text)


def test_the_picture_of_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(f"TOKEN = '{TOKEN}'\nprint('hi')\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    picture = describe_workspace(tmp_path, "fix the bug in src/app.py", 16384, redact)
    assert str(tmp_path) not in picture  # the user's paths are none of its business
    assert "Python (interpreter: python3" in picture and "a new git repository" in picture
    assert "top-level entries: .git/, pyproject.toml, src/" in picture
    assert "- git status:\n  ## " in picture and "?? pyproject.toml" in picture
    assert "- file src/app.py:\n  TOKEN = '[REDACTED]'\n  print('hi')" in picture
    assert TOKEN not in picture


def test_the_picture_stays_within_its_budget(tmp_path: Path) -> None:
    for index in range(300):
        (tmp_path / f"file-{index:03d}.txt").write_text("x" * 5000)
    goal = " ".join(f"file-{index:03d}.txt" for index in range(5))
    for budget in (1024, 4096, 16384):
        picture = describe_workspace(tmp_path, goal, budget, redact)
        assert len(picture.encode()) <= budget
        assert "[... cut to fit the context budget]" in picture
    assert "(and 100 more)" in list_workspace(tmp_path)


def test_named_files_stay_inside_and_away_from_secrets(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside")
    ws = tmp_path / "ws"
    (ws / "docs").mkdir(parents=True)
    (ws / "docs" / "notes.md").write_text("notes")
    (ws / ".env").write_text("SECRET=1")
    (ws / "server.pem").write_text("pem")
    (ws / "link.txt").symlink_to(outside)
    (ws / "blob.bin").write_bytes(b"\x00\x01")
    goal = (
        "read docs/notes.md, .env, server.pem, link.txt, ../outside.txt, blob.bin, "
        f"{outside} and missing.txt"
    )
    assert named_files(ws, goal) == [("docs/notes.md", "notes")]


def test_git_status_runs_no_monitor_the_repository_names(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    canary = tmp_path / "monitor-ran"
    monitor = tmp_path / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\ntouch {canary}\n")
    monitor.chmod(0o755)
    subprocess.run(
        ["git", "-C", str(tmp_path), "config", "core.fsmonitor", str(monitor)], check=True
    )
    assert "## " in git_status(tmp_path)
    assert not canary.exists()


def test_not_a_repository(tmp_path: Path) -> None:
    if any((folder / ".git").exists() for folder in tmp_path.parents):
        pytest.skip("the temp folder is inside a git repository")
    assert git_status(tmp_path) == ""


def step(
    status: str,
    *,
    exit_code: int | None = None,
    stdout: str = "",
    level: RiskLevel = "low",
    reason: str = "reason",
) -> StepResult:
    return StepResult(
        id="s1",
        kind="runCli",
        cmd="make test",
        risk=Risk(level=level, reasons=[reason]),
        decision="allow",
        status=status,  # type: ignore[arg-type]
        exit_code=exit_code,
        stdout=stdout,
    )


def test_outcomes_of_a_round() -> None:
    text = observation(
        [
            step("failed", exit_code=2, stdout="line\n" * 10_000 + f"the end {TOKEN}\n"),
            step("denied", level="critical", reason="writes outside the workspace"),
            step("rejected", level="high", reason="unrecognised command"),
            step("skipped"),
        ],
        4096,
        redact,
    )
    assert len(text.encode()) <= 4096
    assert "- s1 (make test): failed, exit code 2" in text
    assert "the end [REDACTED]" in text and TOKEN not in text  # the tail, redacted
    assert "denied by the gate, not run (writes outside the workspace)" in text
    assert "rejected: the user did not approve it (unrecognised command)" in text
    assert "skipped: a step it comes after did not succeed" in text
    assert text.rstrip().endswith("if the goal is done or cannot be done.")


def test_the_system_prompt_per_dialect() -> None:
    assert "JSON Schema" not in system_prompt("json_schema")
    assert system_prompt("json_schema") == system_prompt("json_object")
    assert '"required":["steps","done","summary"]' in system_prompt("text")
