"""goals.py: the catalogue and `.agent/goals.toml`, strictly validated and cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import GoalsFileError
from engine.models import RunCliStep, WriteFileStep
from engine.plan import goals
from engine.plan.goals import list_goals, load_workspace_goals

EXAMPLE = """\
[goals.check]
title = "Lint and test"
steps = [
  { id = "lint", run = "ruff check ." },
  { id = "test", run = "pytest -q" },
  { id = "note", write = "out/check.txt", content = "checked\\n", after = ["lint", "test"] },
]
"""


def _write(workspace: Path, text: str) -> Path:
    path = workspace / ".agent" / "goals.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_builtin_catalogue_without_workspace() -> None:
    infos = list_goals(None)
    builtin_ids = ["demo.test", "swe.analyze", "swe.test", "swe.lint", "swe.status"]
    assert [i.id for i in infos] == builtin_ids
    assert all(i.source == "builtin" and not i.needs_model and i.title for i in infos)
    assert infos[0].wire() == {
        "id": "demo.test",
        "title": infos[0].title,
        "source": "builtin",
        "needsModel": False,
    }


def test_protocol_example_parses(tmp_path: Path) -> None:
    _write(tmp_path, EXAMPLE)
    goal = load_workspace_goals(tmp_path)["check"]
    assert goal.title == "Lint and test" and goal.source == "workspace"
    steps = list(goal.steps(tmp_path))
    assert [type(s) for s in steps] == [RunCliStep, RunCliStep, WriteFileStep]
    assert isinstance(steps[2], WriteFileStep)
    assert steps[2].path == "out/check.txt" and steps[2].content == "checked\n"
    assert steps[2].after == ["lint", "test"]
    infos = list_goals(tmp_path)
    assert infos[-1].id == "check" and infos[-1].source == "workspace"


@pytest.mark.parametrize(
    "goal_id", ["demo.test", "demo.other", "swe.analyze", "swe.test", "swe.lint", "swe.status"]
)
def test_workspace_goals_may_not_redefine_builtin_ids(tmp_path: Path, goal_id: str) -> None:
    path = _write(tmp_path, f'[goals."{goal_id}"]\nsteps = [{{ run = "make test" }}]\n')
    with pytest.raises(GoalsFileError) as info:
        list_goals(tmp_path)
    assert str(info.value) == f"{path}: goal {goal_id!r} is built in; choose another id"


def test_builtin_goals_resolve_without_parsing_the_goals_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "[goals.check\n")
    goals.clear_cache()

    def refuse(p: Path, size: int) -> dict[str, goals.Goal]:
        raise AssertionError("parsed the workspace goals file for a built-in goal")

    monkeypatch.setattr(goals, "_parse_goals_file", refuse)
    for goal_id in ("demo.test", "demo.x", "swe.analyze", "swe.test", "swe.lint", "swe.status"):
        found = goals.find_goal(goal_id, tmp_path)
        assert found is not None and found.source == "builtin", goal_id
    assert goals.find_goal("fix the tests", tmp_path) is None  # free text is never a goal id
    monkeypatch.undo()
    with pytest.raises(GoalsFileError, match=r"goals\.toml"):
        goals.find_goal("check", tmp_path)
    with pytest.raises(GoalsFileError, match=r"goals\.toml"):
        list_goals(tmp_path)


G = "[goals.check]\nsteps = "
INVALID = [
    (G + '[{ run = "a" }, { rn = "b" }]\n', "goal 'check': steps[1]: unknown key 'rn'"),
    (G + "[]\n", "goal 'check': 'steps' must be a non-empty array"),
    ("[goals.check]\ntitle = 'x'\n", "goal 'check': 'steps' must be a non-empty array"),
    (G + "[{ run = 'a' }]\ncolour = 1\n", "goal 'check': unknown key 'colour'"),
    (G + "[{ run = 'a', write = 'b' }]\n", "steps[0]: needs exactly one of"),
    (G + "[{ write = 'b' }]\n", "steps[0]: 'write' needs 'content'"),
    (G + "[{ run = 'a', content = 'b' }]\n", "steps[0]: 'content' goes with 'write'"),
    (G + "[{ run = 'a', timeoutMs = -1 }]\n", "steps[0]: 'timeoutMs'"),
    (G + "[{ run = 'a', id = 'bad id' }]\n", "steps[0]: 'id'"),
    (G + "[{ run = '' }]\n", "steps[0]: 'run'"),
    (G + "['ls']\n", "steps[0]: must be a table"),
    (G + "[{ run = 'a', after = ['nope'] }]\n", "'check': steps[0].after: unknown step id 'nope'"),
    (
        G + "[{ id = 'a', run = 'x', after = ['b'] }, { id = 'b', run = 'y', after = ['a'] }]\n",
        "goal 'check': steps.after: dependency cycle",
    ),
    ('[goals."two words"]\nsteps = [{ run = "a" }]\n', "goal 'two words': a goal id may use"),
    ("goals = 3\n", "'goals' must be a table"),
    ("[other]\nx = 1\n", "unknown top-level key 'other'"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_goals_files_name_file_goal_step_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(GoalsFileError) as info:
        load_workspace_goals(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "[goals.check]\ntitle = 'x'\nsteps = [ { run = }\n")
    with pytest.raises(GoalsFileError, match=r"line 3") as info:
        load_workspace_goals(tmp_path)
    assert str(path) in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / ".agent" / "goals.toml"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xfe[goals]")
    with pytest.raises(GoalsFileError, match="UTF-8"):
        load_workspace_goals(tmp_path)


def test_no_goals_file_means_no_workspace_goals(tmp_path: Path) -> None:
    assert load_workspace_goals(tmp_path) == {}
    assert [i.id for i in list_goals(tmp_path)] == [i.id for i in list_goals(None)]


def test_parsing_is_cached_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, EXAMPLE)
    calls: list[Path] = []
    real = goals._parse_goals_file

    def counting(p: Path, size: int) -> dict[str, goals.Goal]:
        calls.append(p)
        return real(p, size)

    monkeypatch.setattr(goals, "_parse_goals_file", counting)
    goals.clear_cache()
    for _ in range(5):
        load_workspace_goals(tmp_path)
    assert len(calls) == 1
    path.write_text(EXAMPLE.replace("Lint and test", "Changed title!"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_workspace_goals(tmp_path)["check"].title == "Changed title!"
    assert len(calls) == 2


def test_returned_steps_are_fresh_copies(tmp_path: Path) -> None:
    _write(tmp_path, EXAMPLE)
    goal = load_workspace_goals(tmp_path)["check"]
    first = list(goal.steps(tmp_path))
    first[0].id = "mutated"
    assert next(iter(goal.steps(tmp_path))).id == "lint"
