"""The whole pipeline, real processes and files: plan -> gate -> execute -> verify -> trace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from engine.config import EngineConfig
from engine.errors import InvalidPlan, ModelNotConfigured, UnknownGoal
from engine.events import (
    ApprovalOutcome,
    ApprovalRequest,
    Event,
    OutputDelta,
    PlanReady,
    RunFinished,
    RunStarted,
    StepUpdated,
)
from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.gate.base import Verdict
from engine.models import Risk, RunCliStep, RunGoalParams, RunResult, WriteFileStep
from engine.records import TraceRecord
from engine.run import Engine
from engine.trace import read_trace
from tests.engine.procs import alive, read_pids, wait_for_file

FAST = EngineConfig(kill_grace_ms=200, approval_timeout_ms=300)


async def run(
    ws: Path,
    engine: Engine | None = None,
    listener: Callable[[Event], None] | None = None,
    **params: Any,
) -> RunResult:
    engine = engine or Engine(FAST)
    handle = engine.start(RunGoalParams.model_validate(params), workspace=ws, listener=listener)
    result = await handle.result()
    trace_types(ws, result)
    return result


RECORD = TypeAdapter(TraceRecord)


def records(ws: Path, result: RunResult, type_: str) -> list[dict[str, Any]]:
    """The run's trace records of one type."""
    return [r for r in read_trace(ws / result.trace).records if r["type"] == type_]


def trace_types(ws: Path, result: RunResult) -> list[str]:
    """The record types of a run's trace, after checking the chain and every record's schema."""
    report = read_trace(ws / result.trace)
    assert report.verified and report.complete, report.problems
    for record in report.records:
        RECORD.validate_python(record)  # the records are exactly what engine.records documents
    return [r["type"] for r in report.records]


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


async def test_timeout_kills_the_whole_process_tree(tmp_path: Path) -> None:
    cmd = "sh -c 'sleep 300 & echo $! >> pids; sleep 300 & echo $! >> pids; wait'"
    result = await run(tmp_path, steps=[{"kind": "runCli", "cmd": cmd, "timeoutMs": 500}])
    step = result.results[0]
    assert step.status == "timedOut" and step.exit_code is None
    assert 400 <= step.duration_ms < 10_000
    pids = read_pids(tmp_path / "pids")
    assert len(pids) == 2 and not alive(pids)


async def test_cancel_mid_run_leaves_no_process_and_a_complete_trace(tmp_path: Path) -> None:
    engine = Engine(FAST)
    running = asyncio.Event()

    def listener(event: Event) -> None:
        if isinstance(event, StepUpdated) and event.step.status == "running":
            running.set()

    steps = [
        {"id": "long", "kind": "runCli", "cmd": "sleep 300 & echo $! > pids; wait"},
        {"id": "later", "kind": "runCli", "cmd": "echo later", "after": ["long"]},
    ]
    handle = engine.start(RunGoalParams(steps=steps), workspace=tmp_path, listener=listener)  # type: ignore[arg-type]
    await asyncio.wait_for(running.wait(), 10)
    await wait_for_file(tmp_path / "pids")
    assert engine.cancel(handle.run_id) is True
    assert handle.cancel() is True  # idempotent while it winds down
    result = await handle.result()
    assert result.status == "cancelled" and result.bits.t == 0.0
    assert [r.status for r in result.results] == ["cancelled", "cancelled"]
    assert not alive(read_pids(tmp_path / "pids"))
    assert engine.cancel(handle.run_id) is False and engine.get(handle.run_id) is None
    records = read_trace(tmp_path / result.trace).records
    assert records[-1]["type"] == "run.finished" and records[-1]["status"] == "cancelled"


async def test_cancel_before_the_run_starts(tmp_path: Path) -> None:
    engine = Engine(FAST)
    handle = engine.start(RunGoalParams(goal="swe.analyze"), workspace=tmp_path)
    assert handle.cancel() is True
    result = await handle.result()
    assert result.status == "cancelled" and result.results == []
    assert trace_types(tmp_path, result) == ["run.started", "run.finished"]


async def test_a_cancelled_caller_cancels_the_run_too(tmp_path: Path) -> None:
    engine = Engine(FAST)
    handle = engine.start(
        RunGoalParams(steps=[{"kind": "runCli", "cmd": "sleep 300 & echo $! > pids; wait"}]),  # type: ignore[list-item]
        workspace=tmp_path,
    )
    waiter = asyncio.create_task(handle.result())
    await wait_for_file(tmp_path / "pids")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert handle.done and not alive(read_pids(tmp_path / "pids"))
    records = read_trace(tmp_path / f".agent/runs/{handle.run_id}.jsonl").records
    assert records[-1]["status"] == "cancelled"


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


ASK_STEP = {"id": "rm", "kind": "runCli", "cmd": "rm -f ./nonexistent-file"}


