"""Looks at a workspace (Python, Node, Rust, Go projects; git) and picks real commands for the
``swe.test``, ``swe.lint`` and ``swe.status`` goals.

Only cheap checks (a few stat calls and one small JSON read), so planning stays instant. Commands
are non-interactive: no watch modes, no prompts (``CI=1`` for npm scripts, whose test runners
switch watch mode off under CI).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.errors import NothingToRun
from engine.models import RunCliStep

__all__ = [
    "Project",
    "detect",
    "swe_lint_steps",
    "swe_status_steps",
    "swe_test_steps",
]

PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini")
# The placeholder `npm init` writes: running it only fails, so it does not count as a test script.
NPM_PLACEHOLDER_TEST = 'echo "Error: no test specified" && exit 1'
COMPILEALL_SKIP = r"'/(\.venv|venv|\.git|node_modules)/'"  # folders not worth compiling
_LOOKED_FOR = {
    "swe.test": "a Python project (" + ", ".join(PYTHON_MARKERS) + "), package.json with "
    "scripts.test, Cargo.toml or go.mod",
    "swe.lint": "a Python project (" + ", ".join(PYTHON_MARKERS) + "), package.json with "
    "scripts.lint, Cargo.toml or go.mod",
    "swe.status": "a git repository (.git in the workspace or a parent directory)",
}


@dataclass(frozen=True, slots=True)
class Project:
    """What a workspace contains, as far as the swe.* goals care."""

    python: str | None  # the interpreter to use (a workspace venv's, else python3), or None
    ruff: str | None  # the ruff command, when ruff is installed in the venv or on PATH
    npm_scripts: frozenset[str]  # npm script names, empty when there is no package.json
    rust: bool
    go: bool
    git: bool
    git_has_commits: bool


def detect(workspace: Path) -> Project:
    """Inspect ``workspace`` (cheaply) for the kinds of project it holds."""
    python = None
    ruff = None
    if any((workspace / marker).is_file() for marker in PYTHON_MARKERS):
        venvs = (v for v in (".venv", "venv") if _executable(workspace / v / "bin/python"))
        venv = next(venvs, None)
        python = f"{venv}/bin/python" if venv else "python3"
        if venv and _executable(workspace / venv / "bin/ruff"):
            ruff = f"{venv}/bin/ruff"
        elif shutil.which("ruff"):
            ruff = "ruff"
    git_dir = _find_git(workspace)
    return Project(
        python=python,
        ruff=ruff,
        npm_scripts=_npm_scripts(workspace / "package.json"),
        rust=(workspace / "Cargo.toml").is_file(),
        go=(workspace / "go.mod").is_file(),
        git=git_dir is not None,
        git_has_commits=git_dir is not None and _has_commits(git_dir),
    )


def swe_test_steps(workspace: Path) -> list[RunCliStep]:
    """Steps that run the workspace's test suites, one per project kind (in parallel)."""
    project = detect(workspace)
    steps: list[tuple[str, str]] = []
    if project.python:
        steps.append(("test-python", f"{project.python} -m pytest -q"))
    if "test" in project.npm_scripts:
        steps.append(("test-node", "CI=1 npm test"))
    if project.rust:
        steps.append(("test-rust", "cargo test"))
    if project.go:
        steps.append(("test-go", "go test ./..."))
    return _steps("swe.test", workspace, steps)


def swe_lint_steps(workspace: Path) -> list[RunCliStep]:
    """Steps that lint the workspace, one per project kind (in parallel)."""
    project = detect(workspace)
    steps: list[tuple[str, str]] = []
    if project.ruff:
        steps.append(("lint-python", f"{project.ruff} check ."))
    elif project.python:  # no linter installed: at least catch syntax errors
        compile_all = f"{project.python} -m compileall -q -x {COMPILEALL_SKIP} ."
        steps.append(("lint-python", compile_all))
    if "lint" in project.npm_scripts:
        steps.append(("lint-node", "CI=1 npm run lint"))
    if project.rust:
        clippy = shutil.which("cargo-clippy") is not None
        steps.append(("lint-rust", "cargo clippy --all-targets" if clippy else "cargo check"))
    if project.go:
        steps.append(("lint-go", "go vet ./..."))
    return _steps("swe.lint", workspace, steps)


def swe_status_steps(workspace: Path) -> list[RunCliStep]:
    """Steps that show where the workspace's git repository stands (in parallel)."""
    project = detect(workspace)
    steps: list[tuple[str, str]] = []
    if project.git:
        steps.append(("status", "git status --short --branch"))
        if project.git_has_commits:  # `git log` fails on a repository with no commits yet
            steps.append(("log", "git log --oneline -n 10"))
        steps.append(("diff", "git diff --stat"))
    return _steps("swe.status", workspace, steps)


def _steps(goal: str, workspace: Path, pairs: list[tuple[str, str]]) -> list[RunCliStep]:
    if not pairs:
        raise NothingToRun(goal, workspace, _LOOKED_FOR[goal])
    return [RunCliStep(kind="runCli", id=step_id, cmd=cmd) for step_id, cmd in pairs]


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _npm_scripts(package_json: Path) -> frozenset[str]:
    try:
        data = json.loads(package_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return frozenset()
    return frozenset(
        name
        for name, body in scripts.items()
        if isinstance(body, str) and body.strip() and body.strip() != NPM_PLACEHOLDER_TEST
    )


def _find_git(workspace: Path) -> Path | None:
    """The ``.git`` (directory, or file of a worktree/submodule) of the workspace or a parent."""
    for folder in (workspace, *workspace.parents):
        candidate = folder / ".git"
        if candidate.exists():
            return candidate
    return None


def _has_commits(git: Path) -> bool:
    """Whether HEAD points at a commit, read from the files (no git process while planning)."""
    if not git.is_dir():
        return True  # a worktree or submodule pointer: assume history exists
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if not head.startswith("ref:"):
        return bool(head)  # detached HEAD: a commit id
    ref = head[4:].strip()
    if (git / ref).is_file():
        return True
    try:
        packed = (git / "packed-refs").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.endswith(" " + ref) for line in packed.splitlines())
