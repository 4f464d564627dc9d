"""Project tools: builders, test runners, linters, formatters and compilers. They run the
project's own code or configuration, so ``medium`` (``low`` for pure checkers that only read);
what matters beyond that is where they write (``-o``, ``--outDir``, a formatter's operands),
what they delete (``pytest --basetemp``), and where they run: a project tool run outside the
workspace (after ``cd``, ``-C``) runs someone else's code, ``high``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, Widening
from engine.gate.tools.grammar import Handler
from engine.gate.variables import judge_variable
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word
from engine.models import RiskLevel

__all__ = ["Project", "code_from", "java", "project", "project_words", "ruff", "run_project"]

NETWORK: frozenset[Widening] = frozenset({"network"})


def project_words(text: str) -> frozenset[str]:
    """A grammar's set of words, from one space-separated string."""
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Project:
    """``writes``: options that make it write its operands (``--fix``); ``checks``: options
    that make a formatter only read (``--check``); ``values``: options taking a value (so the
    value is not an operand); ``outputs``/``reads``/``deletes``/``dirs``: options whose value is
    a path written, read, deleted, or the directory it works in; ``operands``: what the
    operands are (``paths``, or ``data`` such as make's targets)."""

    level: RiskLevel
    what: str
    writes: frozenset[str] = frozenset()
    checks: frozenset[str] = frozenset()
    default_writes: bool = False
    values: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    dirs: frozenset[str] = frozenset()
    operands: str = "paths"
    widen: frozenset[Widening] = frozenset()
    code: frozenset[str] = frozenset()  # options whose value is code it runs (make -f)
    code_operands: bool = False  # operands are code it runs (a test runner's test files)


def _split(args: list[Word], spec: Project) -> tuple[list[tuple[str, Word | None]], list[Word]]:
    """(options with their values, operands): a listed option takes the next word unless its
    value is attached (``--out=x``, ``-ox``)."""
    takes = spec.values | spec.outputs | spec.reads | spec.deletes | spec.dirs | spec.code
    options: list[tuple[str, Word | None]] = []
    operands: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.literal or ""
        i += 1
        if text == "--":
            operands += args[i:]
            break
        if not text.startswith("-") or text == "-":
            operands.append(word)
            continue
        name, eq, value = text.partition("=")
        short = next(
            (
                t
                for t in takes
                if len(t) == 2
                and text.startswith(t)
                and len(text) > 2
                and not text.startswith("--")
            ),
            None,
        )
        if name in takes and eq:
            options.append((name, plain_word(value)))
        elif name in takes:
            options.append((name, args[i] if i < len(args) else None))
            i += 1
        elif short is not None:
            options.append((short, plain_word(text[2:])))
        else:
            options.append((name, plain_word(value) if eq else None))
    return options, operands


def project(spec: Project) -> Handler:
    def judge(a: Walker, inv: Invocation) -> None:
        run_project(a, inv, spec, inv.args)

    return judge


def run_project(
    a: Walker, inv: Invocation, spec: Project, args: list[Word], *, announce: bool = True
) -> list[Word]:
    """Judge a project tool's options and operands (``announce``: and the tool itself, at
    the spec's level); returns its operands."""
    options, operands = _split(args, spec)
    names = {name for name, _ in options}
    a.options(names)
    writing = bool(names & spec.writes) or (spec.default_writes and not names & spec.checks)
    level: RiskLevel = "medium" if writing and spec.level == "low" else spec.level
    if announce:
        a.add(
            level,
            f"{inv.name}: {spec.what}",
            held_by=BOTH,
            changes=level != "low",
            widen=spec.widen,
        )
    where = a.outside_cwd()
    directories = [v for n, v in options if n in spec.dirs and v is not None]
    for directory in directories:
        for place in a.places(directory):
            if place.kind != "inside":
                where = f"in {place.shown}"
    if where and spec.level != "low":
        a.add("high", f"{inv.name} runs outside the workspace ({where})", held_by=BOTH)
    for name, value in options:
        if value is None:
            continue
        if name in spec.outputs:
            a.write(value, f"{inv.name} {name}")
        elif name in spec.reads or name in spec.dirs:
            a.read(value, f"{inv.name} {name}")
        elif name in spec.deletes:
            a.delete(value, f"{inv.name} {name}", recursive=True)
        elif name in spec.code:
            code_from(a, f"{inv.name} {name}", [value])
    if spec.code_operands:
        code_from(a, inv.name, operands)
    for word in operands:
        if spec.operands == "data":
            if "=" in word.text and word.text.partition("=")[0].isidentifier():
                key, _, text = word.text.partition("=")
                judge_variable(
                    a, key, plain_word(text, dynamic=word.dynamic), inv.name, shell=False
                )
        elif writing:
            a.write(word, inv.name, verb="rewrites")
        else:
            a.read(word, inv.name)
    return operands


def code_from(a: Walker, what: str, words: list[Word]) -> None:
    """``what`` runs code from ``words``: from outside the workspace, that is someone else's."""
    for word in words:
        for place in a.places(word):
            if place.kind in ("outside", "scratch", "computed"):
                where = "a path computed at run time" if place.kind == "computed" else "outside"
                a.add("high", f"{what} runs code from {place.shown} ({where} the workspace)",
                      held_by=BOTH)  # fmt: skip


def ruff(a: Walker, inv: Invocation) -> None:
    args = inv.args
    command = args[0].literal if args else None
    if command in ("version", "help", "rule", "linter", "config", "--version", "--help", "-V"):
        a.add("low", f"ruff {command}: prints information")
        return
    if command in ("check", "format", "analyze", "clean", "server"):
        a.subcommand(command)
        args = args[1:]
    spec = Project(
        "low",
        {"format": "formats code", "server": "runs the language server"}.get(
            command or "", "checks code"
        ),
        writes=project_words("--fix --unsafe-fixes --add-noqa --fix-only"),
        checks=project_words("--check --diff --no-fix"),
        default_writes=command == "format",
        values=project_words(
            "--select --ignore --extend-select --extend-ignore --per-file-ignores "
            "--target-version --line-length --exclude --extend-exclude --output-format "
            "--stdin-filename --fixable --unfixable --preview --config"
        ),
        outputs=project_words("-o --output-file --cache-dir"),
    )
    if command == "clean":
        a.add("medium", "ruff clean: deletes its caches", changes=True, revertible=True)
        return
    run_project(a, inv, spec, args)


def java(a: Walker, inv: Invocation) -> None:
    texts = [w.text for w in inv.args]
    if any(t in ("-version", "--version", "-help", "--help", "-h") for t in texts):
        a.add("low", f"{inv.name}: prints its version or help")
        return
    a.add("high", f"{inv.name}: runs Java code the gate does not read", held_by=BOTH)
