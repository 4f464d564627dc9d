"""Helpers for checking that no process of a run survives."""

from __future__ import annotations

import os
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