@pytest.mark.parametrize(
    ("approval", "status", "approved_by"),
    [("allow", "succeeded", "run"), ("reject", "rejected", None), ("prompt", "rejected", None)],
)
async def test_approval_modes_without_a_callback(
    tmp_path: Path, approval: str, status: str, approved_by: str | None
) -> None:
    result = await run(tmp_path, steps=[ASK_STEP], approval=approval)
    step = result.results[0]
    assert step.decision == "ask" and step.status == status and step.approved_by == approved_by


async def test_approval_callback_allow_deny_and_timeout(tmp_path: Path) -> None:
    asked: list[ApprovalRequest] = []

    async def ask(request: ApprovalRequest) -> ApprovalOutcome:
        asked.append(request)
        if request.step.id == "yes":
            return ApprovalOutcome(True, "user", option_id="allow_once")
        if request.step.id == "no":
            return ApprovalOutcome(False, "user", option_id="reject_once")
        await asyncio.sleep(60)  # never answers: the engine's approval timeout rejects it
        raise AssertionError("unreachable")

    steps = [{**ASK_STEP, "id": name} for name in ("yes", "no", "slow")]
    engine = Engine(FAST)
    handle = engine.start(RunGoalParams(steps=steps), workspace=tmp_path, ask=ask)  # type: ignore[arg-type]
    result = await handle.result()
    trace_types(tmp_path, result)
    by_id = {r.id: r for r in result.results}
    assert (by_id["yes"].status, by_id["yes"].approved_by) == ("succeeded", "user")
    assert by_id["no"].status == "rejected" and by_id["slow"].status == "rejected"
    assert {r.step.status for r in asked} == {"awaitingApproval"}
    resolved = {
        r["stepId"]: (r["allowed"], r["by"], r["optionId"])
        for r in records(tmp_path, result, "approval.resolved")
    }
    assert resolved == {
        "yes": (True, "user", "allow_once"),
        "no": (False, "user", "reject_once"),
        "slow": (False, "timeout", None),
    }


async def test_denied_steps_never_run_and_block_dependents(tmp_path: Path) -> None:
    steps = [
        {"id": "nuke", "kind": "runCli", "cmd": "rm -rf /"},
        {"id": "after", "kind": "runCli", "cmd": "echo after", "after": ["nuke"]},
        {"id": "escape", "kind": "writeFile", "path": "../outside.txt", "content": "x"},
    ]
    result = await run(tmp_path, steps=steps, approval="allow")  # allow never overrides deny
    assert [r.status for r in result.results] == ["denied", "skipped", "denied"]
    assert result.results[0].risk.level == "critical" and result.results[0].risk.reasons
    assert not (tmp_path.parent / "outside.txt").exists()


async def test_dry_run_plans_and_gates_but_executes_nothing(tmp_path: Path) -> None:
    result = await run(tmp_path, goal="demo.test", dryRun=True)
    assert result.status == "planned" and result.bits.t == 0.0
    assert [r.status for r in result.results] == ["planned"]
    assert result.results[0].decision == "allow" and not (tmp_path / "out").exists()
    assert "step.started" not in trace_types(tmp_path, result)


async def test_secrets_never_reach_steps_or_the_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-3f9a8b7c6d5e")
    key = "sk-proj-abcdefghijklmnop0123456789"
    engine = Engine(FAST.merged(api_key=key))
    steps = [
        {"kind": "runCli", "cmd": 'echo "env=[$MY_SERVICE_TOKEN]"'},
        {"kind": "runCli", "cmd": f"echo leaked tok-3f9a8b7c6d5e {key}"},
    ]
    result = await run(tmp_path, engine=engine, steps=steps)
    assert result.results[0].stdout == "env=[]\n"
    text = (tmp_path / result.trace).read_text()
    for secret in ("tok-3f9a8b7c6d5e", key):
        assert secret not in text and secret not in result.stdout
    assert "[REDACTED]" in result.results[1].stdout


async def test_unknown_goal_and_free_text_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal, match=r"known goals: .*swe\.analyze"):
        await run(tmp_path, goal="swe.nope")
    with pytest.raises(ModelNotConfigured, match=r"agent\.planner"):
        await run(tmp_path, goal="please refactor the parser")
    traces = sorted((tmp_path / ".agent" / "runs").glob("*.jsonl"))
    last = read_trace(traces[-1]).records[-1]
    assert last["type"] == "run.finished" and last["status"] == "failed" and last["error"]


async def test_invalid_explicit_plan_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidPlan, match="unknown step id 'ghost'"):
        await run(tmp_path, steps=[{"kind": "runCli", "cmd": "true", "after": ["ghost"]}])


