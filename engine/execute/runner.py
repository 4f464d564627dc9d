"""SubprocessRunner: one step's process, its output captured up to a cap, its whole group killed.

Lean on purpose (the engine's overhead per step is benchmarked against ``xargs -P``): the process
is spawned with ``subprocess.Popen`` (vfork, cwd, a new session), its pipes are read as raw
non-blocking descriptors with ``loop.add_reader``, and its exit is heard on a pidfd, so neither
asyncio's subprocess transports nor a child watcher (a thread per child on Python 3.11) sit on the
hot path. The leader's exit is heard directly: a background child still holding the pipes
(``sleep 300 & echo hi``) does not hide it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import time
from collections.abc import Callable, Mapping

from engine.aio import to_the_end
from engine.execute.capture import Capture
from engine.execute.groups import kill_group
from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.execute.reaper import TOKEN_VAR, become_subreaper, leader, new_token, reap_step

log = logging.getLogger(__name__)

_DRAIN_AFTER_EXIT_S = 0.5  # how long to read what is left in the pipes once the group is dead
_REAP_WAIT_S = 2.0  # how long to wait for the leader's exit after SIGKILL
_READ_CHUNK = 1 << 16


_TOKEN_KEY = TOKEN_VAR.encode()


class SubprocessRunner:
    """Runs ``spec.argv`` in its own session with stdin from /dev/null (see ``ProcessRunner``).

    - ``exit_code`` is the leader's exit status, or None when it died by a signal (our timeout or
      cancel kill, or any other signal): a signal is not an exit code.
    - When the leader exits, whatever is left of its process group is killed (TERM, then KILL
      after ``kill_grace_s``): background children never outlive the step, and the remaining
      output is drained for at most a short bounded time.
    - Each stream keeps at most ``output_cap`` bytes in memory; past it the full stream is
      spilled to ``spill_dir/<spill_name>.<stream>`` (through ``spec.redact`` when set, and up
      to ``spill_cap`` bytes: ``spill_truncated`` tells) while reading continues.
    - Raises OSError when the process cannot be started (missing cwd, fd exhaustion).
    - Processes that leave the group (``setsid``) are killed too when the step ends: see
      ``engine.execute.reaper`` (and its limits, which only a sandbox closes).
    """

    def __init__(self) -> None:
        self._env: tuple[Mapping[str, str], dict[bytes, bytes]] | None = None

    def _encoded(self, env: Mapping[str, str]) -> dict[bytes, bytes]:
        """``env`` as bytes, encoded once for all the steps of a run (they share one mapping):
        Popen would encode every variable again for every step."""
        if self._env is None or self._env[0] is not env:
            self._env = (env, {os.fsencode(k): os.fsencode(v) for k, v in env.items()})
        return self._env[1]

    async def run(self, spec: ProcessSpec, on_output: OutputSink | None = None) -> ProcessResult:
        become_subreaper()
        token = new_token()
        started = time.monotonic()
        out = Capture("stdout", spec, on_output)
        err = Capture("stderr", spec, on_output)
        # Synchronous (vfork + exec, well under a millisecond): no await between the child's
        # start and its watch, so a cancel can never leave an unwatched group behind.
        process = subprocess.Popen(  # noqa: ASYNC220 - see above: vfork, not a blocking wait
            spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=spec.cwd,
            env={**self._encoded(spec.env), _TOKEN_KEY: token.encode()},
            start_new_session=True,
        )
        pgid = process.pid  # a new session: the leader's pid is the group id
        timed_out = False
        with leader(pgid):
            watch = _Watch(process, out, err)
            finished = False
            try:
                try:
                    async with asyncio.timeout(spec.timeout_s):
                        await watch.exited.wait()
                except TimeoutError:
                    timed_out = True
                await _finish(watch, pgid, spec.kill_grace_s, token, stopped=timed_out)
                finished = True
            finally:
                if not finished:  # cancelled: the group must die before CancelledError goes on
                    try:
                        await to_the_end(_finish(watch, pgid, spec.kill_grace_s, token, True))
                    except Exception:
                        log.exception("cleanup of process group %d failed", pgid)
                out.close()
                err.close()
        returncode = process.returncode
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


class _Watch:
    """The child's pipes and exit, watched by the event loop on raw descriptors."""

    def __init__(self, process: subprocess.Popen[bytes], out: Capture, err: Capture) -> None:
        self._loop = asyncio.get_running_loop()
        self._process = process
        self.exited = asyncio.Event()
        self.pipes_closed = asyncio.Event()
        self._pipes: dict[int, Callable[[bytes], None]] = {}
        for pipe, capture in ((process.stdout, out), (process.stderr, err)):
            assert pipe is not None
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._pipes[fd] = capture.feed
            self._loop.add_reader(fd, self._readable, fd)
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # Linux < 5.3: a thread waits instead
            self._loop.run_in_executor(None, self._wait_in_thread)
        else:
            self._loop.add_reader(self._pidfd, self._on_exit)

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._pipes[fd](data)
        else:
            self._close_pipe(fd)

    def _close_pipe(self, fd: int) -> None:
        if self._pipes.pop(fd, None) is None:
            return
        self._loop.remove_reader(fd)
        if not self._pipes:
            self.pipes_closed.set()

    def _on_exit(self) -> None:
        assert self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        self._process.wait()  # it has exited: this only reaps it
        self.exited.set()

    def _wait_in_thread(self) -> None:
        self._process.wait()
        self._loop.call_soon_threadsafe(self.exited.set)

    def close(self) -> None:
        """Stop watching; close the pipes and the pidfd (a leader not yet reaped is reaped by
        the reaper's stray claim or by Popen's own bookkeeping)."""
        for fd in list(self._pipes):
            self._close_pipe(fd)
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()
        if self._pidfd is not None:
            if not self.exited.is_set():
                self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None


async def _finish(watch: _Watch, pgid: int, grace_s: float, token: str, stopped: bool) -> None:
    """Kill what is left of the group (and, if the step was stopped or left processes behind,
    what escaped it), drain the pipes briefly, reap the leader, close the descriptors."""
    try:
        if await kill_group(pgid, grace_s) or stopped:
            await reap_step(token, pgid)
        await _wait_event(watch.pipes_closed, _DRAIN_AFTER_EXIT_S)
        await _wait_event(watch.exited, _REAP_WAIT_S)
    finally:
        watch.close()


async def _wait_event(event: asyncio.Event, within_s: float) -> bool:
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(within_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
