"""Processes of runs, seen from the host: what tests check so that no process of a run survives.

A sandboxed step runs in a PID namespace of its own, so the pids it could print (``$$``, ``$!``)
mean nothing outside it. Every process of a run carries ``AGENTD_RUN_ID`` in its environment
(sandboxed or not), and the host can read it: that is how these helpers find them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


def run_processes(run_id: str) -> list[int]:
    """The live (not zombie) processes that belong to run ``run_id``."""
    marker = f"AGENTD_RUN_ID={run_id}".encode()
    found = []
    for name in Path("/proc").iterdir():
        if not name.name.isdigit():
            continue
        try:
            if marker in (name / "environ").read_bytes().split(b"\0") and _running(int(name.name)):
                found.append(int(name.name))
        except OSError:
            continue
    return found


def read_pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def living(pids: list[int]) -> list[int]:
    """The pids still running; zombies count as gone."""
    return [pid for pid in pids if _running(pid)]


def alive(pids: list[int], settle_s: float = 2.0) -> list[int]:
    """The pids still running after up to ``settle_s`` of grace."""
    deadline = time.monotonic() + settle_s
    while True:
        still = living(pids)
        if not still or time.monotonic() > deadline:
            return still
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


def processes_running(*argv: str) -> list[int]:
    """The live processes whose command line is exactly ``argv`` (e.g. a ``sleep`` with a
    duration no other test uses): found from the host, sandboxed or not."""
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for name in Path("/proc").iterdir():
        if name.name.isdigit():
            try:
                if (name / "cmdline").read_bytes() == wanted and _running(int(name.name)):
                    found.append(int(name.name))
            except OSError:
                continue
    return found


def gone(*argv: str, settle_s: float = 10.0) -> bool:
    """True once no live process runs ``argv``; waits up to ``settle_s`` (a sandbox's namespace
    is torn down by the kernel moments after its step ends)."""
    deadline = time.monotonic() + settle_s
    while processes_running(*argv):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
