"""Runs that stop early: timeouts, cancellation on every path, and no process left behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.events import Event, OutputDelta, StepUpdated
from engine.models import RunGoalParams
from engine.trace import read_trace
from tests.engine.runs import FAST, records, run, trace_types
from tests.procs import alive, read_pids, wait_for_file


async def test_timeout_kills_the_whole_process_tree(tmp_path: Path) -> None:
    cmd = "sh -c 'sleep 300 & echo $! >> pids; sleep 300 & echo $! >> pids; wait'"
    result = await run(tmp_path, steps=[{"kind": "runCli", "cmd": cmd, "timeoutMs": 500}])
    step = result.results[0]
    assert step.status == "timedOut" and step.exit_code is None
    assert records(tmp_path, result, "step.finished")[0]["timeoutMs"] == 500  # the limit it hit
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


async def test_two_runs_at_once_cancelling_one_leaves_the_other(tmp_path: Path) -> None:
    engine = Engine(FAST)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    slow = engine.start(RunGoalParams(steps=[{"kind": "runCli", "cmd": "sleep 300"}]), workspace=a)  # type: ignore[list-item]
    quick = engine.start(
        RunGoalParams(steps=[{"kind": "runCli", "cmd": "sleep 0.3; echo done"}]),  # type: ignore[list-item]
        workspace=b,
    )
    await asyncio.sleep(0.1)
    slow.cancel()
    assert (await slow.result()).status == "cancelled"
    assert (await quick.result()).stdout == "done\n"


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
