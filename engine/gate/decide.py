"""From findings to a decision: the session mode, the sandbox in effect and the policy rules.

- low: allowed (in a readOnly session only when it changes nothing);
- medium: allowed (readOnly: asks);
- high: asks, unless the sandbox in effect holds it; a trusted session also allows what a
  checkpoint can revert and, sandboxed, every high finding (readOnly: asks);
- unknown: asks; critical: denied, whatever the mode, sandbox or rules.

Then the rules: a deny rule matching any command denies; an ask rule makes the step ask; an
allow rule covers the findings of the commands it matches (never a critical one, never a
finding that belongs to no command). A broken policy file makes every step at least ask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from engine.gate.base import LEVEL_ORDER, Command, Finding, GateContext
from engine.gate.policy import Policy, Rule
from engine.models import Decision

__all__ = ["Outcome", "decide"]

MAX_NOTES = 6


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    relied_on: tuple[str, ...]
    asking: tuple[int, ...]  # commands whose findings need a person (-1: parts with none)
    rule_reasons: tuple[str, ...]  # reasons to add for rules that decided


def decide(
    findings: Sequence[Finding], commands: Sequence[Command], context: GateContext, workspace: str
) -> Outcome:
    root = os.path.realpath(workspace)
    if any(f.level == "critical" for f in findings):
        return Outcome("deny", (), (), ())
    policy = context.policy or Policy()
    actions = [policy.strictest(c, root) for c in commands]
    denied = [(i, rules) for i, (action, rules) in enumerate(actions) if action == "deny"]
    if denied:
        return Outcome(
            "deny",
            tuple(_rule_note(r) for _, rules in denied for r in rules[:1]),
            (),
            tuple(f"{_rule_note(rules[0])} denies {commands[i].text!r}" for i, rules in denied),
        )
    relied: list[str] = []
    asking: list[int] = []
    reasons: list[str] = []
    for finding in findings:
        held = _allowed_by_context(finding, context)
        if held is not None:
            if held:
                relied.append(held)
            continue
        index = finding.command if finding.command is not None else -1
        action, rules = actions[index] if index >= 0 else (None, [])
        if action == "allow":
            relied.append(f"{_rule_note(rules[0])} allows {commands[index].tool}")
            continue
        asking.append(index)
    for index, (action, rules) in enumerate(actions):
        if action == "ask":
            asking.append(index)
            reasons.append(f"{_rule_note(rules[0])} asks about {commands[index].text!r}")
    if policy.errors:
        asking.append(-1)
        reasons += [f"policy file broken, so every step asks: {e}" for e in policy.errors]
    if asking:
        return Outcome("ask", (), tuple(dict.fromkeys(i for i in asking)), tuple(reasons))
    return Outcome("allow", tuple(dict.fromkeys(relied))[:MAX_NOTES], (), tuple(reasons))


def _allowed_by_context(finding: Finding, context: GateContext) -> str | None:
    """None when this finding needs a person; otherwise what lets it run ("" for nothing
    beyond its plain level)."""
    level, mode, sandbox = finding.level, context.mode, context.sandbox
    if level == "unknown":
        return None
    if mode == "readOnly":
        if level == "low" and not finding.changes:
            return ""
        return None
    if LEVEL_ORDER[level] <= LEVEL_ORDER["medium"]:
        return ""
    if sandbox != "off" and sandbox in finding.held_by:
        return f"the {sandbox} sandbox holds: {finding.reason}"
    if mode == "trusted" and finding.revertible:
        return f"trusted session, revertible: {finding.reason}"
    if mode == "trusted" and sandbox != "off":
        return f"trusted session in the {sandbox} sandbox: {finding.reason}"
    return None


def _rule_note(rule: Rule) -> str:
    return f"policy {rule.where()} ({rule.describe()})"
