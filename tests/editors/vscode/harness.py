"""Build the VS Code extension, serve it from code-server on loopback, and run the Node drivers.

Everything runs with temp XDG dirs, a temp user-data-dir and a temp extensions dir: never the
user's own configuration. Whatever is started is killed by its process group (we start each in a
new session, so its group id is its pid) when the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.editors.requirements import require

ROOT = Path(__file__).resolve().parents[3]
EXTENSION = ROOT / "editors" / "vscode"
ARTIFACTS = ROOT / "test-artifacts" / "vscode"
AGENTD = Path(sys.executable).parent / "agentd"  # this checkout's venv: the server under test
CODE_SERVER = Path(
    os.environ.get("AGENTD_CODE_SERVER", "/root/.cache/agentd/code-server-4.100.3")
).expanduser()
CHROMIUM = Path(os.environ.get("AGENTD_CHROMIUM", "/usr/bin/chromium"))
LISTENING = re.compile(r"HTTP server listening on http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT_S = 60.0  # bounds for a hung start, not speed assertions
STOP_GRACE_S = 10.0


def require_node() -> None:
    require(
        shutil.which("node") is not None and shutil.which("npm") is not None,
        "node and npm (Node 20) are needed to build the VS Code extension",
    )


def require_code_server() -> None:
    require_node()
    require(
        (CODE_SERVER / "out" / "node" / "entry.js").is_file(),
        f"code-server 4.100.3 is not installed at {CODE_SERVER} "
        f"(bash .ci/install-code-server.sh {CODE_SERVER}, or set AGENTD_CODE_SERVER)",
    )
    require(CHROMIUM.is_file(), f"no chromium at {CHROMIUM} (apt-get install chromium)")


def run_checked(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a build or test command; fail the test with its output when it fails."""
    proc = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    command = " ".join(argv)
    assert proc.returncode == 0, f"{command} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    return proc


def build_extension() -> None:
    """`npm ci` when node_modules is missing or older than the lock file, then `npm run build`."""
    installed = EXTENSION / "node_modules" / ".package-lock.json"
    lock = EXTENSION / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        run_checked(["npm", "ci", "--no-audit", "--no-fund"], EXTENSION, timeout=600)
    run_checked(["npm", "run", "build"], EXTENSION, timeout=300)


def temp_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with every XDG dir (and HOME) under `home`."""
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = home / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def kill_group(proc: subprocess.Popen[Any], grace: float = STOP_GRACE_S) -> None:
    """TERM, then KILL, the process group we started with `proc` (its pid is the group id)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their leader
    proc.wait()


@dataclass
class CodeServer:
    port: int
    log: Path

    def url(self, workspace: Path, tests: Path | None = None) -> str:
        """The workbench on `workspace`, the extension loaded from its folder (and its tests)."""
        remote = f"vscode-remote://127.0.0.1:{self.port}"
        payload = [["extensionDevelopmentPath", f"{remote}{EXTENSION}"]]
        if tests is not None:
            payload.append(["extensionTestsPath", f"{remote}{tests}"])
        return (
            f"http://127.0.0.1:{self.port}/?folder={quote(str(workspace))}"
            f"&payload={quote(json.dumps(payload))}"
        )


USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "security.workspace.trust.enabled": False,
}


@contextmanager
def code_server(
    home: Path, workspace: Path, env: Mapping[str, str] | None = None
) -> Iterator[CodeServer]:
    """code-server on a free loopback port, its user settings pointing agentd at this checkout."""
    user_data = home / "user-data"
    for scope in ("User", "Machine"):
        (user_data / scope).mkdir(parents=True, exist_ok=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(USER_SETTINGS, indent=2))
    # The server's command line is machine-specific: in a remote window (code-server is one) it
    # belongs in the remote's settings, which are also where the extension host writes settings.
    machine = {"agentd.server.command": [str(AGENTD), "serve"]}
    (user_data / "Machine" / "settings.json").write_text(json.dumps(machine, indent=2))
    log = home / "code-server.log"
    argv = [
        "node",
        str(CODE_SERVER / "out" / "node" / "entry.js"),
        "--bind-addr=127.0.0.1:0",
        "--auth=none",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        f"--extensions-dir={home / 'extensions'}",
        f"--user-data-dir={user_data}",
        str(workspace),
    ]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv,
            env=temp_env(home, env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield CodeServer(port=_listening_port(proc, log), log=log)
    finally:
        kill_group(proc)


def _listening_port(proc: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = LISTENING.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"code-server did not start:\n{log.read_text(errors='replace')}")


def run_node(
    script: Path, args: list[str], home: Path, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a Node driver in its own process group; kill the group (Chromium included) afterwards."""
    proc = subprocess.Popen(
        ["node", str(script), *args],
        cwd=EXTENSION,
        env=temp_env(home, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = "", f"{script.name} did not end within {timeout} s"
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
