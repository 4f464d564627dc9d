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
import time
from pathlib import Path

from engine.aio import to_the_end
from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.execute.reaper import TOKEN_VAR, become_subreaper, leader, new_token, reap_step
from engine.execute.watcher import use_pidfd_child_watcher
from engine.models import Stream
from engine.secrets import StreamRedactor

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
      spilled to ``spill_dir/<spill_name>.<stream>`` (through ``spec.redact`` when set, and
      up to ``spill_cap`` bytes: ``spill_truncated`` tells) while reading continues.
    - Raises OSError when the process cannot be started (missing cwd, fd exhaustion).
    - Processes that leave the group (``setsid``) are killed too when the step ends: see
      ``engine.execute.reaper`` (and its limits, which only a sandbox closes).
    """

    async def run(self, spec: ProcessSpec, on_output: OutputSink | None = None) -> ProcessResult:
        use_pidfd_child_watcher()
        become_subreaper()
        token = new_token()
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
                env={**spec.env, TOKEN_VAR: token},
                start_new_session=True,
            )
        )
        try:
            # shielded: the child runs before the pipes are connected; a cancel landing here
            # must still kill its whole group, not only the leader (asyncio's own cleanup)
            transport, proto = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            await _kill_spawned(spawn, spec.kill_grace_s, token)
            raise
        pgid = transport.get_pid()  # start_new_session: the leader's pid is the group id
        timed_out = False
        finished = False
        with leader(pgid):
            try:
                try:
                    async with asyncio.timeout(spec.timeout_s):
                        await proto.exited.wait()
                except TimeoutError:
                    timed_out = True
                await _finish(transport, proto, pgid, spec.kill_grace_s, token, timed_out)
                finished = True
            finally:
                if not finished:
                    await _finish_despite_cancellation(
                        transport, proto, pgid, spec.kill_grace_s, token
                    )
                out.close()
                err.close()
        returncode = transport.get_returncode()
        spilled = {c.stream: c.spill.path for c in (out, err) if c.spilled}
        return ProcessResult(
            exit_code=returncode if returncode is not None and returncode >= 0 else None,
            stdout=out.text(),
            stderr=err.text(),
            truncated=out.truncated or err.truncated,
            timed_out=timed_out,
            duration_ms=round((time.monotonic() - started) * 1000),
            spilled=spilled,
            spill_truncated=out.spill.cut or err.spill.cut,
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
        self.spill = _Spill(stream, spec)
        self.size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._kept = bytearray()  # raw prefix, written first when the spill starts
        self._parts: list[str] = []

    @property
    def truncated(self) -> bool:
        return self.size > self.cap

    @property
    def spilled(self) -> bool:
        return self.truncated and not self.spill.failed

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
        if self.size > self.cap:
            if self._kept:
                self.spill.write(self._kept)
                self._kept = bytearray()
            self.spill.write(memoryview(data)[max(room, 0) :])

    def text(self) -> str:
        if not self.truncated:  # a cut capture drops a half char instead of showing U+FFFD
            tail = self._decoder.decode(b"", final=True)
            if tail:
                self._parts.append(tail)
        return "".join(self._parts)

    def close(self) -> None:
        self.spill.close()

    def _emit(self, text: str) -> None:
        if self.on_output is None:
            return
        try:
            self.on_output(self.stream, text)
        except Exception:  # a broken listener must not stop the draining
            log.exception("output listener failed; no more output is sent to it")
            self.on_output = None


class _Spill:
    """A stream's spill file: its whole output, redacted when asked, cut at ``spill_cap`` bytes.

    Past the cap, or after a failure, the output is dropped (the caller keeps draining).
    """

    def __init__(self, stream: Stream, spec: ProcessSpec) -> None:
        self.path = spec.spill_dir / f"{spec.spill_name}.{stream}"
        self.cap = spec.spill_cap
        self.written = 0
        self.cut = False  # output was dropped at the cap
        self.failed = False
        self._redactor = None if spec.redact is None else StreamRedactor(spec.redact)
        self._fd: int | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.failed or self.cut:
            return
        try:
            if self._fd is None:
                self._fd = _open_spill(self.path.parent, self.path.name)
            self._put(self._fd, data if self._redactor is None else self._redactor.feed(data))
        except Exception:  # OSError, or a redaction bug: never write unredacted output
            self._fail()

    def close(self) -> None:
        if self._redactor is not None and self._fd is not None and not (self.failed or self.cut):
            try:
                self._put(self._fd, self._redactor.flush())
            except Exception:
                self._fail()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _put(self, fd: int, data: bytes | bytearray | memoryview) -> None:
        room = self.cap - self.written
        if len(data) > room:
            data, self.cut = data[:room], True
        _write_all(fd, memoryview(data))
        self.written += len(data)

    def _fail(self) -> None:
        log.exception("cannot spill to %s; discarding the rest", self.path)
        self.failed = True
        self._redactor = None
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
    transport: asyncio.SubprocessTransport,
    proto: _StepProtocol,
    pgid: int,
    grace_s: float,
    token: str,
    stopped: bool,
) -> None:
    """Kill what is left of the group (and, if the step was stopped or left processes behind,
    what escaped it), drain the pipes briefly, reap the leader, close fds."""
    try:
        if await _kill_group(pgid, grace_s) or stopped:
            await reap_step(token, pgid)
        await _wait_event(proto.pipes_closed, _DRAIN_AFTER_EXIT_S)
        await _wait_event(proto.exited, _REAP_WAIT_S)
    finally:
        transport.close()  # closes the pipes; the child watcher still reaps a late leader


async def _finish_despite_cancellation(
    transport: asyncio.SubprocessTransport,
    proto: _StepProtocol,
    pgid: int,
    grace_s: float,
    token: str,
) -> None:
    """Run ``_finish`` to the end even if the awaiting task is cancelled again meanwhile: the
    group must die first; the original exception still propagates."""
    try:
        await to_the_end(_finish(transport, proto, pgid, grace_s, token, True))
    except Exception:
        log.exception("cleanup of process group %d failed", pgid)


async def _kill_spawned(
    spawn: asyncio.Future[tuple[asyncio.SubprocessTransport, _StepProtocol]],
    grace_s: float,
    token: str,
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
    with leader(transport.get_pid()):
        await _finish_despite_cancellation(transport, proto, transport.get_pid(), grace_s, token)


async def _kill_group(pgid: int, grace_s: float) -> bool:
    """SIGTERM the group, SIGKILL it after ``grace_s``; return once no live member is left.
    True when the group still had members (alive or zombie) to signal."""
    if not _signal_group(pgid, signal.SIGTERM):
        return False
    if not await _group_gone(pgid, grace_s) and _signal_group(pgid, signal.SIGKILL):
        await _group_gone(pgid, _REAP_WAIT_S)
    return True


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