async def test_output_flood_is_capped_and_spilled(tmp_path: Path) -> None:
    engine = Engine(FAST.merged(output_cap_bytes=4096))
    result = await run(
        tmp_path,
        engine=engine,
        steps=[{"kind": "runCli", "cmd": "head -c 20000000 /dev/zero | tr '\\0' a"}],
    )
    step = result.results[0]
    assert step.status == "succeeded" and step.truncated and len(step.stdout) == 4096
    finished = records(tmp_path, result, "step.finished")
    spill = tmp_path / finished[0]["spilled"]["stdout"]
    assert spill.stat().st_size == 20_000_000


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


class AllowAll:
    def assess(self, step: RunCliStep | WriteFileStep, workspace: Path) -> Verdict:
        return Verdict(Risk(level="low"), "allow")


async def test_the_writer_refuses_escapes_even_when_the_gate_allows(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(outside)
    engine = Engine(FAST, gate=AllowAll())
    result = await run(
        ws, engine=engine, steps=[{"kind": "writeFile", "path": "link/x", "content": "x"}]
    )
    assert result.results[0].status == "failed" and "refused" in result.results[0].stderr
    assert list(outside.iterdir()) == []


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


async def test_two_runs_at_once_cancelling_one_leaves_the_other(tmp_path: Path) -> None:
    engine = Engine(FAST)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    slow = engine.start(RunGoalParams(steps=[{"kind": "runCli", "cmd": "sleep 300"}]), workspace=a)  # type: ignore[list-item]
    quick = engine.start(
        RunGoalParams(steps=[{"kind": "runCli", "cmd": "sleep 0.3; echo done"}]),  # type: ignore[list-item]
        workspace=b,
    )
    await asyncio.sleep(0.1)
    slow.cancel()
    assert (await slow.result()).status == "cancelled"
    assert (await quick.result()).stdout == "done\n"


def test_engine_never_imports_the_editor_protocol() -> None:
    engine_dir = Path(__file__).resolve().parents[2] / "engine"
    for path in engine_dir.rglob("*.py"):
        text = path.read_text()
        assert "import pygls" not in text and "from pygls" not in text, path
        assert "lsprotocol" not in text, path


async def test_a_cancelled_step_keeps_what_it_printed(tmp_path: Path) -> None:
    engine = Engine(FAST)
    printed = asyncio.Event()

    def listener(event: Event) -> None:
        if isinstance(event, OutputDelta) and event.stream == "stderr":
            printed.set()

    cmd = "echo partial-output; echo err-out >&2; sleep 300"
    handle = engine.start(
        RunGoalParams(steps=[{"kind": "runCli", "cmd": cmd}]),  # type: ignore[list-item]
        workspace=tmp_path,
        listener=listener,
    )
    await asyncio.wait_for(printed.wait(), 10)
    handle.cancel()
    result = await handle.result()
    step = result.results[0]
    assert step.status == "cancelled"
    assert (step.stdout, step.stderr) == ("partial-output\n", "err-out\n")
    assert result.stdout == "partial-output\n"
    finished = records(tmp_path, result, "step.finished")
    assert finished[0]["step"]["stdout"] == "partial-output\n"


async def test_every_approval_outcome_is_in_the_trace(tmp_path: Path) -> None:
    result = await run(tmp_path, steps=[ASK_STEP], approval="allow")
    resolved = records(tmp_path, result, "approval.resolved")
    assert [(r["allowed"], r["by"]) for r in resolved] == [(True, "run")]


async def test_empty_explicit_steps_are_invalid_params(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="steps"):
        RunGoalParams.model_validate({"steps": []})


async def test_spilled_output_is_redacted_and_capped(tmp_path: Path) -> None:
    key = "sk-proj-abcdefghijklmnop0123456789"
    engine = Engine(FAST.merged(api_key=key, output_cap_bytes=1024, spill_cap_bytes=100_000))
    cmd = f"i=0; while [ $i -lt 5000 ]; do echo line $i {key}; i=$((i+1)); done"
    result = await run(tmp_path, engine=engine, steps=[{"kind": "runCli", "cmd": cmd}])
    finished = records(tmp_path, result, "step.finished")
    assert finished[0]["spillTruncated"] is True
    spill = (tmp_path / finished[0]["spilled"]["stdout"]).read_text()
    assert key not in spill and "[REDACTED]" in spill and len(spill) <= 100_000


async def test_free_text_through_the_engine_with_a_model_on_loopback(tmp_path: Path) -> None:
    from tests.engine.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI() as fake:
        fake.script(Reply.plan([{"kind": "runCli", "cmd": "echo planned by the model"}]))
        config = FAST.merged(planner="openai", model="m1", base_url=fake.base_url, api_key="sk-k")
        engine = Engine(config)
        result = await run(tmp_path, engine=engine, goal="say something nice")
        assert result.planner == "openai:m1" and result.stdout == "planned by the model\n"
        by_id = await run(tmp_path, engine=engine, goal="swe.analyze")  # ids stay offline
        assert by_id.planner == "stub" and len(fake.requests) == 1
        assert engine.health()["modelConfigured"] is True
