"""Processes that leave their step's process group (setsid) are still killed: at once when the
step is stopped, with their run at the latest."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.engine import Engine
from engine.models import RunGoalParams
from tests.engine.execute import running
from tests.engine.runs import FAST, run
from tests.procs import alive, read_pids, wait_for_file


def step(cmd: str) -> list[dict[str, str]]:
    return [{"kind": "runCli", "cmd": cmd}]


async def test_a_setsid_escapee_dies_with_its_run(tmp_path: Path) -> None:
    cmd = "setsid sleep 300 & echo $! > pids; sleep 0.2"
    result = await run(tmp_path, steps=step(cmd), approval="allow")  # the gate asks for setsid
    assert result.status == "succeeded"
    assert not alive(read_pids(tmp_path / "pids"))


async def test_a_setsid_escapee_dies_at_once_when_its_step_times_out(tmp_path: Path) -> None:
    cmd = "setsid sh -c 'sleep 300 & echo $! >> pids; sleep 300' & echo $! >> pids; wait"
    result = await running.run(tmp_path, cmd, timeout_s=0.5)  # the runner alone, no run end
    assert result.timed_out
    pids = read_pids(tmp_path / "pids")
    assert len(pids) == 2 and not alive(pids)


async def test_a_setsid_escapee_dies_when_its_run_is_cancelled(tmp_path: Path) -> None:
    engine = Engine(FAST)
    handle = engine.start(
        RunGoalParams.model_validate(
            {"steps": step("setsid sleep 300 & echo $! > pids; wait"), "approval": "allow"}
        ),
        workspace=tmp_path,
    )
    await wait_for_file(tmp_path / "pids")
    handle.cancel()
    assert (await handle.result()).status == "cancelled"
    assert not alive(read_pids(tmp_path / "pids"))


async def test_escapees_of_another_run_are_left_to_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    cmd = "setsid sleep 300 & echo $! > pids; sleep 1"
    slow = asyncio.create_task(run(b, steps=step(cmd), approval="allow"))
    await wait_for_file(b / "pids")
    await run(a, steps=step("true"))  # ends first: must not touch b's escapee
    assert alive(read_pids(b / "pids"), settle_s=0)
    await slow
    assert not alive(read_pids(b / "pids"))
