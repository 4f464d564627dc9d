"""SubprocessRunner: one step's process, its output captured up to a cap, its whole group killed.

Built on ``loop.subprocess_exec`` with a small protocol rather than ``create_subprocess_exec``:
``Process.wait()`` also waits for the pipes to close, so a background child holding them
(``sleep 300 & echo hi``) would hide the leader's exit; the protocol hears ``process_exited``
directly, and it saves two reader tasks and two StreamReaders per step.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVarTuple

from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.models import Stream

log = logging.getLogger(__name__)

_DRAIN_AFTER_EXIT_S = 0.5  # how long to read what is left in the pipes once the group is dead
_REAP_WAIT_S = 2.0  # how long to wait for the group to vanish after SIGKILL
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.05
_SPILL_DIR_MODE = 0o700
_SPILL_FILE_MODE = 0o600  # output may hold secrets


class SubprocessRunner:
    """Runs ``spec.argv`` in its own session with stdin from /dev/null (see ``ProcessRunner``).

    - ``exit_code`` is the leader's exit status, or None when it died by a signal (a negative
      returncode: our timeout/cancel kill, or any other signal) -- a signal is not an exit code.
    - When the leader exits, whatever is left of its process group is killed (TERM, then KILL
      after ``kill_grace_s``): background children never outlive the step, and the remaining
      output is drained for at most a short bounded time.
    - Each stream keeps at most ``output_cap`` bytes in memory; past it the full stream is
      spilled to ``spill_dir/<spill_name>.<stream>`` while reading continues.
    - Raises OSError when the process cannot be started (missing cwd, fd exhaustion).
    - Processes that leave the group on purpose (``setsid``) escape it; only a sandbox
      (a PID namespace) can catch those.
    """

    async def run(self, spec: ProcessSpec, on_output: OutputSink | None = None) -> ProcessResult:
        use_pidfd_child_watcher()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        out = _Capture("stdout", spec, on_output)
        err = _Capture("stderr", spec, on_output)
        spawn = asyncio.ensure_future(
            loop.subprocess_exec(
                lambda: _StepProtocol(out, err),
                *spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=spec.cwd,
                env=spec.env,
                start_new_session=True,
            )
        )
        try:
            # shielded: the child runs before the pipes are connected; a cancel landing here
            # must still kill its whole group, not only the leader (asyncio's own cleanup)
            transport, proto = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            await _kill_spawned(spawn, spec.kill_grace_s)
            raise
        pgid = transport.get_pid()  # start_new_session: the leader's pid is the group id
        timed_out = False
        finished = False
        try:
            try:
                async with asyncio.timeout(spec.timeout_s):
                    await proto.exited.wait()
            except TimeoutError:
                timed_out = True
            await _finish(transport, proto, pgid, spec.kill_grace_s)
            finished = True
        finally:
            if not finished:
                await _finish_despite_cancellation(transport, proto, pgid, spec.kill_grace_s)
            out.close()
            err.close()
        returncode = transport.get_returncode()
        spilled = {c.stream: c.spill_path for c in (out, err) if c.spilled}
        return ProcessResult(
            exit_code=returncode if returncode is not None and returncode >= 0 else None,
            stdout=out.text(),
            stderr=err.text(),
            truncated=out.truncated or err.truncated,
            timed_out=timed_out,
            duration_ms=round((time.monotonic() - started) * 1000),
            spilled=spilled,
        )


class _StepProtocol(asyncio.SubprocessProtocol):
    def __init__(self, out: _Capture, err: _Capture) -> None:
        self._captures = {1: out, 2: err}
        self._open_pipes = {1, 2}
        self.exited = asyncio.Event()
        self.pipes_closed = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        self._captures[fd].feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open_pipes.discard(fd)
        if not self._open_pipes:
            self.pipes_closed.set()

    def process_exited(self) -> None:
        self.exited.set()


class _Capture:
    """One stream: the first ``cap`` bytes decoded in memory, everything spilled once past it."""

    def __init__(self, stream: Stream, spec: ProcessSpec, on_output: OutputSink | None) -> None:
        self.stream: Stream = stream
        self.cap = spec.output_cap
        self.on_output = on_output
        self.spill_dir = spec.spill_dir
        self.spill_path = spec.spill_dir / f"{spec.spill_name}.{stream}"
        self.size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._kept = bytearray()  # raw prefix, written first when the spill starts
        self._parts: list[str] = []
        self._spill_fd: int | None = None
        self._spill_failed = False

    @property
    def truncated(self) -> bool:
        return self.size > self.cap

    @property
    def spilled(self) -> bool:
        return self.truncated and not self._spill_failed

    def feed(self, data: bytes | bytearray) -> None:
        room = self.cap - self.size
        self.size += len(data)
        if room > 0:
            head = data if len(data) <= room else data[:room]
            self._kept += head
            text = self._decoder.decode(head)
            if text:
                self._parts.append(text)
                self._emit(text)
        if self.size > self.cap and not self._spill_failed:
            self._spill(memoryview(data)[max(room, 0) :])

    def text(self) -> str:
        if not self.truncated:  # a cut capture drops a half char instead of showing U+FFFD
            tail = self._decoder.decode(b"", final=True)
            if tail:
                self._parts.append(tail)
        return "".join(self._parts)

    def close(self) -> None:
        if self._spill_fd is not None:
            os.close(self._spill_fd)
            self._spill_fd = None

    def _emit(self, text: str) -> None:
        if self.on_output is None:
            return
        try:
            self.on_output(self.stream, text)
        except Exception:  # a broken listener must not stop the draining
            log.exception("output listener failed; no more output is sent to it")
            self.on_output = None

    def _spill(self, rest: memoryview) -> None:
        try:
            if self._spill_fd is None:
                self._spill_fd = _open_spill(self.spill_dir, self.spill_path.name)
                _write_all(self._spill_fd, memoryview(self._kept))
                self._kept = bytearray()
            _write_all(self._spill_fd, rest)
        except OSError:
            log.exception("cannot spill %s to %s; discarding the rest", self.stream, self.spill_dir)
            self._spill_failed = True
            self._kept = bytearray()
            self.close()


def _open_spill(spill_dir: Path, name: str) -> int:
    spill_dir.mkdir(mode=_SPILL_DIR_MODE, parents=True, exist_ok=True)
    # No symlink in the last two places: the step itself may have planted one there.
    dir_fd = os.open(spill_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            return os.open(name, flags, _SPILL_FILE_MODE, dir_fd=dir_fd)
        except FileExistsError:
            os.unlink(name, dir_fd=dir_fd)
            return os.open(name, flags, _SPILL_FILE_MODE, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


async def _finish(
    transport: asyncio.SubprocessTransport, proto: _StepProtocol, pgid: int, grace_s: float
) -> None:
    """Kill what is left of the group, drain the pipes briefly, reap the leader, close fds."""
    try:
        await _kill_group(pgid, grace_s)
        await _wait_event(proto.pipes_closed, _DRAIN_AFTER_EXIT_S)
        await _wait_event(proto.exited, _REAP_WAIT_S)
    finally:
        transport.close()  # closes the pipes; the child watcher still reaps a late leader


async def _finish_despite_cancellation(
    transport: asyncio.SubprocessTransport, proto: _StepProtocol, pgid: int, grace_s: float
) -> None:
    """Run ``_finish`` to the end even if the awaiting task is cancelled again meanwhile."""
    cleanup = asyncio.ensure_future(_finish(transport, proto, pgid, grace_s))
    while not cleanup.done():
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            continue  # the group must die first; the original exception still propagates
    if not cleanup.cancelled() and cleanup.exception() is not None:
        log.error("cleanup of process group %d failed", pgid, exc_info=cleanup.exception())


async def _kill_spawned(
    spawn: asyncio.Future[tuple[asyncio.SubprocessTransport, _StepProtocol]], grace_s: float
) -> None:
    """Cancelled mid-spawn: let the spawn finish, then kill the group it started."""
    while not spawn.done():
        try:
            await asyncio.wait({spawn})
        except asyncio.CancelledError:
            continue
    if spawn.cancelled() or spawn.exception() is not None:
        return
    transport, proto = spawn.result()
    await _finish_despite_cancellation(transport, proto, transport.get_pid(), grace_s)


async def _kill_group(pgid: int, grace_s: float) -> None:
    """SIGTERM the group, SIGKILL it after ``grace_s``; return once no live member is left."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    if await _group_gone(pgid, grace_s):
        return
    if _signal_group(pgid, signal.SIGKILL):
        await _group_gone(pgid, _REAP_WAIT_S)


