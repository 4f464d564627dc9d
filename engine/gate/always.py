""" "Always" answers as policy rules: what "allow always" and "reject always" save to the user's
policy file, and what the rules say now about a step that asked.

A saved rule is precise: for each command that made the step ask, that tool and subcommand in
that workspace (``allow git push in /home/me/site``), never a prefix of the command line. A tool
running code from a file is pinned to that file; inline code (``python3 -c ...``) and a computed
command cannot be pinned down, so they stay remembered for the session only (``unsaved``).
"Reject always" saves ``deny`` rules, pinned to the paths the command names when it names any,
so rejecting ``rm notes.txt`` for good does not deny ``rm -rf build``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.gate.base import Verdict, names
from engine.gate.policy import Action, Policy, Rule, load_policy

__all__ = ["Always", "allow_always", "reject_always", "save_always", "settled_by", "settled_now"]

# Tools whose risk is code the gate cannot read: an "always" rule pins the file they run.
CODE_RUNNERS = names(
    """sh bash dash zsh ksh mksh ash source . eval python python3 pypy node nodejs perl ruby
        php lua luajit Rscript julia deno bun java pwsh"""
)


@dataclass(frozen=True, slots=True)
class Always:
    """The rules an "always" answer saves for a verdict, and the commands it cannot pin down
    precisely (those stay remembered for the session only)."""

    rules: tuple[Rule, ...] = ()
    unsaved: tuple[str, ...] = ()


def allow_always(verdict: Verdict, workspace: Path, note: str | None = None) -> Always:
    """``allow`` rules for the commands that made ``verdict`` ask."""
    return _always("allow", verdict, workspace, note)


def reject_always(verdict: Verdict, workspace: Path, note: str | None = None) -> Always:
    """``deny`` rules for the commands that made ``verdict`` ask."""
    return _always("deny", verdict, workspace, note)


def _always(action: Action, verdict: Verdict, workspace: Path, note: str | None) -> Always:
    root = os.path.realpath(workspace)
    rules: list[Rule] = []
    unsaved: list[str] = []
    for index in verdict.asking:
        command = verdict.commands[index] if 0 <= index < len(verdict.commands) else None
        if command is None or not command.tool:
            unsaved.append(command.text if command else "(a part of the step with no command)")
            continue
        paths: tuple[str, ...] = ()
        if command.tool in CODE_RUNNERS:
            if not command.paths:
                unsaved.append(command.text)
                continue
            paths = command.paths
        elif action == "deny":
            paths = command.paths  # a deny rule matches when any of them is touched
        rule = Rule(action, command.tool, command.subcommand, (), paths, root, note)
        if rule not in rules:
            rules.append(rule)
    return Always(tuple(rules), tuple(unsaved))


def save_always(
    verdict: Verdict,
    workspace: Path,
    *,
    allowed: bool,
    note: str | None = None,
    path: Path | None = None,
) -> tuple[list[Rule], tuple[str, ...]]:
    """Save the rules of an "always" answer to a policy file (default: the user's): the rules
    as saved (with their positions; none that the file already had) and the commands left
    unsaved. Raises PolicyError when the file is broken (it is not touched). Blocking."""
    from engine.gate.policy_edit import save_rules

    wanted = (allow_always if allowed else reject_always)(verdict, workspace, note)
    saved = save_rules(wanted.rules, path) if wanted.rules else []
    return saved, wanted.unsaved


def settled_by(
    verdict: Verdict, policy: Policy, workspace: Path
) -> tuple[Action, tuple[Rule, ...]] | None:
    """What the rules say now about a step that asked (an "always" answer may have saved a rule
    since the plan): ``deny`` when a rule denies one of its commands, ``allow`` when rules allow
    every command that made it ask, else None. A broken policy settles nothing."""
    if policy.errors or not verdict.asking:
        return None
    root = os.path.realpath(workspace)
    denying = []
    for command in verdict.commands:
        action, rules = policy.strictest(command, root)
        if action == "deny":
            denying.append(rules[0])
    if denying:
        return "deny", tuple(denying)
    allowing = []
    for index in verdict.asking:
        if not 0 <= index < len(verdict.commands):
            return None
        action, rules = policy.strictest(verdict.commands[index], root)
        if action != "allow":
            return None
        allowing.append(rules[0])
    return "allow", tuple(dict.fromkeys(allowing))


def settled_now(verdict: Verdict, workspace: Path) -> tuple[Action, tuple[Rule, ...]] | None:
    """``settled_by`` with the policy files as they are now. Blocking (reads them)."""
    return settled_by(verdict, load_policy(workspace), workspace)
