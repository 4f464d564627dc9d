"""The sandbox must not break ordinary work: a Python project's pytest, npm test, cargo build (with
~/.cargo readable), git status/diff/log and make, each run through the engine under bubblewrap."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from engine.config import EngineConfig
from engine.engine import Engine
from engine.execute.sandbox import in_effect
from engine.models import RunGoalParams
from tests.editors.requirements import require
from tests.venvs import project_venv

SANDBOXED = EngineConfig(sandbox="auto", kill_grace_ms=200)


async def run_in_sandbox(workspace: Path, *commands: str) -> list[tuple[str, str, str]]:
    """(status, stdout, stderr) of each command, run one after another in one sandboxed run."""
    require(in_effect("auto") == "bwrap", "bubblewrap cannot make a sandbox here")
    steps = [
        {"id": f"s{i}", "kind": "runCli", "cmd": cmd, **({"after": [f"s{i - 1}"]} if i else {})}
        for i, cmd in enumerate(commands)
    ]
    params = RunGoalParams.model_validate({"steps": steps, "approval": "allow"})
    result = await Engine(SANDBOXED).start(params, workspace=workspace).result()
    assert [r.status for r in result.results] == ["succeeded"] * len(commands), [
        (r.cmd, r.status, r.stdout[-500:], r.stderr[-800:]) for r in result.results
    ]
    return [(r.status, r.stdout, r.stderr) for r in result.results]


async def test_pytest_in_a_python_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "calc"\nversion = "0"\n')
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    project_venv(tmp_path)
    ((_, out, _),) = await run_in_sandbox(
        tmp_path, ".venv/bin/python -m pytest -q -p no:cacheprovider test_calc.py"
    )
    assert "1 passed" in out


async def test_npm_test(tmp_path: Path) -> None:
    require(shutil.which("npm") is not None, "npm is not installed")
    package = '{"name": "calc", "version": "1.0.0", "scripts": {"test": "node --test"}}'
    (tmp_path / "package.json").write_text(package)
    (tmp_path / "calc.test.js").write_text(
        "const test = require('node:test'); const assert = require('node:assert');\n"
        "test('adds', () => assert.strictEqual(2 + 3, 5));\n"
    )
    ((_, out, _),) = await run_in_sandbox(tmp_path, "npm test")
    assert "pass 1" in out


async def test_cargo_build_with_the_home_toolchain(tmp_path: Path) -> None:
    require(shutil.which("cargo") is not None, "cargo is not installed")
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (tmp_path / "src" / "main.rs").write_text('fn main() { println!("{}", 2 + 3); }\n')
    cargo = shutil.which("cargo")
    results = await run_in_sandbox(tmp_path, f"{cargo} build --offline -q", "./target/debug/calc")
    assert results[1][1] == "5\n"


def a_repository_with_a_change(where: Path) -> None:
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    env = {**os.environ, **who, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q"], cwd=where, check=True)
    (where / "a.txt").write_text("one\n")
    subprocess.run(["git", "add", "a.txt"], cwd=where, check=True)
    subprocess.run(["git", "commit", "-qm", "first"], cwd=where, check=True, env=env)
    (where / "a.txt").write_text("two\n")


async def test_git_status_diff_and_log(tmp_path: Path) -> None:
    a_repository_with_a_change(tmp_path)
    results = await run_in_sandbox(tmp_path, "git status --short", "git diff", "git log --oneline")
    assert results[0][1] == " M a.txt\n"
    assert "+two" in results[1][1] and "first" in results[2][1]


async def test_make(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("out.txt:\n\techo built > out.txt\n")
    await run_in_sandbox(tmp_path, "make")
    assert (tmp_path / "out.txt").read_text() == "built\n"
