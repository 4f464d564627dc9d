"""The gate's policy: which decision (allow, ask, deny) each risk level gets."""

from __future__ import annotations

from pathlib import Path

from engine.gate.base import Gate, Policy
from engine.gate.rules import RuleGate
from engine.models import Decision, RiskLevel, RunCliStep


def test_default_policy_decisions(tmp_path: Path) -> None:
    gate: Gate = RuleGate()
    decide = {
        "ls": "allow",
        "pytest -q": "allow",
        "curl https://example.com": "ask",
        "setsid sleep 300 &": "ask",
        "$x": "ask",
        "rm -rf /": "deny",
    }
    for cmd, decision in decide.items():
        verdict = gate.assess(RunCliStep(kind="runCli", cmd=cmd), tmp_path)
        assert verdict.decision == decision, (cmd, verdict)


def test_custom_policy_decisions(tmp_path: Path) -> None:
    decisions: dict[RiskLevel, Decision] = {
        "low": "allow",
        "medium": "ask",
        "high": "deny",
        "unknown": "deny",
        "critical": "deny",
    }
    strict = RuleGate(Policy(decisions))
    step = RunCliStep(kind="runCli", cmd="pytest -q")
    assert strict.assess(step, tmp_path).decision == "ask"
    assert strict.assess(RunCliStep(kind="runCli", cmd="$x"), tmp_path).decision == "deny"
    assert strict.assess(RunCliStep(kind="runCli", cmd="echo hi"), tmp_path).decision == "allow"
