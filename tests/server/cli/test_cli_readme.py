"""README.md's console blocks are real: `agentd --help`, `agentd run --help` and a failing run
show exactly what they print (run ids and times aside). AGENTD_UPDATE_DOCS=1 rewrites them."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from tests.server.cli.cli_helpers import ENV, REPO, agentd

README = REPO / "README.md"
BLOCK = re.compile(r"```console\n\$ (agentd [^\n]*)\n(.*?)```", re.S)
SHOWN_ROOT = "/home/me/shop"  # where the README's failing run pretends to be
VARIABLE = [
    (re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}"), "RUN_ID"),
    (re.compile(r"\b\d+(\.\d)? (ms|s)\b"), "N ms"),
]


def normal(text: str) -> str:
    for pattern, placeholder in VARIABLE:
        text = pattern.sub(placeholder, text)
    return text


def shown(command: str, project: Path) -> str:
    done = agentd(*shlex.split(command)[1:], cwd=project, env=ENV | {"COLUMNS": "100"})
    return (done.stdout + done.stderr).replace(str(project), SHOWN_ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    return shop


def test_the_readme_shows_what_agentd_prints(project: Path) -> None:
    text = README.read_text()
    blocks = BLOCK.findall(text)
    commands = [command for command, _ in blocks]
    assert "agentd --help" in commands and "agentd run --help" in commands
    assert any(c.startswith("agentd run --step") for c in commands)  # the failing run
    for command, written in blocks:
        printed = shown(command, project)
        if os.environ.get("AGENTD_UPDATE_DOCS") == "1":
            text = text.replace(f"$ {command}\n{written}```", f"$ {command}\n{printed}```")
            continue
        assert normal(written) == normal(printed), f"README's `{command}` is out of date"
    README.write_text(text)
