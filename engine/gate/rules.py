"""RuleGate, the Gate: a step's findings (``walk`` over the parsed command, ``tools`` for each
command), its risk (the highest finding; ``unknown`` wins a tie with ``high`` so that a policy
on unknown risk still applies) and the decision (``decide``: session mode, sandbox, policy).

writeFile steps are judged by their path: inside the workspace ``low`` for a new file and
``medium`` for one it overwrites, ``high`` for files an editor or CI runs, ``critical`` outside
it, in ``.git`` or for shell start-up files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.gate.analysis import AGENT_CONFIG
from engine.gate.base import LEVEL_ORDER, Command, Finding, GateContext, Verdict
from engine.gate.decide import decide
from engine.models import Risk, RiskLevel, RunCliStep, WriteFileStep
from engine.paths import editor_executed, write_path_problem

__all__ = ["Assessment", "RuleGate", "analyse_command", "assess_command", "assess_write"]

MAX_REASONS = 12
DEFAULT_CONTEXT = GateContext()


class RuleGate:
    """The rule-table Gate: pure, tens of microseconds a command, never raises."""

    def __init__(self, context: GateContext | None = None) -> None:
        self.context = context or DEFAULT_CONTEXT

    def assess(
        self,
        step: RunCliStep | WriteFileStep,
        workspace: Path,
        context: GateContext | None = None,
    ) -> Verdict:
        context = context or self.context
        try:
            if isinstance(step, RunCliStep):
                found = analyse_command(step.cmd, workspace)
            else:
                found = Assessment(tuple(assess_write_findings(step.path, workspace)), ())
            outcome = decide(found.findings, found.commands, context, os.fspath(workspace))
            risk = _risk(found.findings, outcome.rule_reasons)
        except Exception as exc:  # the gate must never take a run down; unsure means unknown
            risk = Risk(level="unknown", reasons=[f"gate error: {exc!r} (unknown)"])
            return Verdict(risk=risk, decision="ask")
        widenings = frozenset(w for f in found.findings for w in f.widen)
        changes = any(f.changes or f.level != "low" for f in found.findings)
        return Verdict(
            risk,
            outcome.decision,
            outcome.relied_on,
            widenings,
            found.commands,
            outcome.asking,
            changes,
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    findings: tuple[Finding, ...]
    commands: tuple[Command, ...]


def analyse_command(cmd: str, workspace: Path) -> Assessment:
    """Every finding about running ``cmd`` with ``sh -c`` in ``workspace``."""
    from engine.gate.tools import is_command, judge
    from engine.gate.walk import Walker

    walker = Walker(os.fspath(workspace), judge, is_command)
    walker.analyse(cmd)
    findings = tuple(walker.findings) or (Finding("low", "no command"),)
    return Assessment(findings, walker.commands())


def assess_command(cmd: str, workspace: Path) -> Risk:
    """The risk of running ``cmd`` in ``workspace`` (the highest of its parts)."""
    return _risk(analyse_command(cmd, workspace).findings, ())


def assess_write(rel_path: str, workspace: Path) -> Risk:
    return _risk(assess_write_findings(rel_path, workspace), ())


def assess_write_findings(rel_path: str, workspace: Path) -> list[Finding]:
    """The finding for writing ``rel_path`` (workspace-relative), following existing links."""
    problem = write_path_problem(rel_path)
    if problem:
        return [Finding("critical", problem, changes=True)]
    root = os.path.realpath(workspace)
    real = os.path.realpath(os.path.join(root, rel_path))
    if not real.startswith(root + os.sep):
        return [
            Finding(
                "critical", f"{rel_path!r} resolves to {real}, outside the workspace", changes=True
            )
        ]
    real_rel = os.path.relpath(real, root)
    problem = write_path_problem(real_rel)
    if problem:
        return [
            Finding("critical", f"{rel_path!r} resolves to {real_rel!r}: {problem}", changes=True)
        ]
    if real_rel.lower() in AGENT_CONFIG:
        return [
            Finding(
                "high",
                f"write {rel_path}: agentd's own goals or policy for this workspace",
                changes=True,
                revertible=True,
            )
        ]
    if editor_executed(rel_path) or editor_executed(real_rel):
        return [
            Finding(
                "high",
                f"write {rel_path}: an editor or CI runs this file",
                changes=True,
                revertible=True,
            )
        ]
    if os.path.lexists(real):
        return [
            Finding(
                "medium",
                f"write {rel_path}: overwrites the existing file",
                changes=True,
                revertible=True,
            )
        ]
    return [Finding("low", f"write {rel_path} inside the workspace", changes=True, revertible=True)]


def _risk(findings: tuple[Finding, ...] | list[Finding], extra: tuple[str, ...]) -> Risk:
    ranked = sorted(findings, key=_rank, reverse=True)
    level: RiskLevel = ranked[0].level if ranked else "low"
    reasons = list(dict.fromkeys([*extra, *(f.shown for f in ranked)]))
    return Risk(level=level, reasons=reasons[:MAX_REASONS])


def _rank(finding: Finding) -> tuple[int, bool]:
    return LEVEL_ORDER[finding.level], finding.level == "unknown"
