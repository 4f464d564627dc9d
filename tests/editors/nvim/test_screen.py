"""A run as a person sees it: Neovim in a real terminal (tmux), `:AgentRun` typed, the screen
captured while a step still runs (progress, streamed output) and at the end (the summary line).
The capture is kept in test-artifacts/nvim/; docs/images/nvim-run.txt is the copy the plugin's
README shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.editors.nvim.editor import (
    NVIMS,
    PLUGIN,
    ROOT,
    SERVER,
    Goals,
    cmdline,
    descendants,
    wait_gone,
    write_goals,
    xdg_env,
)
from tests.editors.requirements import require

ARTIFACTS = ROOT / "test-artifacts" / "nvim"
SHOWN = ROOT / "docs" / "images" / "nvim-run.txt"
INIT = """vim.opt.rtp:prepend(vim.env.AGENTD_TEST_PLUGIN)
require('agentd').setup({ cmd = { vim.env.AGENTD_TEST_SERVER, 'serve' }, open_output = true })
"""
GOALS: Goals = {
    "check": [
        {"id": "lint", "run": "echo 'lint: 12 files clean'"},
        {"id": "test", "run": "echo 'test_parse PASSED'; until [ -e go ]; do sleep 0.05; done"},
        {"id": "report", "write": "out/report.txt", "content": "ok\n", "after": ["lint", "test"]},
    ]
}
APP = """import sys


def main() -> int:
    print("hello")
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""
PROGRESS = "agentd check: 1/3: lint succeeded (33%)"
SUMMARY = "agentd check: succeeded: 3/3 steps succeeded, trust 0.9"


class Tmux:
    """A tmux server of our own (private socket), ended with kill-server."""

    def __init__(self, name: str) -> None:
        self.argv = ["tmux", "-L", name, "-f", "/dev/null"]

    def __call__(self, *args: str) -> str:
        done = subprocess.run([*self.argv, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "run")

    def wait_for(self, *texts: str) -> str:
        """Polls the screen until all `texts` show at once (a terminal sends no event we could
        await); returns that screen."""
        deadline = time.monotonic() + 60
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            assert time.monotonic() < deadline, f"{texts!r} never showed:\n{screen}"
            time.sleep(0.05)


def test_a_run_as_a_person_sees_it(nvim_version: str, tmp_path: Path) -> None:
    require(shutil.which("tmux") is not None, "tmux is missing: apt-get install -y tmux")
    home = tmp_path / "home"
    workspace = home / "project"  # shown as ~/project
    (workspace / ".agent").mkdir(parents=True)
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text(APP)
    write_goals(workspace, GOALS)
    init = tmp_path / "init.lua"
    init.write_text(INIT)
    env = {
        **xdg_env(home),
        "AGENTD_TEST_PLUGIN": str(PLUGIN),
        "AGENTD_TEST_SERVER": str(SERVER),
        "TERM": "xterm-256color",
    }
    command = ["env", *(f"{k}={v}" for k, v in env.items())]
    command += [str(NVIMS[nvim_version]), "-n", "-i", "NONE", "-u", str(init), "src/app.py"]
    tmux = Tmux(f"agentd-nvim-{os.getpid()}-{nvim_version}")
    tmux("new-session", "-d", "-s", "run", "-x", "100", "-y", "26", "-c", str(workspace))
    tmux("respawn-pane", "-k", "-t", "run", *command)  # Neovim itself is the pane's process
    try:
        nvim_pid = int(tmux("display-message", "-p", "-t", "run", "#{pane_pid}"))
        tmux.wait_for("def main")  # Neovim shows the file
        tmux("send-keys", "-t", "run", ":AgentRun check", "Enter")
        running = tmux.wait_for(PROGRESS, "| test_parse PASSED")
        (workspace / "go").touch()
        finished = tmux.wait_for(SUMMARY, "result: succeeded   trust 0.9")
        servers = [pid for pid in descendants(nvim_pid) if "agentd" in cmdline(pid)]
        assert servers, "no agentd server under Neovim"
    finally:
        tmux("kill-server")
    assert wait_gone(nvim_pid)
    for pid in servers:
        assert wait_gone(pid), f"the server {pid} outlived Neovim"

    assert re.search(r"^test +running +echo 'test_parse PASSED'", running, re.M), running
    assert re.search(r"^lint +succeeded +echo 'lint: 12 files clean'", finished, re.M)
    capture = (
        f"Neovim {nvim_version}, while the run goes:\n\n{running.rstrip()}\n\n"
        f"and when it has ended:\n\n{finished.rstrip()}\n"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"run-{nvim_version}.txt").write_text(capture)


def test_the_readme_shows_the_committed_capture() -> None:
    shown = SHOWN.read_text()
    assert PROGRESS in shown and SUMMARY in shown
    readme = (PLUGIN / "README.md").read_text()
    assert f"```text\n{shown}```" in readme
