"""Asyncio helpers the stages share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


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
