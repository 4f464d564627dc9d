"""Running the `agentd` CLI as a user does: `agentd` in a pipe, on a pseudo-terminal, or in tmux."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "100"}
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
WAIT_S = 60.0  # generous: a loaded machine is slow, and a test waits for events, not times


def agentd(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it: stdin not a terminal, stdout a pipe."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", *args],
        cwd=cwd,
        env=env or ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


def run_json(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    """`agentd run ARGS --json`: the exit code and the RunResult."""
    done = agentd("run", *args, "--json", cwd=cwd)
    return done.returncode, json.loads(done.stdout)


def wait_until(ready: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll for a condition a test cannot be told about (a file written by another process)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def trace_records(workspace: Path) -> list[dict[str, Any]]:
    """The records of the workspace's only trace so far ([] before it exists)."""
    traces = list((workspace / ".agent" / "runs").glob("*.jsonl"))
    if not traces:
        return []
    lines = traces[0].read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


class Terminal:
    """The CLI on a real 120x40 pseudo-terminal: type into it and read what it shows."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: size the terminal, then become the CLI
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.chdir(cwd)
            argv = [sys.executable, "-m", "server.cli.main", *args]
            os.execve(sys.executable, argv, (env or ENV) | {"TERM": "xterm-256color"})
        self.raw = b""
        self.closed = False

    @property
    def screen(self) -> str:
        """Everything shown so far, without escape codes."""
        return ANSI.sub("", self.raw.decode(errors="replace"))

    def _read(self, timeout: float) -> None:
        if self.closed or not select.select([self.fd], [], [], timeout)[0]:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the terminal's other side closed
            data = b""
        if not data:
            self.closed = True
        self.raw += data

    def expect(self, text: str, *, after: int = 0, timeout: float = WAIT_S) -> int:
        """Wait until ``text`` shows (at or after offset ``after`` of the screen); its offset."""
        deadline = time.monotonic() + timeout
        while (at := self.screen.find(text, after)) < 0:
            assert not self.closed, f"the CLI ended before showing {text!r}:\n{self.screen}"
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{self.screen}"
            self._read(0.1)
        return at

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait(self, timeout: float = WAIT_S) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._read(0.1)
        if not self.closed:
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def run_in_pty(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the CLI on a terminal without typing anything: the exit code and the screen."""
    term = Terminal(args, cwd)
    code = term.wait()
    return code, term.screen


# --- tmux: a real terminal emulator, for captures and shell completion -----------------------

HAVE_TMUX = shutil.which("tmux") is not None


class Tmux:
    """One tmux server of our own (a private socket) with one 120x40 window; only it is killed."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"agentd-test-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd
        self.env = env

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux(
            "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40",
            "-c", str(self.cwd), command,
        )  # fmt: skip
        self.tmux("set-option", "-g", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "0", *keys)

    def capture(self, *, escapes: bool = False) -> str:
        # -J: a line the terminal wrapped comes back whole
        return self.tmux("capture-pane", "-p", "-J", "-t", "0", *(["-e"] if escapes else []))

    def expect(self, text: str, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while text not in (shown := self.capture()):
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{shown}"
            time.sleep(0.1)
        return shown

    def expect_gone(self, text: str, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while text in (shown := self.capture()):
            assert time.monotonic() < deadline, f"{text!r} never went away:\n{shown}"
            time.sleep(0.1)

    def kill(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.tmux("kill-server")


@contextlib.contextmanager
def tmux_session(cwd: Path, command: str, env: dict[str, str]) -> Iterator[Tmux]:
    session = Tmux(cwd, env)
    session.start(command)
    try:
        yield session
    finally:
        session.kill()
