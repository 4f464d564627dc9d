""":checkhealth agentd reports a working setup without ERROR; `:help agentd` and every tag of
doc/agentd.txt resolve after the README's plain-packages install; luacheck is clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from engine.execute.sandbox import in_effect
from tests.editors.nvim.editor import NVIMS, PLUGIN, ROOT, Editor, editor, xdg_env
from tests.editors.requirements import require

DOC = PLUGIN / "doc" / "agentd.txt"
README = PLUGIN / "README.md"


def sandbox_line() -> str:
    """What the health check must say of the default sandbox (auto) on this machine."""
    kind = in_effect("auto")
    return "auto requested, none in effect" if kind == "off" else f"{kind} (auto)"


def test_checkhealth_reports_the_server_without_error(nvim: Editor) -> None:
    nvim.command("checkhealth agentd")
    report = "\n".join(nvim.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "ERROR" not in report, report
    for expected in (
        "agentd 0.1.0 (Python 3.",
        "server command: ",
        "planner: stub",
        f"sandbox: {sandbox_line()}",
        "approvals: agent/requestPermission",
        "goals: ",
    ):
        assert expected in report, f"{expected!r} missing from:\n{report}"


def test_checkhealth_says_what_to_do_without_a_server(nvim: Editor, workspace: Path) -> None:
    nvim.lua("require('agentd').setup({ cmd = { vim.env.AGENTD_TEST_WORKSPACE .. '/nothing' } })")
    nvim.command("checkhealth agentd")
    report = "\n".join(nvim.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert f"server command: cmd: '{workspace}/nothing' is not an executable file" in report
    assert "Install agentd, or set the cmd option" in report


def tags() -> list[str]:
    return re.findall(r"\*([^*\s]+)\*", DOC.read_text())


def test_the_help_tags_resolve_after_a_packages_install(nvim_version: str, tmp_path: Path) -> None:
    """Runs the README's plain-packages commands with HOME in a temp folder and a copy of the
    plugin as the clone, then looks every tag up in a Neovim that loads it from there."""
    home = tmp_path / "home"
    env = xdg_env(home)
    clone = home / "src" / "agentd" / "editors" / "nvim"
    shutil.copytree(PLUGIN, clone, ignore=shutil.ignore_patterns("tags"))
    block = re.search(r"Plain packages.*?```sh\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "README.md has no plain-packages install"
    nvim_path = str(NVIMS[nvim_version])
    commands = block.group(1).replace("nvim --headless", f"{nvim_path} --headless")
    subprocess.run(["bash", "-euc", commands], env={"PATH": "/usr/bin:/bin", **env}, check=True)
    assert (clone / "doc" / "tags").exists()

    workspace = tmp_path / "ws"
    workspace.mkdir()
    init = tmp_path / "empty.lua"  # a user's init: nothing but what packages load
    init.write_text("vim.cmd('cd ' .. vim.fn.fnameescape(vim.env.AGENTD_TEST_WORKSPACE))\n")
    with editor(Path(nvim_path), nvim_version, workspace, home, init=init) as nvim:
        assert nvim.lua("return vim.fn.exists(':AgentRun')") == 2
        assert len(tags()) > 30
        for tag in tags():
            nvim.command(f"help {tag}")
            assert nvim.lua("return vim.fn.expand('%:t')") == "agentd.txt", tag
            assert f"*{tag}*" in nvim.lua("return vim.fn.getline('.')"), tag
            nvim.command("helpclose")


def test_the_lua_is_lint_clean() -> None:
    luacheck = shutil.which("luacheck")
    require(luacheck is not None, "luacheck is missing: apt-get install -y lua-check")
    assert luacheck is not None
    for folder in (PLUGIN, ROOT / "tests" / "editors" / "nvim"):
        done = subprocess.run(
            [luacheck, "--config", str(PLUGIN / ".luacheckrc"), "--no-color", "."],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_readme_setup_example_works(nvim: Editor) -> None:
    [example] = re.findall(r"## Configure\n\n```lua\n(.*?)```", README.read_text(), re.S)
    nvim.lua(example)
    options = nvim.lua("return require('agentd.config').options")
    assert options["open_output"] is True
    assert options["settings"] == {"maxParallel": 4, "approvalTimeoutMs": 120000}
