"""SubprocessRunner with real processes: exit codes, timeouts, cancellation, cleanup (its capture,
caps and spills are in test_capture.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.execute.process import ProcessResult
from engine.execute.runner import SubprocessRunner
from engine.models import Stream
from tests.engine.execute.running import HANG_GUARD_S, run, spec


def live_members(pgid: int) -> list[int]:
    """Pids of running (not zombie) processes in process group ``pgid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(name))
    return found


def our_zombies() -> list[int]:
    """Our own children that were never reaped."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            found.append(int(name))
    return found


def pgid_from(result: ProcessResult) -> int:
    return int(result.stdout.split()[0])


async def test_exit_code_and_both_streams(tmp_path: Path) -> None:
    sink: list[tuple[Stream, str]] = []
    result = await run(tmp_path, "echo out; echo err >&2; exit 3", sink)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.truncated and not result.timed_out and result.spilled == {}
    assert sorted(sink) == [("stderr", "err\n"), ("stdout", "out\n")]
    assert result.duration_ms >= 0


async def test_success_cwd_and_env(tmp_path: Path) -> None:
    result = await run(tmp_path, 'pwd; echo "$GREETING"', env={"GREETING": "hi", "PATH": "/bin"})
    assert result.exit_code == 0
    assert result.stdout == f"{tmp_path}\nhi\n"


async def test_death_by_signal_has_no_exit_code(tmp_path: Path) -> None:
    result = await run(tmp_path, "kill -9 $$")
    assert result.exit_code is None and not result.timed_out


async def test_stdin_is_closed(tmp_path: Path) -> None:
    result = await run(tmp_path, "cat; read line; echo read=$?")
    assert result.exit_code == 0 and not result.timed_out
    assert result.stdout == "read=1\n"


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    result = await run(tmp_path, "echo $$; sleep 300 & sleep 300", timeout_s=0.5)
    assert result.timed_out and result.exit_code is None
    assert live_members(pgid_from(result)) == []


async def test_timeout_escalates_to_kill_when_term_is_ignored(tmp_path: Path) -> None:
    cmd = "trap '' TERM; echo $$; sleep 300 & sleep 300"
    result = await run(tmp_path, cmd, timeout_s=0.3, kill_grace_s=0.2)
    assert result.timed_out and result.exit_code is None
    assert live_members(pgid_from(result)) == []


async def test_background_child_is_killed_when_the_leader_exits(tmp_path: Path) -> None:
    result = await run(tmp_path, "echo $$; sleep 300 & echo hi")
    assert result.exit_code == 0 and not result.timed_out
    assert result.stdout.split()[1] == "hi"
    assert live_members(pgid_from(result)) == []


async def test_background_child_without_pipes_is_killed_too(tmp_path: Path) -> None:
    result = await run(tmp_path, "echo $$; sleep 300 >/dev/null 2>&1 &")
    assert result.exit_code == 0
    assert live_members(pgid_from(result)) == []


async def test_a_process_that_left_the_group_does_not_hold_the_step(tmp_path: Path) -> None:
    result = await run(tmp_path, "setsid sleep 300 & echo $!")  # escapes the group, keeps pipes
    escapee = int(result.stdout.split()[0])
    try:
        assert result.exit_code == 0 and not result.timed_out
    finally:  # the engine kills it when the run ends (test_reaper.py); the runner alone may not
        with contextlib.suppress(ProcessLookupError):
            os.kill(escapee, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # adopted by us (the subreaper): reap it
            os.waitpid(escapee, 0)  # noqa: ASYNC222 - SIGKILLed: returns at once


async def start_in_task(
    tmp_path: Path, cmd: str, **changes: Any
) -> tuple[asyncio.Task[ProcessResult], int]:
    """Start ``cmd`` (which must echo $$ first) in a task; return it and the process group id."""
    first_line: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_output(stream: Stream, text: str) -> None:
        if not first_line.done():
            first_line.set_result(text)

    task = asyncio.create_task(SubprocessRunner().run(spec(tmp_path, cmd, **changes), on_output))
    pgid = int((await asyncio.wait_for(first_line, HANG_GUARD_S)).split()[0])
    return task, pgid


async def test_cancellation_kills_the_group_and_propagates(tmp_path: Path) -> None:
    task, pgid = await start_in_task(tmp_path, "echo $$; sleep 300 & sleep 300")
    assert live_members(pgid) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live_members(pgid) == []


async def test_cleanup_survives_repeated_cancellation(tmp_path: Path) -> None:
    cmd = "trap '' TERM; echo $$; sleep 300 & sleep 300"  # needs the SIGKILL after the grace
    task, pgid = await start_in_task(tmp_path, cmd, kill_grace_s=0.5)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0.05)
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live_members(pgid) == []


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line holds ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if marker.encode() in f.read().split(b"\0") and not living_zombie(name):
                    found.append(int(name))
        except OSError:
            pass
    return found


def living_zombie(pid: str) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


async def test_a_cancel_at_the_first_chance_still_kills_the_whole_group(tmp_path: Path) -> None:
    """The spawn is synchronous, so the earliest cancel lands when the group is already watched:
    nothing of it may survive (a regression of the asyncio-transport runner)."""
    marker = f"{300 + os.getpid() % 1000}.{os.getpid()}"
    task = asyncio.create_task(
        SubprocessRunner().run(spec(tmp_path, f"sleep {marker} & sleep {marker}"))
    )
    await asyncio.sleep(0)  # the task runs up to its first await: spawned, now waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    survivors = processes_with(marker)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


async def test_a_failing_listener_does_not_break_the_run(tmp_path: Path) -> None:
    def broken(stream: Stream, text: str) -> None:
        raise RuntimeError("listener bug")

    runner = SubprocessRunner()
    result = await runner.run(spec(tmp_path, "seq 1 1000"), broken)
    assert result.exit_code == 0 and result.stdout.endswith("1000\n")


async def test_no_fd_leak_and_no_zombies(tmp_path: Path) -> None:
    await run(tmp_path, "true")
    before = len(os.listdir("/proc/self/fd"))
    for cmd in ["true", "echo x; exit 1", "sleep 300 & echo y", "seq 1 50000"] * 5:
        await run(tmp_path, cmd, output_cap=1000)
    await run(tmp_path, "sleep 300", timeout_s=0.1)
    await asyncio.sleep(0)
    assert len(os.listdir("/proc/self/fd")) == before
    assert our_zombies() == []


async def test_many_steps_in_parallel(tmp_path: Path) -> None:
    results = await asyncio.gather(*(run(tmp_path, f"echo {i}") for i in range(40)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(40)]


async def test_no_thread_per_child(tmp_path: Path) -> None:
    """Exits are heard on pidfds: Python 3.11's child watcher (a thread per child) is not used."""
    await run(tmp_path, "true")
    threads_before = threading.active_count()
    await asyncio.gather(*(run(tmp_path, "sleep 0.2") for _ in range(5)))
    assert threading.active_count() == threads_before


def test_runs_in_a_loop_of_another_thread(tmp_path: Path) -> None:
    results: list[ProcessResult] = []

    def in_thread() -> None:
        results.append(asyncio.run(run(tmp_path, "echo from-thread")))

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(HANG_GUARD_S)
    assert [r.stdout for r in results] == ["from-thread\n"]
    assert asyncio.run(run(tmp_path, "echo main")).stdout == "main\n"
