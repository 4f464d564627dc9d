"""RuleGate, the first-version Gate: risk from tables of known commands (``commands.py``) plus
argument checks (``file_checks.py``, ``exec_checks.py``), and the policy's decision. ``RULES``
below says which check reads which command.

Choices (documented so they can be argued with):
- a plain command name found in no table is ``high`` ("unrecognised command"): a real program we
  know nothing about; a computed name (``$x``, ``$'\\x72m'``, quotes) or a command line this
  reader cannot parse is ``unknown``; a relative path (``./build.sh``) runs workspace code: medium;
- the whole command's level is the highest of its parts; on a tie ``unknown`` wins over ``high``
  so that a policy which denies unknown risk still applies;
- writes (redirections, ``tee``, ``cp`` ...) outside the workspace are ``critical``, inside it
  ``medium``; into ``.git/`` or anywhere ``engine.paths.write_path_problem`` rejects ``critical``;
- after a ``cd`` out of the workspace relative paths are outside it, and a tool that changes files
  (medium) is at least ``high``;
- paths are followed through symbolic links on disk and links the script itself made (``ln``,
  ``cp -s``), and containment compares real paths (a symlinked workspace is its real directory);
  a link to a path outside the workspace (or to one agentd never writes) is ``high``, and a later
  write through it is judged where it points;
- commands that leave the step's process group or session (``setsid``, ``daemonize``,
  ``start-stop-daemon``, ``screen``, ``tmux``) escape the runner's group kill: at least ``high``;
- reading a well-known secret store (``commands.SECRET_STORES``: ``~/.ssh``, ``/etc/shadow`` ...)
  is ``high``.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.gate import exec_checks, file_checks
from engine.gate.analysis import Analysis, CommandRule, Finding
from engine.gate.base import LEVEL_ORDER, Policy, Verdict
from engine.gate.commands import (
    COMMAND_LEVELS,
    DETACHERS,
    PACKAGE_TOOLS,
    PYTHON,
    SHELLS,
    WRAPPERS,
    WRITERS,
)
from engine.gate.shell import SimpleCommand, Word
from engine.models import Risk, RiskLevel, RunCliStep, WriteFileStep
from engine.paths import editor_executed, write_path_problem

__all__ = ["RuleGate", "assess_command", "assess_write"]

MAX_REASONS = 12


class RuleGate:
    """The rule-table Gate. Fast (tens of microseconds a command), pure, never raises."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()

    def assess(self, step: RunCliStep | WriteFileStep, workspace: Path) -> Verdict:
        try:
            if isinstance(step, RunCliStep):
                risk = assess_command(step.cmd, workspace)
            else:
                risk = assess_write(step.path, workspace)
        except Exception as exc:  # the gate must never take a run down; unsure means unknown
            risk = Risk(level="unknown", reasons=[f"gate error: {exc!r} (unknown)"])
        return Verdict(risk=risk, decision=self.policy.decide(risk))


def assess_write(rel_path: str, workspace: Path) -> Risk:
    """Risk of writing ``rel_path`` (workspace-relative), following existing symlinks."""
    problem = write_path_problem(rel_path)
    if problem:
        return _risk("critical", problem)
    root = os.path.realpath(workspace)
    real = os.path.realpath(os.path.join(root, rel_path))
    if not real.startswith(root + os.sep):
        return _risk("critical", f"{rel_path!r} resolves to {real}, outside the workspace")
    real_rel = os.path.relpath(real, root)
    problem = write_path_problem(real_rel)
    if problem:
        return _risk("critical", f"{rel_path!r} resolves to {real_rel!r}: {problem}")
    if editor_executed(rel_path) or editor_executed(real_rel):
        return _risk("high", f"write {rel_path}: an editor or CI runs this file")
    return _risk("low", f"write {rel_path} inside the workspace")


def assess_command(cmd: str, workspace: Path) -> Risk:
    """Risk of running ``cmd`` with ``sh -c`` in ``workspace``: the highest of its parts."""
    analysis = Analysis(os.fspath(workspace), classify)
    analysis.script(cmd, 0)
    if not analysis.findings:
        return _risk("low", "no command")
    ranked = sorted(analysis.findings, key=_rank, reverse=True)
    reasons = list(dict.fromkeys(f"{text} ({level})" for level, text in ranked))
    return Risk(level=ranked[0][0], reasons=reasons[:MAX_REASONS])


def _risk(level: RiskLevel, reason: str) -> Risk:
    return Risk(level=level, reasons=[f"{reason} ({level})"])


def _rank(finding: Finding) -> tuple[int, bool]:
    return LEVEL_ORDER[finding[0]], finding[0] == "unknown"


def classify(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    """Judge one command (its name is a literal word): wrappers, rules, then the tables."""
    head = argv[0].text
    name = head.rsplit("/", 1)[-1]
    rule = RULES.get(name)
    if rule is None and PYTHON.fullmatch(name):
        rule = exec_checks.interpreter
    if rule is not None:
        rule(a, argv, cmd, depth)
    elif name in WRAPPERS:
        exec_checks.wrapper(a, argv, cmd, depth)
    elif name in COMMAND_LEVELS:
        level, phrase = COMMAND_LEVELS[name]
        a.add(level, f"{name}: {phrase}")
    elif name.startswith("mkfs"):
        a.add("critical", f"{name}: formats a disk")
    elif "/" in head and not head.startswith("/"):
        a.add("medium", f"runs workspace program {head!r}")
    else:
        a.add("high", f"unrecognised command {name!r}")


RULES: dict[str, CommandRule] = {
    **dict.fromkeys(("rm", "rmdir", "unlink", "shred"), file_checks.rm),
    **dict.fromkeys(("chmod", "chown", "chgrp"), file_checks.chmod),
    **dict.fromkeys(WRITERS, file_checks.writer),
    **dict.fromkeys(("ln", "cp"), file_checks.link),
    **dict.fromkeys(("node", "perl", "ruby", "php", "lua"), exec_checks.interpreter),
    **dict.fromkeys(SHELLS, exec_checks.shell),
    **dict.fromkeys(DETACHERS, exec_checks.detach),
    **dict.fromkeys(PACKAGE_TOOLS, exec_checks.package_tool),
    **dict.fromkeys(("curl", "wget"), file_checks.download),
    **dict.fromkeys(("rsync", "scp"), file_checks.remote_copy),
    **dict.fromkeys(("cd", "pushd"), file_checks.cd),
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), exec_checks.awk),
    **dict.fromkeys(("kill", "init", "telinit", "systemctl", "eval", "trap"), exec_checks.misc),
    **dict.fromkeys(("sort", "unzip"), file_checks.output_file),
    "dd": file_checks.dd,
    "git": exec_checks.git,
    "find": file_checks.find,
    "sed": file_checks.sed,
    "tar": file_checks.tar,
}
