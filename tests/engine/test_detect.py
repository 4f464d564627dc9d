"""detect.py: real workspaces in tmp_path, real `git init`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.errors import AgentError, NothingToRun
from engine.plan.detect import (
    detect,
    swe_lint_steps,
    swe_status_steps,
    swe_test_steps,
)


def _cmds(steps: list) -> list[str]:  # type: ignore[type-arg]
    return [s.cmd for s in steps]


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_python_project_uses_python3_and_pytest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert _cmds(swe_test_steps(tmp_path)) == ["python3 -m pytest -q"]
    assert swe_test_steps(tmp_path)[0].id == "test-python"


def test_python_project_prefers_the_workspace_venv(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "ruff"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    assert _cmds(swe_test_steps(tmp_path)) == [".venv/bin/python -m pytest -q"]
    assert _cmds(swe_lint_steps(tmp_path)) == [".venv/bin/ruff check ."]


def test_python_lint_without_ruff_falls_back_to_compileall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tox.ini").write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    [step] = swe_lint_steps(tmp_path)
    assert step.cmd.startswith("python3 -m compileall -q ")


def test_node_scripts(tmp_path: Path) -> None:
    scripts = {"test": "jest", "lint": "eslint ."}
    (tmp_path / "package.json").write_text(json.dumps({"scripts": scripts}))
    assert _cmds(swe_test_steps(tmp_path)) == ["CI=1 npm test"]
    assert _cmds(swe_lint_steps(tmp_path)) == ["CI=1 npm run lint"]


def test_node_placeholder_test_script_does_not_count(tmp_path: Path) -> None:
    placeholder = 'echo "Error: no test specified" && exit 1'
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": placeholder}}))
    with pytest.raises(NothingToRun):
        swe_test_steps(tmp_path)


def test_broken_package_json_is_no_node_project(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{not json")
    assert detect(tmp_path).npm_scripts == frozenset()


def test_rust_and_go(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[package]\nname = 'x'\n")
    (tmp_path / "go.mod").write_text("module x\n")
    assert _cmds(swe_test_steps(tmp_path)) == ["cargo test", "go test ./..."]
    lint = _cmds(swe_lint_steps(tmp_path))
    assert lint[0] in ("cargo clippy --all-targets", "cargo check")
    assert lint[1] == "go vet ./..."


def test_several_kinds_run_in_parallel(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "vitest run"}}))
    (tmp_path / "go.mod").write_text("module x\n")
    steps = swe_test_steps(tmp_path)
    assert _cmds(steps) == ["python3 -m pytest -q", "CI=1 npm test", "go test ./..."]
    assert all(s.after == [] for s in steps)
    assert len({s.id for s in steps}) == 3


def test_nothing_to_test_says_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as info:
        swe_test_steps(tmp_path)
    message = str(info.value)
    assert "swe.test" in message and str(tmp_path) in message
    assert "pyproject.toml" in message and "package.json" in message and "go.mod" in message


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_status_in_a_fresh_repository(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    # no commits yet: `git log` would fail, so it is left out
    assert _cmds(swe_status_steps(tmp_path)) == ["git status --short --branch", "git diff --stat"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_status_with_history_and_from_a_subdirectory(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one")
    expected = ["git status --short --branch", "git log --oneline -n 10", "git diff --stat"]
    assert _cmds(swe_status_steps(tmp_path)) == expected
    sub = tmp_path / "sub"
    sub.mkdir()
    assert _cmds(swe_status_steps(sub)) == expected


def test_no_git_repository(tmp_path: Path) -> None:
    with pytest.raises(NothingToRun, match=r"git repository"):
        swe_status_steps(tmp_path)
