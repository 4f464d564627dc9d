"""Goals the offline planner knows: built-in ones and a workspace's ``.agent/goals.toml``.

Built-in ids (``demo.*``, ``swe.analyze``, ``swe.test``, ``swe.lint``, ``swe.status``) are
reserved: a goals file that defines one is an error, so an untrusted clone cannot swap what a
built-in goal runs. Built-in goals resolve without reading the goals file at all, so a broken file
never blocks them; workspace goals and the catalogue raise the file's error. A broken goals file
is an error (``GoalsFileError`` naming the file, the goal, the step index and the key), never
silently ignored. Parsed files are cached by path, mtime, size and inode.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from engine.errors import GoalsFileError, describe_validation_error
from engine.models import Plan, RunCliStep, Step, WriteFileStep
from engine.plan.detect import swe_lint_steps, swe_status_steps, swe_test_steps
from engine.requests import GoalInfo

__all__ = [
    "BUILTIN_GOALS",
    "GOALS_FILE",
    "GOAL_ID",
    "Goal",
    "clear_cache",
    "find_goal",
    "is_builtin_id",
    "known_goal_ids",
    "list_goals",
    "load_workspace_goals",
]

GOALS_FILE = Path(".agent") / "goals.toml"
GOAL_ID = re.compile(r"^[\w.:-]+$")
MAX_GOALS_FILE_BYTES = 1024 * 1024
DEMO_PATH = "out/hello.txt"
DEMO_CONTENT = "Hello from agentd!\n"
SWE_ANALYZE = ("echo 'Running SWE task...'", "ls -la", "pwd", "echo 'SWE task completed'")

StepFactory = Callable[[Path], Sequence[Step]]


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal the stub planner can plan: its steps come from ``steps(workspace)``."""

    id: str
    title: str
    source: Literal["builtin", "workspace"]
    steps: StepFactory

    def info(self) -> GoalInfo:
        return GoalInfo(id=self.id, title=self.title, source=self.source, needs_model=False)


def _demo(workspace: Path) -> list[Step]:
    return [WriteFileStep(kind="writeFile", path=DEMO_PATH, content=DEMO_CONTENT)]


def _analyze(workspace: Path) -> list[Step]:
    return [RunCliStep(kind="runCli", cmd=cmd) for cmd in SWE_ANALYZE]


def _builtin(goal_id: str, title: str, steps: StepFactory) -> Goal:
    return Goal(goal_id, title, "builtin", steps)


BUILTIN_GOALS: dict[str, Goal] = {
    goal.id: goal
    for goal in (
        _builtin("demo.test", f"Write {DEMO_PATH} (any demo.* goal does the same)", _demo),
        _builtin("swe.analyze", "Look around the workspace (echo, ls -la, pwd)", _analyze),
        _builtin("swe.test", "Run the workspace's tests (pytest, npm, cargo, go)", swe_test_steps),
        _builtin(
            "swe.lint", "Lint the workspace (ruff, npm run lint, clippy, go vet)", swe_lint_steps
        ),
        _builtin("swe.status", "Show the git status, recent commits and diff", swe_status_steps),
    )
}


def is_builtin_id(goal: str) -> bool:
    """True for ids only the built-in goals may use: the built-ins and all of ``demo.*``."""
    return goal in BUILTIN_GOALS or goal.startswith("demo.")


def find_goal(goal: str, workspace: Path | None) -> Goal | None:
    """The goal called ``goal``: a built-in or ``demo.*`` (without reading the workspace's goals
    file), else a workspace goal."""
    if goal in BUILTIN_GOALS:
        return BUILTIN_GOALS[goal]
    if goal.startswith("demo.") and GOAL_ID.match(goal) and len(goal) > len("demo."):
        return Goal(goal, BUILTIN_GOALS["demo.test"].title, "builtin", _demo)
    if workspace is None or not GOAL_ID.match(goal):  # free text is never a goal id
        return None
    return load_workspace_goals(workspace).get(goal)


def list_goals(workspace: Path | None) -> list[GoalInfo]:
    """The catalogue: the built-ins, then the workspace's goals."""
    mine = load_workspace_goals(workspace) if workspace is not None else {}
    return [g.info() for g in BUILTIN_GOALS.values()] + [g.info() for g in mine.values()]


def known_goal_ids(workspace: Path | None) -> list[str]:
    return [info.id for info in list_goals(workspace)]


# --- .agent/goals.toml ------------------------------------------------------------------------

