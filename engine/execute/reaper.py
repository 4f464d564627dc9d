"""Processes that leave their step's process group (``setsid``, daemonizing tools) die with it too.

Killing a step's process group misses a descendant that moved to a session of its own. So the
engine's process becomes a child subreaper (Linux ``prctl``): such a descendant, once orphaned, is
re-parented to us instead of to init. Every step's environment carries a unique token and its
run's id. When a step times out or is cancelled, or still had processes in its group when its
leader exited, every adopted process carrying its token is killed and reaped at once; when a run
ends, every adopted process carrying the run's id is (so a step that ended normally costs nothing).

Limits (a sandbox with a PID namespace closes them): a process that scrubs its environment is not
recognised; one that has already exited cannot be told apart, so its zombie is reaped only when the
host declared that every stray child is ours (``claim_strays``, the server does).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)

TOKEN_VAR = "AGENTD_STEP_TOKEN"  # set by the runner, unique per step
RUN_VAR = "AGENTD_RUN_ID"  # set by the engine in every step of a run
_PR_SET_CHILD_SUBREAPER = 36
_REAP_WAIT_S = 2.0
_MAX_ROUNDS = 8  # an escaped process may have spawned more; each round catches a generation

_subreaper: bool | None = None
_claim_strays = False
_leaders: set[int] = set()  # step leaders alive now: our own children, not adopted ones


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (once; False if unsupported)."""
    global _subreaper
    if _subreaper is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
        if not _subreaper:
            log.warning("cannot become a child subreaper: setsid'd step processes may survive")
    return _subreaper


def claim_strays() -> None:
    """Declare that every child of this process that is not a running step leader is an orphan
    we adopted, so exited ones may be reaped (only for hosts that spawn nothing else)."""
    global _claim_strays
    _claim_strays = True


def new_token() -> str:
    return secrets.token_hex(8)


@contextlib.contextmanager
def leader(pid: int) -> Iterator[None]:
    """While the block runs, ``pid`` is a step leader, not an adopted orphan."""
    _leaders.add(pid)
    try:
        yield
    finally:
        _leaders.discard(pid)


async def reap_step(token: str, pgid: int) -> int:
    """After the step's group ``pgid`` was killed: reap its members we adopted, and kill and reap
    every adopted process that carries ``token`` but left the group. Returns how many escaped."""
    return await _reap_marked(f"{TOKEN_VAR}={token}".encode(), {pgid})


async def reap_run(run_id: str) -> int:
    """At the end of a run: kill and reap every adopted process of any of its steps."""
    return await _reap_marked(f"{RUN_VAR}={run_id}".encode(), set())


async def _reap_marked(marker: bytes, groups: set[int]) -> int:
    if not _subreaper:
        return 0
    groups = set(groups)  # the step's group, then the groups of those that escaped it
    escaped = 0
    for _ in range(_MAX_ROUNDS):
        ours: list[int] = []
        for pid in _adopted_children():
            state, group = _stat(pid)
            if state is None:
                continue
            if group in groups:
                ours.append(pid)
            elif state == "Z":
                if _claim_strays:
                    _reap_now(pid)
            elif _carries(pid, marker):
                groups.add(group)
                ours.append(pid)
                escaped += 1
        if not ours:
            break
        for pid in ours:
            _kill_tree(pid)
        for pid in ours:
            await _reap(pid)
    if escaped:
        log.info("killed %d process(es) that left their step's process group", escaped)
    return escaped


def _adopted_children() -> list[int]:
    """Our children that are not running step leaders (orphans re-parented to us)."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as f:
            return [pid for pid in map(int, f.read().split()) if pid not in _leaders]
    except OSError:
        return []


def _stat(pid: int) -> tuple[str | None, int]:
    """A process's state letter and process group, (None, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None, 0
    return fields[0].decode(), int(fields[2])


def _carries(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


def _kill_tree(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _reap_now(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


async def _reap(pid: int) -> None:
    deadline = time.monotonic() + _REAP_WAIT_S
    while not _reap_now(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - no event to wait on
        await asyncio.sleep(0.005)
