"""Too strict is a failure too: the ordinary developer commands the first gate asked about, and
every command the built-in goals plan (on a real workspace, through the real planner), run
without a prompt, sandboxed or not. Nothing here runs a command: the gate only reads the text."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine.gate.base import GateContext, Sandbox
from engine.gate.rules import RuleGate
from engine.models import RunCliStep, WriteFileStep
from engine.plan.goals import BUILTIN_GOALS

SANDBOXES: tuple[Sandbox, ...] = ("off", "bwrap", "landlock")
ORDINARY = ["rm -rf build", "find . -name '*.pyc' -delete", "chmod +x scripts/run.sh", "npm ci"]


@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("cmd", ORDINARY)
def test_ordinary_commands_run_without_a_prompt(
    cmd: str, sandbox: Sandbox, workspace: Path
) -> None:
    verdict = RuleGate(GateContext(sandbox=sandbox)).assess(
        RunCliStep(kind="runCli", cmd=cmd), workspace
    )
    assert verdict.decision == "allow", verdict.risk.reasons


@pytest.fixture
def project(home_tmp: Path) -> Path:
    """A workspace of every kind the built-in goals know: Python (with a venv and ruff), Node
    (test and lint scripts), Rust, Go, and git with a commit."""
    ws = home_tmp
    (ws / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_dir = ws / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "ruff"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    scripts = {"test": "jest", "lint": "eslint ."}
    (ws / "package.json").write_text(json.dumps({"scripts": scripts}))
    (ws / "Cargo.toml").write_text("[package]\nname = 'x'\n")
    (ws / "go.mod").write_text("module x\n")
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, env=env)
    return ws


@pytest.mark.parametrize("goal", sorted(BUILTIN_GOALS))
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_built_in_goals_run_without_a_prompt(
    goal: str, sandbox: Sandbox, project: Path
) -> None:
    steps = BUILTIN_GOALS[goal].steps(project)
    assert steps
    gate = RuleGate(GateContext(sandbox=sandbox))
    for step in steps:
        assert isinstance(step, RunCliStep | WriteFileStep)
        verdict = gate.assess(step, project)
        assert verdict.decision == "allow", (goal, step, verdict.risk.reasons)
