"""A run with an approval, as tmux shows it: kept as a test artifact (test-artifacts/cli/, text,
ANSI and SVG) and, with AGENTD_UPDATE_DOCS=1, copied to docs/images/ for the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.server.cli.cli_helpers import BIN, ENV, HAVE_TMUX, REPO, tmux_session

ARTIFACTS = REPO / "test-artifacts" / "cli"
DOC_IMAGE = REPO / "docs" / "images" / "cli-approval.svg"
GOALS = """\
[goals.tidy]
title = "Tidy the notes folder"
steps = [
  { id = "list", run = "ls notes" },
  { id = "clean", run = "rm -f notes/old.txt", after = ["list"] },
  { id = "check", run = "ls -la notes", after = ["clean"] },
]
"""


def svg_of(ansi: str, title: str) -> str:
    """The terminal's colours and text as an SVG picture (rich renders the ANSI capture)."""
    from rich.console import Console
    from rich.text import Text

    with open(os.devnull, "w") as nowhere:  # recorded, not shown
        console = Console(record=True, width=120, file=nowhere)
        console.print(Text.from_ansi(ansi.rstrip("\n")))
    return console.export_svg(title=title)


@pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed")
def test_a_run_with_an_approval_in_tmux(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / ".agent").mkdir(parents=True)
    (project / ".agent" / "goals.toml").write_text(GOALS)
    (project / "notes").mkdir()
    (project / "notes" / "old.txt").write_text("an old note\n")
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (project / "src").mkdir()
    env = ENV | {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
    }
    with tmux_session(project / "src", "bash --norc --noprofile", env) as term:
        term.keys("PS1='~/shop/src$ '; clear", "Enter")
        term.expect_gone("clear")
        term.keys("agentd run tidy", "Enter")
        term.expect("Allow? [y] once")
        term.keys("?", "Enter")
        term.expect("remembered only until this agentd command ends")
        term.keys("y", "Enter")
        shown = term.expect("Trace: ")
        ansi = term.capture(escapes=True)
    assert "Approval needed for step clean: rm -f notes/old.txt" in shown
    assert "clean rm -f notes/old.txt (succeeded" in shown and "approved by you (once)" in shown
    assert "trust 0.9: 3 of 3 steps succeeded." in shown
    assert not (project / "notes" / "old.txt").exists()
    assert not (project / "src" / ".agent").exists()  # run at the project root
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "approval.txt").write_text(shown)
    (ARTIFACTS / "approval.ansi").write_text(ansi)
    picture = svg_of(ansi, "agentd run tidy")
    (ARTIFACTS / "approval.svg").write_text(picture)
    if os.environ.get("AGENTD_UPDATE_DOCS") == "1":
        DOC_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "approval.svg", DOC_IMAGE)
    # The README's picture is such a capture (regenerate it with AGENTD_UPDATE_DOCS=1).
    assert "Approval needed for step clean" in DOC_IMAGE.read_text().replace("&#160;", " ")
