"""The scheduler: runs a plan as a DAG, every step as soon as the steps it comes ``after`` succeed.

Concurrency limits live in the step runner (so a step waiting for approval holds no slot); the
scheduler only orders. A step whose dependency did not succeed is skipped, never run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

RunStep = Callable[[str], Awaitable[bool]]
"""Runs one step; True when it succeeded. Must not raise (except CancelledError)."""

SkipStep = Callable[[str, list[str]], None]
"""Records that a step was skipped because the listed dependencies did not succeed."""


async def run_dag(
    order: Sequence[str],
    after: Mapping[str, Sequence[str]],
    run_step: RunStep,
    skip_step: SkipStep,
) -> dict[str, bool]:
    """Run every step of ``order``; returns each step's success.

    If this coroutine is cancelled, every step task is cancelled and awaited (their cleanup kills
    processes) before CancelledError propagates, however many times cancellation arrives.
    """
    if not order:
        return {}
    loop = asyncio.get_running_loop()
    outcome: dict[str, asyncio.Future[bool]] = {step: loop.create_future() for step in order}

    async def one(step: str) -> None:
        succeeded = False
        try:
            deps = after.get(step, ())
            if deps:
                # shield: a cancelled waiter must not cancel the shared outcome future
                results = [await asyncio.shield(outcome[dep]) for dep in deps]
                failed = [dep for dep, ok in zip(deps, results, strict=True) if not ok]
                if failed:
                    skip_step(step, failed)
                    return
            succeeded = await run_step(step)
        finally:
            if not outcome[step].done():
                outcome[step].set_result(succeeded)

    tasks = [asyncio.create_task(one(step), name=f"step {step}") for step in order]
    try:
        # wait(), not gather(): a repeated cancel must reach the steps once, not cut their cleanup
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await _settle(tasks)
        raise
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]  # a broken run_step is a bug: surface it
    return {step: fut.result() for step, fut in outcome.items()}


async def _settle(tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every task has finished, even if we are cancelled again meanwhile."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            continue
    for task in tasks:  # retrieve exceptions so none is logged as "never retrieved"
        if not task.cancelled():
            task.exception()
