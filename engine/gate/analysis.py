"""The walk over one command line: collects (level, reason) findings for every simple command,
follows substitutions and what commands wrap, tracks ``cd`` and says where a path word points.

What a single command means is decided by the ``classify`` callback (``engine.gate.rules``); the
option readers at the end are shared by its argument checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Literal

from engine.gate.base import LEVEL_ORDER
from engine.gate.shell import Redirect, ShellSyntaxError, SimpleCommand, Word, parse
from engine.models import RiskLevel
from engine.paths import editor_executed, write_path_problem

__all__ = [
    "ASSIGNMENT",
    "HOME_PREFIXES",
    "Analysis",
    "CommandRule",
    "Finding",
    "option_values",
    "split_args",
]

Finding = tuple[RiskLevel, str]
Location = Literal["sink", "inside", "outside", "computed"]
# Decides one command's risk from its words (after assignments); set by engine.gate.rules.
CommandRule = Callable[["Analysis", list[Word], SimpleCommand, int], None]

ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
HOME_PREFIXES = ("~", "$HOME", "${HOME}")
SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"})
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
MAX_DEPTH = 8  # nested sh -c / $( ) levels before we give up and say unknown


class Analysis:
    """Walks one command line, collecting (level, reason) findings; ``classify`` (the rules)
    judges each simple command and calls back into ``command``/``script`` for what it wraps."""

    def __init__(self, workspace: str, real_workspace: str, classify: CommandRule) -> None:
        self.roots = (workspace, real_workspace)
        self.cwd: str | None = workspace  # None once a `cd` makes it computed
        self.findings: list[Finding] = []
        self.functions: set[str] = set()
        self.classify = classify

    def add(self, level: RiskLevel, reason: str) -> None:
        self.findings.append((level, reason))

    def script(self, src: str, depth: int) -> None:
        """Analyse a whole script (a command line, an ``sh -c`` argument, a substitution)."""
        if depth > MAX_DEPTH:
            self.add("unknown", "commands nested too deeply to analyse")
            return
        try:
            parsed = parse(src)
        except ShellSyntaxError as exc:
            self.add("unknown", f"could not parse the command: {exc}")
            return
        self.functions |= parsed.functions
        for note in parsed.notes:
            self.add("unknown", note)
        for cmd in parsed.commands:
            for word in (*cmd.words, *(r.target for r in cmd.redirects)):
                for sub in word.subs:
                    self.script(sub, depth + 1)
            for redirect in cmd.redirects:
                self.redirect(redirect)
            start = 0
            while start < len(cmd.words) and ASSIGNMENT.match(cmd.words[start].text):
                start += 1
            self.command(cmd.words[start:], cmd, depth)

    def command(self, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
        """Analyse one simple command given as words; wrappers call this again for what they run."""
        if not argv:
            return
        head = argv[0]
        if head.dynamic or head.quoted:
            self.add("unknown", f"computed command name {head.text!r}")
            if head.dynamic:
                return
            # `\rm` or "rm" still runs rm: judge the literal name too, so rm -rf / stays critical
            argv = [Word(head.text), *argv[1:]]
        name = head.text.rsplit("/", 1)[-1]
        cmd.name = name
        if name in cmd.in_functions:
            self.add("critical", f"shell function {name!r} calls itself (fork bomb pattern)")
            return
        if name in self.functions and "/" not in head.text:
            self.add("low", f"calls shell function {name!r}")
            return
        mark = len(self.findings)
        self.classify(self, argv, cmd, depth)
        if self.cwd is None or self.locate(Word(self.cwd))[0] != "inside":
            worst = max((LEVEL_ORDER[level] for level, _ in self.findings[mark:]), default=0)
            if worst == LEVEL_ORDER["medium"]:
                self.add("high", f"{name} runs outside the workspace (after cd)")

    def redirect(self, redirect: Redirect) -> None:
        if redirect.op not in _WRITE_OPS:
            return
        text = redirect.target.text
        if redirect.op == ">&" and (text.isdigit() or text == "-"):
            return  # fd duplication such as 2>&1
        self.write_target(redirect.target, f"redirect {redirect.op}")

    def locate(self, word: Word) -> tuple[Location, str]:
        """Where a path word points: a harmless sink, inside (with its workspace-relative path),
        outside the workspace, or computed at run time."""
        text = word.text
        if text.startswith(HOME_PREFIXES):
            return "outside", text
        if word.dynamic:
            return "computed", text
        if text in SINKS or text.startswith("/dev/fd/"):
            return "sink", text
        if text.startswith("/"):
            full = os.path.normpath(text)
        elif self.cwd is None:
            return "computed", text
        else:
            full = os.path.normpath(os.path.join(self.cwd, text))
        for root in self.roots:
            if full == root:
                return "inside", "."
            if full.startswith(root + "/"):
                return "inside", full[len(root) + 1 :]
        return "outside", text

    def write_target(self, word: Word, what: str) -> None:
        """Record the risk of ``what`` writing to the path ``word``."""
        where, rel = self.locate(word)
        if where == "outside":
            self.add("critical", f"{what} writes outside the workspace: {word.text}")
        elif where == "computed":
            self.add("unknown", f"{what} writes to a computed path {word.text!r}")
        elif where == "inside":
            problem = write_path_problem(rel) if rel != "." else None
            if problem:
                self.add("critical", f"{what}: {problem}")
            elif editor_executed(rel):
                self.add("high", f"{what} {rel}: an editor or CI runs this file")
            else:
                self.add("medium", f"{what} writes {rel}")


# --- reading a command's options ---------------------------------------------------------


def split_args(
    args: list[Word], value_opts: frozenset[str] = frozenset()
) -> tuple[list[str], list[Word]]:
    """(option texts, operands): options start with '-' until '--'; listed ones take a value."""
    options: list[str] = []
    operands: list[Word] = []
    it = iter(args)
    for word in it:
        text = word.text
        if text == "--":
            operands.extend(it)
        elif text.startswith("-") and len(text) > 1 and not word.dynamic:
            options.append(text)
            if text in value_opts:
                options.append(next(it, Word("")).text)
        else:
            operands.append(word)
    return options, operands


def option_values(args: list[Word], names: tuple[str, ...], *, exact: bool = False) -> list[Word]:
    """Values of the given options: ``-o X``, ``--output=X`` and, unless ``exact``, ``-oX`` and
    clusters such as ``-sSLo X``."""
    found: list[Word] = []
    for index, word in enumerate(args):
        text = word.text
        following = args[index + 1 : index + 2]
        for opt in names:
            if text == opt:
                found += following
            elif exact:
                continue
            elif opt.startswith("--"):
                if text.startswith(opt + "="):
                    found.append(Word(text[len(opt) + 1 :], word.dynamic))
            elif match := re.fullmatch(rf"-[a-zA-Z]*?{opt[1]}(.*)", text):
                found += [Word(match[1], word.dynamic)] if match[1] else following
    return found
