"""The table of cases (``cases.py``): every command gets its level and its decision, without a
sandbox and in the bubblewrap sandbox. Nothing here runs a command: the gate only reads text."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.base import GateContext
from engine.gate.rules import RuleGate
from engine.models import RunCliStep
from tests.engine.gate.cases import ALL
from tests.engine.gate.table import Case

OFF = RuleGate()
BWRAP = RuleGate(GateContext(sandbox="bwrap"))


def test_the_table_is_large_and_has_no_duplicates() -> None:
    assert len(ALL) >= 300
    commands = [c.cmd for c in ALL]
    assert len(set(commands)) == len(commands), [c for c in commands if commands.count(c) > 1]
    assert all(c.note for c in ALL)


@pytest.mark.parametrize("case", ALL, ids=str)
def test_case(case: Case, workspace: Path) -> None:
    step = RunCliStep(kind="runCli", cmd=case.cmd)
    off = OFF.assess(step, workspace)
    bwrap = BWRAP.assess(step, workspace)
    got = (off.risk.level, off.decision, bwrap.decision)
    assert got == (case.level, case.off, case.bwrap), (case.note, off.risk.reasons)
    assert off.risk.reasons and off.risk == bwrap.risk
