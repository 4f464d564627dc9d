"""Running the `agentd` CLI as a user does: `agentd` in a pipe or on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


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


def run_in_pty(
    args: list[str], cwd: Path, answer: tuple[bytes, bytes] | None = None
) -> tuple[int, str]:
    """Run the CLI on a 120x40 terminal; type ``answer[1]`` once ``answer[0]`` is shown.
    Returns the exit code and the screen's text without escape codes."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal, then become the CLI
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(cwd)
        argv = [sys.executable, "-m", "server.cli.main", *args]
        os.execve(sys.executable, argv, ENV | {"TERM": "xterm-256color"})
    output, deadline = b"", time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            output += data
            if answer is not None and answer[0] in output:
                os.write(fd, answer[1])
                answer = None
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode(errors="replace")
    return os.waitstatus_to_exitcode(status), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
