"""The whole pipeline, real processes and files: plan -> gate -> execute -> verify -> trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.engine import Engine
from engine.errors import InvalidPlan, ModelNotConfigured, TraceError, UnknownGoal, WorkspaceError
from engine.events import (
    Event,
    OutputDelta,
    PlanReady,
    RunFinished,
    RunStarted,
    StepUpdated,
)
from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.models import RunGoalParams
from engine.trace import read_trace
from tests.engine.runs import FAST, run, trace_types


async def test_swe_analyze_exactly_as_the_seed(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("x")
    result = await run(tmp_path, goal="swe.analyze")
    assert result.steps == [
        "echo 'Running SWE task...'",
        "ls -la",
        "pwd",
        "echo 'SWE task completed'",
    ]
    assert result.status == "succeeded" and result.planner == "stub"
    assert result.bits.t == 0.9 and result.deliverables == []
    outs = [r.stdout for r in result.results]
    assert outs[0] == "Running SWE task...\n" and outs[3] == "SWE task completed\n"
    assert outs[2] == f"{tmp_path}\n" and "marker.txt" in outs[1]
    assert result.stdout == "\n".join(outs)
    assert all(r.decision == "allow" and r.approved_by == "policy" for r in result.results)
    assert result.trace == f".agent/runs/{result.run_id}.jsonl"
    types = trace_types(tmp_path, result)
    assert types[:2] == ["run.started", "plan.created"] and types[-1] == "run.finished"
    assert types.count("gate.decided") == 4 and types.count("step.finished") == 4


async def test_demo_writes_its_deliverable(tmp_path: Path) -> None:
    result = await run(tmp_path, goal="demo.test")
    assert result.steps == ["write out/hello.txt"]
    assert result.deliverables == ["out/hello.txt"] and result.bits.t == 0.9
    assert (tmp_path / "out" / "hello.txt").read_text()
    assert result.stdout == ""


async def test_dag_with_a_failed_dependency(tmp_path: Path) -> None:
    steps = [
        {"id": "make", "kind": "writeFile", "path": "a.txt", "content": "from make\n"},
        {"id": "read", "kind": "runCli", "cmd": "cat a.txt", "after": ["make"]},
        {"id": "boom", "kind": "runCli", "cmd": "echo oops >&2; exit 3"},
        {"id": "never", "kind": "runCli", "cmd": "touch never.txt", "after": ["boom"]},
        {"id": "never2", "kind": "runCli", "cmd": "touch never2.txt", "after": ["never", "read"]},
    ]
    result = await run(tmp_path, steps=steps)
    by_id = {r.id: r for r in result.results}
    assert result.planner == "explicit" and result.goal == "explicit"
    assert by_id["read"].stdout == "from make\n" and by_id["read"].status == "succeeded"
    assert (by_id["boom"].status, by_id["boom"].exit_code) == ("failed", 3)
    assert by_id["boom"].stderr == "oops\n"
    assert by_id["never"].status == "skipped" and by_id["never2"].status == "skipped"
    assert not (tmp_path / "never.txt").exists()
    assert result.status == "failed" and result.bits.t == round(0.9 * 2 / 5, 3)
    assert result.stdout == "from make\n\n"  # only steps that ran: read, boom


async def test_events_arrive_in_order(tmp_path: Path) -> None:
    events: list[Event] = []
    result = await run(
        tmp_path, listener=events.append, steps=[{"kind": "runCli", "cmd": "echo hi; echo err >&2"}]
    )
    assert isinstance(events[0], RunStarted) and isinstance(events[1], PlanReady)
    assert events[1].steps[0].status == "pending" and events[1].steps[0].risk.level == "low"
    statuses = [e.step.status for e in events if isinstance(e, StepUpdated)]
    assert statuses == ["running", "succeeded"]
    deltas = {(e.stream, e.text) for e in events if isinstance(e, OutputDelta)}
    assert deltas == {("stdout", "hi\n"), ("stderr", "err\n")}
    assert isinstance(events[-1], RunFinished) and events[-1].result == result


async def test_a_broken_listener_does_not_break_the_run(tmp_path: Path) -> None:
    def listener(event: Event) -> None:
        raise RuntimeError("listener bug")

    result = await run(tmp_path, listener=listener, goal="swe.analyze")
    assert result.status == "succeeded"


async def test_dry_run_plans_and_gates_but_executes_nothing(tmp_path: Path) -> None:
    result = await run(tmp_path, goal="demo.test", dryRun=True)
    assert result.status == "planned" and result.bits.t == 0.0
    assert [r.status for r in result.results] == ["planned"]
    assert result.results[0].decision == "allow" and not (tmp_path / "out").exists()
    assert "step.started" not in trace_types(tmp_path, result)


async def test_unknown_goal_and_free_text_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal, match=r"known goals: .*swe\.analyze"):
        await run(tmp_path, goal="swe.nope")
    with pytest.raises(ModelNotConfigured, match=r"Export OPENAI_API_KEY"):
        await run(tmp_path, goal="please refactor the parser")
    traces = sorted((tmp_path / ".agent" / "runs").glob("*.jsonl"))
    last = read_trace(traces[-1]).records[-1]
    assert last["type"] == "run.finished" and last["status"] == "failed" and last["error"]


async def test_invalid_explicit_plan_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidPlan, match="unknown step id 'ghost'"):
        await run(tmp_path, steps=[{"kind": "runCli", "cmd": "true", "after": ["ghost"]}])


class CrashOnBoom(SubprocessRunner):
    async def run(self, spec: ProcessSpec, on_output: OutputSink | None = None) -> ProcessResult:
        if "boom" in spec.argv[-1]:
            raise RuntimeError("runner exploded")
        return await super().run(spec, on_output)


async def test_a_crashing_step_does_not_take_down_the_run(tmp_path: Path) -> None:
    engine = Engine(FAST, runner=CrashOnBoom())
    steps = [{"kind": "runCli", "cmd": "echo boom"}, {"kind": "runCli", "cmd": "echo fine"}]
    result = await run(tmp_path, engine=engine, steps=steps)
    assert [r.status for r in result.results] == ["failed", "succeeded"]
    assert "runner exploded" in result.results[0].stderr


async def test_parallelism_is_capped_by_max_parallel(tmp_path: Path) -> None:
    cmd = "echo start >> log; sleep 0.3; echo end >> log"
    steps = [{"kind": "runCli", "cmd": cmd} for _ in range(4)]
    await run(tmp_path, steps=steps, maxParallel=2)
    lines = (tmp_path / "log").read_text().split()
    depth = peak = 0
    for line in lines:
        depth += 1 if line == "start" else -1
        peak = max(peak, depth)
    assert peak == 2


def test_engine_never_imports_the_editor_protocol() -> None:
    engine_dir = Path(__file__).resolve().parents[2] / "engine"
    for path in engine_dir.rglob("*.py"):
        text = path.read_text()
        assert "import pygls" not in text and "from pygls" not in text, path
        assert "lsprotocol" not in text, path


async def test_empty_explicit_steps_are_invalid_params(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="steps"):
        RunGoalParams.model_validate({"steps": []})


async def test_free_text_through_the_engine_with_a_model_on_loopback(tmp_path: Path) -> None:
    from tests.engine.plan.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI() as fake:
        fake.script(Reply.plan([{"kind": "runCli", "cmd": "echo planned by the model"}]))
        config = FAST.merged(planner="openai", model="m1", base_url=fake.base_url, api_key="sk-k")
        engine = Engine(config)
        result = await run(tmp_path, engine=engine, goal="say something nice")
        assert result.planner == "openai:m1" and result.stdout == "planned by the model\n"
        by_id = await run(tmp_path, engine=engine, goal="swe.analyze")  # ids stay offline
        assert by_id.planner == "stub" and len(fake.requests) == 1
        assert (await engine.health(check_model=False)).model_configured is True


async def test_an_unwritable_workspace_is_the_callers_error() -> None:
    expected = r"workspace: cannot write traces in /proc/\.agent/runs"
    with pytest.raises(WorkspaceError, match=expected):
        Engine(FAST).start(RunGoalParams(goal="swe.analyze"), workspace=Path("/proc"))


def test_a_missing_trace_names_the_run(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="runId: no trace of run 'nope'"):
        Engine(FAST).read_trace(tmp_path, "nope")
