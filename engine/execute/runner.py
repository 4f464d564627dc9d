"""SubprocessRunner: one step's process, its output captured up to a cap, its whole group killed.

Lean on purpose (the engine's overhead per step is benchmarked against ``xargs -P``): a sandboxed
process is spawned with ``os.posix_spawn`` (bwrap changes directory itself), an unsandboxed one
with ``subprocess.Popen`` (vfork, cwd), both in a new session; its pipes are read as raw
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
from pathlib import Path

from engine.aio import to_the_end
from engine.execute import landlock
from engine.execute.capture import Capture
from engine.execute.groups import kill_group
from engine.execute.process import OutputSink, ProcessResult, ProcessSpec
from engine.execute.reaper import TOKEN_VAR, become_subreaper, leader, new_token, reap_step
from engine.execute.sandbox import Limits, bwrap_argv, support

log = logging.getLogger(__name__)

_DRAIN_AFTER_EXIT_S = 0.5  # how long to read what is left in the pipes once the group is dead
_REAP_WAIT_S = 2.0  # how long to wait for the leader's exit after SIGKILL
_READ_CHUNK = 1 << 16


_TOKEN_KEY = TOKEN_VAR.encode()
NO_LIMITS = Limits(0, 0, 0)


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
        support()  # probed before we adopt orphans: the trial sandbox's must not become ours
        become_subreaper()
        token = new_token()
        started = time.monotonic()
        out = Capture("stdout", spec, on_output)
        err = Capture("stderr", spec, on_output)
        # Synchronous (well under a millisecond): no await between the child's start and its
        # watch, so a cancel can never leave an unwatched group behind.
        process = _spawn(spec, {**self._encoded(spec.env), _TOKEN_KEY: token.encode()})
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


def _spawn(spec: ProcessSpec, env: dict[bytes, bytes]) -> _Child:
    """Start ``spec.argv`` in a new session, stdin from /dev/null, stdout and stderr piped; in
    its sandbox when it has one. Raises OSError when it cannot start."""
    found = support()
    argv, plan, limits = list(spec.argv), spec.sandbox, spec.limits or NO_LIMITS
    if plan is not None and plan.kind == "bwrap" and found.bwrap is not None:
        inside = [*limits.argv(), *argv]  # prlimit in the sandbox: bwrap's own setup is free
        return _Child.spawned(bwrap_argv(found.bwrap, plan, inside), env)  # bwrap does the chdir
    if plan is not None and plan.kind == "landlock":
        writable = [plan.workspace, plan.scratch, Path("/dev")]
        fd = landlock.ruleset(writable, network="network" in plan.widenings)
        try:
            enforcer = landlock.Enforcer(fd, limits.pairs())
            return _Child.popen(argv, env, spec.cwd, enforcer)
        finally:
            os.close(fd)  # the child has put itself under it before exec
    child = _Child.popen(argv, env, spec.cwd, None)
    limits.apply(child.pid)  # the shell is only starting: its commands inherit them
    return child


class _Child:
    """A started process: its pid, its output pipes (raw descriptors, owned here), its reaping."""

    def __init__(
        self, pid: int, stdout: int, stderr: int, popen: subprocess.Popen[bytes] | None = None
    ) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self._popen = popen
        self.returncode: int | None = None

    @classmethod
    def popen(
        cls,
        argv: list[str],
        env: dict[bytes, bytes],
        cwd: Path,
        preexec: Callable[[], None] | None,
    ) -> _Child:
        """vfork + exec with a working directory (fork + exec when a preexec_fn is needed)."""
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=preexec,
        )
        assert process.stdout is not None and process.stderr is not None
        out, err = os.dup(process.stdout.fileno()), os.dup(process.stderr.fileno())
        process.stdout.close()  # the raw descriptors are ours from here
        process.stderr.close()
        return cls(process.pid, out, err, process)

    @classmethod
    def spawned(cls, argv: list[str], env: dict[bytes, bytes]) -> _Child:
        """posix_spawn: cheaper than Popen when no working directory is needed."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pid = os.posix_spawn(
                argv[0],
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, null, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, err_w, 2),
                ],
                setsid=True,
            )
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            for fd in (out_w, err_w, null):
                os.close(fd)
        return cls(pid, out_r, err_r)

    def reap(self) -> None:
        """Collect the exit status of a child that has exited."""
        if self._popen is not None:
            self.returncode = self._popen.wait()
        else:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])


class _Watch:
    """The child's pipes and exit, watched by the event loop on raw descriptors."""

    def __init__(self, child: _Child, out: Capture, err: Capture) -> None:
        self._loop = asyncio.get_running_loop()
        self._child = child
        self.exited = asyncio.Event()
        self.pipes_closed = asyncio.Event()
        self._pipes: dict[int, Callable[[bytes], None]] = {}
        for fd, capture in ((child.stdout, out), (child.stderr, err)):
            os.set_blocking(fd, False)
            self._pipes[fd] = capture.feed
            self._loop.add_reader(fd, self._readable, fd)
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(child.pid)
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
        os.close(fd)
        if not self._pipes:
            self.pipes_closed.set()

    def _on_exit(self) -> None:
        assert self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        self._child.reap()  # it has exited: this only collects its status
        self.exited.set()

    def _wait_in_thread(self) -> None:
        self._child.reap()
        self._loop.call_soon_threadsafe(self.exited.set)

    def close(self) -> None:
        """Stop watching; close the pipes and the pidfd (a leader not yet reaped is reaped by
        the reaper's stray claim or by Popen's own bookkeeping)."""
        for fd in list(self._pipes):
            self._close_pipe(fd)
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
