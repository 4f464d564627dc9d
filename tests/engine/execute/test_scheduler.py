"""The DAG scheduler: order, parallelism, skips, and cancellation that waits for cleanup."""

from __future__ import annotations

import asyncio

import pytest

from engine.execute.scheduler import run_dag


async def test_independent_steps_run_together_and_dependents_wait() -> None:
    log: list[str] = []
    running = 0
    peak = 0

    async def run(step: str) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        log.append(f"start {step}")
        await asyncio.sleep(0.05)
        log.append(f"end {step}")
        running -= 1
        return True

    after = {"c": ["a", "b"], "d": ["c"]}
    outcome = await run_dag(["a", "b", "c", "d"], after, run, lambda s, f: None)
    assert outcome == {"a": True, "b": True, "c": True, "d": True}
    assert peak == 2
    assert log.index("start c") > max(log.index("end a"), log.index("end b"))
    assert log.index("start d") > log.index("end c")


async def test_a_failed_dependency_skips_the_whole_chain_but_not_siblings() -> None:
    skipped: dict[str, list[str]] = {}
    ran: list[str] = []

    async def run(step: str) -> bool:
        ran.append(step)
        return step != "a"

    after = {"b": ["a"], "c": ["b"], "d": []}
    outcome = await run_dag(
        ["a", "b", "c", "d"], after, run, lambda s, f: skipped.__setitem__(s, f)
    )
    assert ran == ["a", "d"]
    assert skipped == {"b": ["a"], "c": ["b"]}
    assert outcome == {"a": False, "b": False, "c": False, "d": True}


async def test_cancellation_waits_for_every_steps_cleanup() -> None:
    cleaned: list[str] = []

    async def run(step: str) -> bool:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # cleanup that itself awaits, like killing a process group
            cleaned.append(step)
        return True

    task = asyncio.create_task(run_dag(["a", "b", "c"], {"c": ["a"]}, run, lambda s, f: None))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.sleep(0.01)
    task.cancel()  # a second cancel must not cut the cleanup short
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == ["a", "b"]
