"""Asyncio helpers the stages share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

OFF_LOOP_STEPS = 200  # larger plans are validated and gated in a thread: other requests go on


async def to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the awaiting task is cancelled meanwhile, however often:
    cleanup (killing process groups, reaping) must finish. The caller's own CancelledError, if
    any, is for the caller to re-raise; ``work``'s result or exception comes back as usual."""
    task = asyncio.ensure_future(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue
    return task.result()


def cancelled_meanwhile() -> bool:
    """The running task was cancelled while it awaited something to the end (which swallows
    the cancel): the caller raises it again."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def off_loop_if_large(size: int, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(*args, **kwargs)`` on the loop, or in a thread for a plan of over OFF_LOOP_STEPS
    steps (so that one big plan never stalls other requests or sessions)."""
    if size > OFF_LOOP_STEPS:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)
