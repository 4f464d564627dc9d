"""The shape of the gate's cases: a command line, its level, the decisions unsandboxed and in the
bubblewrap sandbox, and a note; the workspace they are judged in."""

from __future__ import annotations

from dataclasses import dataclass

from engine.models import Decision, RiskLevel

# Files and folders of the case workspace (created by the test fixture).
WORKSPACE_FILES = ("README.md", "a.txt", "file.txt", "src/a.py", "build/app", ".git/HEAD")


@dataclass(frozen=True, slots=True)
class Case:
    cmd: str
    level: RiskLevel
    off: Decision
    bwrap: Decision
    note: str
    group: str = ""

    def __str__(self) -> str:
        return self.cmd


def group(name: str, *rows: tuple[str, str, str, str]) -> list[Case]:
    """Rows of (command, level, "off/bwrap" decisions, note)."""
    cases = []
    for cmd, level, decisions, note in rows:
        off, bwrap = decisions.split("/")
        cases.append(Case(cmd, level, off, bwrap, note, name))  # type: ignore[arg-type]
    return cases


LOW = "allow/allow"
MEDIUM = "allow/allow"
HELD = "ask/allow"  # high, and the sandbox holds it
ASK = "ask/ask"  # high or unknown, and no sandbox holds it
DENY = "deny/deny"
