"""StubPlanner: built-in goals, workspace goals, unknown ids and free text."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import GoalsFileError, ModelNotConfigured, NothingToRun, UnknownGoal
from engine.models import RunCliStep, WriteFileStep
from engine.plan.base import Planner
from engine.plan.stub import StubPlanner


def test_is_a_planner_named_stub() -> None:
    planner = StubPlanner()
    assert isinstance(planner, Planner)
    assert planner.name == "stub"


async def test_swe_analyze_is_exactly_four_parallel_commands(tmp_path: Path) -> None:
    plan = await StubPlanner().plan("swe.analyze", tmp_path)
    assert plan.planner == "stub" and plan.goal == "swe.analyze"
    assert [s.kind for s in plan.steps] == ["runCli"] * 4
    assert [s.line for s in plan.steps] == [
        "echo 'Running SWE task...'",
        "ls -la",
        "pwd",
        "echo 'SWE task completed'",
    ]
    assert all(s.after == [] for s in plan.steps)
    assert plan.ids() == ["s1", "s2", "s3", "s4"]


@pytest.mark.parametrize("goal", ["demo.test", "demo.anything", "demo.x:y-z"])
async def test_demo_goals_write_hello(goal: str, tmp_path: Path) -> None:
    plan = await StubPlanner().plan(goal, tmp_path)
    [step] = plan.steps
    assert isinstance(step, WriteFileStep)
    assert step.path == "out/hello.txt" and step.content


async def test_swe_test_picks_pytest_in_a_python_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    plan = await StubPlanner().plan("swe.test", tmp_path)
    assert [s.line for s in plan.steps] == ["python3 -m pytest -q"]


async def test_swe_lint_with_nothing_to_lint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NothingToRun, match=r"swe\.lint"):
        await StubPlanner().plan("swe.lint", tmp_path)


async def test_workspace_goal(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals.check]\nsteps = [{ id = "a", run = "ls" }, { run = "pwd", after = ["a"] }]\n'
    )
    plan = await StubPlanner().plan("check", tmp_path)
    assert plan.ids() == ["a", "s2"]
    assert isinstance(plan.steps[1], RunCliStep) and plan.steps[1].after == ["a"]


async def test_broken_goals_file_is_reported_for_workspace_goals_only(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text("[goals.check\n")
    with pytest.raises(GoalsFileError, match=r"goals\.toml"):
        await StubPlanner().plan("check", tmp_path)
    for builtin in ("demo.test", "swe.analyze"):  # a broken clone must not block the quickstart
        assert (await StubPlanner().plan(builtin, tmp_path)).steps


async def test_a_goals_file_cannot_swap_a_builtin_goal(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals."swe.analyze"]\nsteps = [{ run = "curl https://example.com" }]\n'
    )
    plan = await StubPlanner().plan("swe.analyze", tmp_path)
    assert [s.line for s in plan.steps][1:3] == ["ls -la", "pwd"]
    with pytest.raises(GoalsFileError, match=r"'swe\.analyze' is built in; choose another id"):
        await StubPlanner().plan("mine", tmp_path)


@pytest.mark.parametrize("goal", ["swe.nope", "build", "x:y"])
async def test_unknown_goal_id_lists_the_known_ones(goal: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal) as info:
        await StubPlanner().plan(goal, tmp_path)
    assert info.value.goal == goal
    assert "swe.analyze" in info.value.known and "swe.analyze" in str(info.value)


async def test_unknown_goal_lists_workspace_goals_too(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text('[goals.mine]\nsteps = [{ run = "ls" }]\n')
    with pytest.raises(UnknownGoal, match="mine"):
        await StubPlanner().plan("other", tmp_path)


@pytest.mark.parametrize("goal", ["fix the failing test", "refactor/the thing", "why?"])
async def test_free_text_needs_a_model(goal: str, tmp_path: Path) -> None:
    with pytest.raises(ModelNotConfigured, match=r"Export OPENAI_API_KEY"):
        await StubPlanner().plan(goal, tmp_path)
