"""The parser survives any text: tree-sitter-bash crashed the whole process on some non-ASCII
input (a server killed by one command line), so such text is checked in a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.gate.rules import assess_command
from engine.gate.syntax import parse

ROOT = Path(__file__).resolve().parents[3]
# Found by the property test; each crashed tree-sitter 0.26 / tree-sitter-bash 0.25 in most runs.
CRASHERS = ["{\U000e3247", "a{\U00100000", "{\U000f0000}", "x={\U00070000"]
PROGRAM = f"""
from engine.gate.syntax import parse
for _ in range(200):
    for text in {CRASHERS!r}:
        parse(text)
"""


def test_non_ascii_text_does_not_crash_the_parser() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"


def test_non_ascii_words_keep_their_text(home_tmp: Path) -> None:
    source = parse("echo 'héllo' wörld")
    assert source.text(source.root) == "echo 'héllo' wörld"
    assert assess_command("cat 'résumé.txt'", home_tmp).level == "low"
    assert assess_command("rm -rf /tmp/é/../../etc", home_tmp).level == "critical"
