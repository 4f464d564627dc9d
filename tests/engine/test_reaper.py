"""Processes that leave their step's process group (setsid) are still killed with the step."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.engine.procs import alive, read_pids, wait_for_file
from tests.engine.test_runner import run


async def test_a_setsid_escapee_dies_with_its_step(tmp_path: Path) -> None:
    """A process that moved to a session of its own (setsid) is caught through the subreaper."""
    cmd = "setsid sleep 300 & echo $! > pids; sleep 0.2"
    result = await run(tmp_path, cmd)
    assert result.exit_code == 0
    assert not alive(read_pids(tmp_path / "pids"))


async def test_a_setsid_escapee_dies_when_the_step_times_out(tmp_path: Path) -> None:
    cmd = "setsid sh -c 'sleep 300 & echo $! >> pids; sleep 300' & echo $! >> pids; wait"
    result = await run(tmp_path, cmd, timeout_s=0.5)
    assert result.timed_out
    pids = read_pids(tmp_path / "pids")
    assert len(pids) == 2 and not alive(pids)


async def test_escapees_of_other_steps_are_left_to_their_own_step(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    slow = asyncio.create_task(
        run(tmp_path / "b", "setsid sleep 300 & echo $! > pids; sleep 1", timeout_s=30)
    )
    await wait_for_file(tmp_path / "b" / "pids")
    await run(tmp_path / "a", "true")  # ends first: must not touch b's escapee
    assert alive(read_pids(tmp_path / "b" / "pids"), settle_s=0)
    await slow
    assert not alive(read_pids(tmp_path / "b" / "pids"))