def _signal_group(pgid: int, sig: int) -> bool:
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
        if not _group_alive(pgid):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, _POLL_MAX_S)


def _group_alive(pgid: int) -> bool:
    """True while a member of the group still runs; zombies (dead, awaiting init) do not count."""
    if not _signal_group(pgid, 0):
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


async def _wait_event(event: asyncio.Event, within_s: float) -> bool:
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(within_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


# --- Python 3.11: pidfd child watcher -------------------------------------------------------

_watcher_policy: object | None = None  # the policy whose watcher was already looked at
_watcher_lock = threading.Lock()


def use_pidfd_child_watcher() -> None:
    """On Python 3.11, replace the thread-per-child watcher by pidfd watchers (one per loop).

    Cheap after the first call. Does nothing on 3.12+ (pidfd is the default there), without
    pidfd support (Linux < 5.3), for other event loop policies, or when someone chose a watcher.
    """
    global _watcher_policy
    if sys.version_info >= (3, 12):
        return
    policy = asyncio.get_event_loop_policy()
    if policy is _watcher_policy:
        return
    with _watcher_lock:
        if policy is not _watcher_policy and type(policy) is asyncio.DefaultEventLoopPolicy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                current = policy.get_child_watcher()
                if type(current) is asyncio.ThreadedChildWatcher and _pidfd_works():
                    # ThreadedChildWatcher.close() leaves its in-flight (daemon) threads running.
                    policy.set_child_watcher(_PidfdWatcherPerLoop())
        _watcher_policy = policy


def _pidfd_works() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


if sys.version_info < (3, 12):
    _Ts = TypeVarTuple("_Ts")

    class _PidfdWatcherPerLoop(asyncio.AbstractChildWatcher):
        """One ``PidfdChildWatcher`` per running loop.

        The policy holds a single watcher, but a ``PidfdChildWatcher`` serves one loop, and the
        policy re-attaches it only for main-thread loops: a loop in another thread (or a loop
        closed by an earlier ``asyncio.run``) would get "watcher is not activated" or its
        children watched by a foreign loop. Keying by the running loop avoids both.
        """

        def __init__(self) -> None:
            self._by_loop: dict[asyncio.AbstractEventLoop, asyncio.PidfdChildWatcher] = {}
            self._lock = threading.Lock()

        def _for_running_loop(self) -> asyncio.PidfdChildWatcher:
            loop = asyncio.get_running_loop()
            with self._lock:
                watcher = self._by_loop.get(loop)
                if watcher is None:
                    self._forget_closed_loops()
                    watcher = asyncio.PidfdChildWatcher()
                    watcher.attach_loop(loop)
                    self._by_loop[loop] = watcher
                return watcher

        def _forget_closed_loops(self) -> None:
            for loop in [loop for loop in self._by_loop if loop.is_closed()]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # "pending handlers"
                    self._by_loop.pop(loop).close()  # closes its pidfds

        def add_child_handler(
            self, pid: int, callback: Callable[[int, int, *_Ts], object], *args: *_Ts
        ) -> None:
            self._for_running_loop().add_child_handler(pid, callback, *args)

        def remove_child_handler(self, pid: int) -> bool:
            with self._lock:
                watchers = list(self._by_loop.values())
            return any(w.remove_child_handler(pid) for w in watchers)

        def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            pass  # each running loop gets its own watcher on first use

        def close(self) -> None:
            with self._lock:
                watchers = list(self._by_loop.values())
                self._by_loop.clear()
            for watcher in watchers:
                watcher.close()

        def is_active(self) -> bool:
            return True  # subprocesses are only started from a running loop

        def __enter__(self) -> _PidfdWatcherPerLoop:
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass
