"""Helpers for checking that no process of a run survives."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


def read_pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()]


def alive(pids: list[int], settle_s: float = 2.0) -> list[int]:
    """The pids still running (zombies count as gone) after up to ``settle_s`` of grace."""
    deadline = time.monotonic() + settle_s
    while True:
        living = [pid for pid in pids if _running(pid)]
        if not living or time.monotonic() > deadline:
            return living
        time.sleep(0.02)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


async def wait_for_file(path: Path, timeout_s: float = 10.0) -> None:
    """Wait until a step has written something to ``path`` (a pid file, say)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists() or not path.read_text().strip():  # noqa: ASYNC240 - tiny file, tests only
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was never written")
        await asyncio.sleep(0.01)
