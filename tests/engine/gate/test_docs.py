"""docs/gate.md's examples are tests: the table of commands, and the policy files with the
decisions they give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.gate.base import GateContext
from engine.gate.policy import load_policy
from engine.gate.rules import RuleGate
from engine.models import RunCliStep

DOC = (Path(__file__).resolve().parents[3] / "docs" / "gate.md").read_text()


def section(title: str) -> str:
    return DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def table(text: str) -> list[list[str]]:
    """The rows of the first markdown table in ``text`` (cells unescaped, backticks off)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append([c[1:-1] if c.startswith("`") else c for c in cells])
    return rows


EXAMPLES = table(section("Examples"))


def test_the_examples_are_there() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize(("cmd", "level", "off", "bwrap"), EXAMPLES)
def test_example(cmd: str, level: str, off: str, bwrap: str, workspace: Path) -> None:
    step = RunCliStep(kind="runCli", cmd=cmd)
    plain = RuleGate().assess(step, workspace)
    boxed = RuleGate(GateContext(sandbox="bwrap")).assess(step, workspace)
    assert (plain.risk.level, plain.decision, boxed.decision) == (level, off, bwrap), plain.risk


def test_the_policy_file_examples(home_tmp: Path) -> None:
    text = section("Policy files").split("### Allow always", 1)[0]
    user_toml, workspace_toml = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    workspace = home_tmp / "project"
    (workspace / ".agent").mkdir(parents=True)
    (workspace / ".agent" / "policy.toml").write_text(workspace_toml)
    user = home_tmp / "policy.toml"
    user.write_text(user_toml)
    policy = load_policy(workspace, user)
    assert policy.errors == () and [r.tool for r in policy.ignored] == ["ssh"]
    gate = RuleGate(GateContext(policy=policy))
    rows = table(text.split("With the two files above", 1)[1])
    assert len(rows) >= 8
    for cmd, decision in rows:
        got = gate.assess(RunCliStep(kind="runCli", cmd=cmd), workspace)
        assert got.decision == decision, (cmd, got.risk.reasons)
