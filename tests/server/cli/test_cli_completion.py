"""`agentd completion SHELL` in real shells under tmux: Tab completes commands, flags, choices and
goal ids (the workspace's own too, also with --workspace), as a user's shell does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.cli.cli_helpers import BIN, ENV, HAVE_TMUX, agentd, tmux_session

SHELLS = {
    "bash": ("bash --norc --noprofile", "source <(agentd completion bash)"),
    "zsh": ("zsh -f", "autoload -U compinit && compinit -u && source <(agentd completion zsh)"),
    "fish": ("fish --no-config", "agentd completion fish | source"),
}


@pytest.mark.parametrize("shell", SHELLS)
def test_each_script_is_valid_for_its_shell(tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    done = agentd("completion", shell, cwd=tmp_path)
    assert done.returncode == 0 and "agentd" in done.stdout
    script = tmp_path / f"agentd.{shell}"
    script.write_text(done.stdout)
    checked = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr  # parsed only, nothing run


@pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed")
@pytest.mark.parametrize("shell", SHELLS)
def test_tab_completes_commands_flags_and_goal_ids(tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    project = tmp_path / "project"
    (project / ".agent").mkdir(parents=True)
    (project / ".agent" / "goals.toml").write_text(
        '[goals.mygoal]\ntitle = "Mine"\nsteps = [{ run = "true" }]\n'
    )
    (project / "sub").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = ENV | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}
    start, load = SHELLS[shell]
    with tmux_session(project / "sub", start, env) as term:
        term.keys(load, "Enter")
        term.keys("echo loaded", "Enter")
        term.expect("\nloaded")
        term.keys("clear", "Enter")  # the loading line names `completion zsh` too
        term.expect_gone("loaded")
        steps: list[tuple[str, str | None]] = [
            ("agentd tr", "agentd trace"),  # tmux trims the space after it
            ("agentd run swe.t", "agentd run swe.test"),
            ("agentd run --dr", "agentd run --dry-run"),
            ("agentd completion z", "agentd completion zsh"),
            ("agentd run myg", "agentd run mygoal"),  # found from project/sub
            (f"cd {home}", None),  # out of the project: only --workspace finds its goals
            (f"agentd run -w {project} myg", f"agentd run -w {project} mygoal"),
        ]
        for typed, completed in steps:
            if completed is None:
                term.keys(typed, "Enter")
                continue
            term.keys(typed, "Tab")
            term.expect(completed)
            term.keys("C-u")  # erase the line (in all three shells)
            term.expect_gone(completed)
