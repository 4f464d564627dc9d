"""A step's process group: signal it, and tell when no live member is left."""

from __future__ import annotations

import asyncio
import os
import signal
import time

_REAP_WAIT_S = 2.0  # how long to wait for the group to vanish after SIGKILL
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.05


async def kill_group(pgid: int, grace_s: float) -> bool:
    """SIGTERM the group, SIGKILL it after ``grace_s``; return once no live member is left.
    True when the group still had members (alive or zombie) to signal."""
    if not signal_group(pgid, signal.SIGTERM):
        return False
    if not await _group_gone(pgid, grace_s) and signal_group(pgid, signal.SIGKILL):
        await _group_gone(pgid, _REAP_WAIT_S)
    return True


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no live process is in it any more."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):  # EPERM: only setuid members are left
        return False
    return True


async def _group_gone(pgid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    pause = _POLL_FIRST_S
    while True:
        if not group_alive(pgid):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, _POLL_MAX_S)


def group_alive(pgid: int) -> bool:
    """True while a member of the group still runs; zombies (dead, awaiting init) do not count."""
    if not signal_group(pgid, 0):
        return False
    try:
        entries = os.scandir("/proc")
    except OSError:
        return True  # no /proc: trust killpg
    with entries:
        for entry in entries:
            if entry.name.isdigit() and _live_member(entry.name, pgid):
                return True
    return False


def _live_member(pid: str, pgid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # Fields after the ")" closing the command name: state, ppid, pgrp, ...
    fields = stat[stat.rfind(b")") + 2 :].split(b" ", 3)
    return len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X")
