"""README.md's examples are tests: every `agentd` line of "Using it" and the goals.toml example
run for real, and .ci/run runs exactly the Quickstart's test command."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.venvs import project_venv

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def code_blocks(section: str, lang: str) -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def usage_lines() -> list[str]:
    lines = [
        line.split("  #", 1)[0].strip() for line in code_blocks("Using it", "sh")[0].splitlines()
    ]
    return [line for line in lines if line.startswith("agentd ")]


def agentd(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # the project's venv activated, as a developer's would be (the sandbox hides the suite's
    # own venv when the checkout is under /tmp)
    path = os.pathsep.join([str(cwd / ".venv" / "bin"), str(BIN), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        [str(BIN / "agentd"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Python project with a Makefile: what the examples expect to find."""
    ws = tmp_path_factory.mktemp("project")
    (ws / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (ws / "test_demo.py").write_text("def test_ok() -> None:\n    assert True\n")
    (ws / "Makefile").write_text("all:\n\tmkdir -p build && touch build/app\n")
    project_venv(ws, "pytest", "ruff")  # the workspace's own tools
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


def test_the_quickstart_commands_are_what_ci_runs() -> None:
    quickstart = [
        line
        for line in code_blocks("Quickstart", "sh")[0].splitlines()
        if line.startswith("python3")
    ]
    assert len(quickstart) == 2, "the Quickstart has exactly two commands"
    assert "agentd run swe.analyze" in quickstart[0]
    assert quickstart[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("line", [line for line in usage_lines() if " serve" not in line])
def test_every_usage_example_works(project: Path, line: str) -> None:
    args = shlex.split(line)[1:]
    if "RUN_ID" in args or "last" in args:  # a run to look at, whichever example runs first
        first = agentd(["run", "demo.test", "--json"], project)
        if "RUN_ID" in args:
            args[args.index("RUN_ID")] = json.loads(first.stdout)["runId"]
    if "DIR" in args:
        args[args.index("DIR")] = str(project)
    done = agentd(args, project)
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    if "--json" in args:
        assert json.loads(done.stdout)["status"] == "succeeded"


def test_the_goals_file_example_works(project: Path, tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(code_blocks("Using it", "toml")[0])
    listed = agentd(["goals", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "check" in listed.stdout
    planned = agentd(["run", "check", "--dry-run", "--json"], tmp_path)
    assert planned.returncode == 0, planned.stderr
    result = json.loads(planned.stdout)
    assert result["steps"] == ["ruff check .", "pytest -q", "write out/check.txt"]