_cache: dict[Path, tuple[tuple[int, int, int], dict[str, Goal]]] = {}
_CACHE_LIMIT = 64  # workspaces remembered; a long-lived server may serve many
_STEP_KEYS = frozenset({"id", "run", "write", "content", "after", "timeoutMs"})
_GOAL_KEYS = frozenset({"title", "steps"})
_FIELD_TO_KEY = {"cmd": "run", "path": "write", "timeout_ms": "timeoutMs", "timeoutMs": "timeoutMs"}


def load_workspace_goals(workspace: Path) -> dict[str, Goal]:
    """Goals defined in ``<workspace>/.agent/goals.toml`` (empty when the file is absent)."""
    path = workspace / GOALS_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise GoalsFileError(f"{path}: cannot read: {exc.strerror}") from None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    goals = _parse_goals_file(path, st.st_size)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.pop(next(iter(_cache)))
    _cache[path] = (stamp, goals)
    return goals


def _parse_goals_file(path: Path, size: int) -> dict[str, Goal]:
    if not path.is_file():
        raise GoalsFileError(f"{path}: not a regular file")
    if size > MAX_GOALS_FILE_BYTES:
        raise GoalsFileError(f"{path}: larger than {MAX_GOALS_FILE_BYTES} bytes")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:  # its message says "(at line L, column C)"
        raise GoalsFileError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise GoalsFileError(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise GoalsFileError(f"{path}: cannot read: {exc.strerror}") from None
    extra = sorted(set(data) - {"goals"})
    if extra:
        raise GoalsFileError(f"{path}: unknown top-level key {extra[0]!r}; expected [goals.<id>]")
    table = data.get("goals", {})
    if not isinstance(table, dict):
        raise GoalsFileError(f"{path}: 'goals' must be a table of [goals.<id>] sections")
    return {goal_id: _parse_goal(path, goal_id, body) for goal_id, body in table.items()}


def _parse_goal(path: Path, goal_id: str, body: object) -> Goal:
    where = f"{path}: goal {goal_id!r}"
    if is_builtin_id(goal_id):
        raise GoalsFileError(f"{where} is built in; choose another id")
    if not GOAL_ID.match(goal_id):
        raise GoalsFileError(f"{where}: a goal id may use only letters, digits and _ . : -")
    if not isinstance(body, dict):
        raise GoalsFileError(f"{where}: must be a table with 'steps'")
    unknown = sorted(set(body) - _GOAL_KEYS)
    if unknown:
        raise GoalsFileError(f"{where}: unknown key {unknown[0]!r} (expected title, steps)")
    title = body.get("title", goal_id)
    if not isinstance(title, str):
        raise GoalsFileError(f"{where}: 'title' must be a string")
    raw_steps = body.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise GoalsFileError(f"{where}: 'steps' must be a non-empty array of step tables")
    steps = [_parse_step(where, index, raw) for index, raw in enumerate(raw_steps)]
    try:
        Plan(goal=goal_id, planner="stub", steps=[s.model_copy(deep=True) for s in steps])
    except ValidationError as exc:
        raise GoalsFileError(f"{where}: {describe_validation_error(exc)}") from None
    return Goal(goal_id, title, "workspace", lambda _ws: [s.model_copy(deep=True) for s in steps])


def _parse_step(where: str, index: int, raw: object) -> Step:
    at = f"{where}: steps[{index}]"
    if not isinstance(raw, dict):
        raise GoalsFileError(f'{at}: must be a table like {{ run = "..." }}')
    unknown = sorted(set(raw) - _STEP_KEYS)
    if unknown:
        raise GoalsFileError(f"{at}: unknown key {unknown[0]!r}")
    if ("run" in raw) == ("write" in raw):
        raise GoalsFileError(f"{at}: needs exactly one of 'run' or 'write'")
    if "run" in raw and "content" in raw:
        raise GoalsFileError(f"{at}: 'content' goes with 'write', not 'run'")
    if "write" in raw and "content" not in raw:
        raise GoalsFileError(f"{at}: 'write' needs 'content'")
    common = {k: raw[k] for k in ("id", "after", "timeoutMs") if k in raw}
    try:
        if "run" in raw:
            return RunCliStep.model_validate({"kind": "runCli", "cmd": raw["run"], **common})
        return WriteFileStep.model_validate(
            {"kind": "writeFile", "path": raw["write"], "content": raw["content"], **common}
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        key = _FIELD_TO_KEY.get(field, field)
        raise GoalsFileError(f"{at}: {key!r}: {error['msg']}") from None


def clear_cache() -> None:
    """Forget parsed goals files (tests; a server reloading its configuration)."""
    _cache.clear()
