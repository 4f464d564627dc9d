"""The Gate interface and the policy that maps a risk level to a decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.models import Decision, Risk, RiskLevel, RunCliStep, WriteFileStep

LEVEL_ORDER: dict[RiskLevel, int] = {"low": 0, "medium": 1, "high": 2, "unknown": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class Verdict:
    risk: Risk
    decision: Decision


def _default_decisions() -> dict[RiskLevel, Decision]:
    return {"low": "allow", "medium": "allow", "high": "ask", "unknown": "ask", "critical": "deny"}


@dataclass(frozen=True, slots=True)
class Policy:
    """Which decision each risk level gets. The defaults: run low and medium, ask for high and
    unknown, deny critical."""

    decisions: dict[RiskLevel, Decision] = field(default_factory=_default_decisions)

    def decide(self, risk: Risk) -> Decision:
        return self.decisions[risk.level]


class Gate(Protocol):
    """Assesses one step in a workspace. Must be fast, pure and never raise for odd input:
    anything it cannot understand is ``unknown`` risk."""

    def assess(self, step: RunCliStep | WriteFileStep, workspace: Path) -> Verdict: ...
