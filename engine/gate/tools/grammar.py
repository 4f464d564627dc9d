"""Argument grammars: how a tool's words split into options (with their values) and operands,
and what each option and operand means (a path read or written, a directory to work in, code
to run). ``table_tool`` judges a tool from its grammar alone.

Options are read the way GNU getopt does: short options cluster (``-rf``), a value may be
attached (``-n5``, ``--lines=5``) or follow, long options may be shortened to any unique prefix
(``--in-pl`` is ``--in-place``), ``--`` ends the options, and options may follow operands unless
the grammar says the first operand ends them. An option the grammar does not list is not
understood: that alone makes the command ``high``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from engine.gate.base import BOTH, NONE, SandboxKind, Widening
from engine.gate.words import Word, plain_word
from engine.models import RiskLevel

if TYPE_CHECKING:
    from engine.gate.analysis import Invocation
    from engine.gate.walk import Walker

__all__ = ["Grammar", "Parsed", "Tool", "parse_args", "table_tool"]

# read/write/delete/change: a path; dir: the directory the tool works in; run: a command line;
# code: code in another language; data: not a path; net: a network address
Meaning = Literal["read", "write", "delete", "change", "dir", "run", "code", "data", "net"]
Handler = Callable[["Walker", "Invocation"], None]


@dataclass(frozen=True, slots=True)
class Grammar:
    """``short``: option letters without a value; ``short_values``: letters taking one;
    ``long``/``long_values``: the same for long options (without the dashes' meaning: written
    ``--name``); ``any_short``/``any_long``: every other option of that form is a harmless flag
    (the tool's manual says none of them writes or runs anything); ``means``: what an option's
    value (or the option itself, for flags) is; ``operands``: a pattern such as ``"data read*"``
    (``*`` any number, ``+`` one or more, ``?`` optional); ``numbers``: ``-5`` is a value."""

    short: str = ""
    short_values: str = ""
    long: frozenset[str] = frozenset()
    long_values: frozenset[str] = frozenset()
    any_short: bool = False
    any_long: bool = False
    means: dict[str, Meaning] = field(default_factory=dict)
    operands: str = "read*"
    numbers: bool = False
    posix: bool = False  # options end at the first operand
    bulk: frozenset[str] = frozenset()  # options that make it read whole trees ("*": always)


def grammar(
    short: str = "",
    values: str = "",
    long: str = "",
    long_values: str = "",
    *,
    means: dict[str, Meaning] | None = None,
    operands: str = "read*",
    any_short: bool = False,
    any_long: bool = False,
    numbers: bool = False,
    posix: bool = False,
    bulk: str = "",
) -> Grammar:
    """A Grammar from space-separated option lists (long options written with their dashes)."""
    return Grammar(
        short,
        values,
        frozenset(long.split()),
        frozenset(long_values.split()),
        any_short,
        any_long,
        means or {},
        operands,
        numbers,
        posix,
        frozenset(bulk.split()),
    )


@dataclass(slots=True)
class Parsed:
    options: list[tuple[str, Word | None]] = field(default_factory=list)  # (name, value)
    operands: list[Word] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def has(self, *names: str) -> bool:
        return any(name in names for name, _ in self.options)

    def values(self, *names: str) -> list[Word]:
        return [value for name, value in self.options if name in names and value is not None]

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.options}


def parse_args(args: Iterable[Word], g: Grammar) -> Parsed:
    parsed = Parsed()
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        text = word.literal
        if text is None or not text.startswith("-") or text == "-":
            if text is not None and g.numbers and text[:1] == "+" and text[1:].isdigit():
                parsed.options.append(("+N", word))
                continue
            parsed.operands.append(word)
            if g.posix:
                parsed.operands += words[i:]
                break
            continue
        if text == "--":
            parsed.operands += words[i:]
            break
        if (
            text in g.long or text.partition("=")[0] in g.long_values or text.startswith("--")
        ):  # incl. `-ps` style
            i = _long(text, words, i, g, parsed)
        elif g.numbers and text[1:].isdigit():
            parsed.options.append(("-N", plain_word(text[1:])))
        else:
            i = _short(text, words, i, g, parsed)
    return parsed


def _long(text: str, words: list[Word], i: int, g: Grammar, parsed: Parsed) -> int:
    name, eq, attached = text.partition("=")
    known = g.long | g.long_values
    if name not in known:
        candidates = [k for k in known if k.startswith(name)]
        if len(candidates) == 1:
            name = candidates[0]
        elif not g.any_long or candidates:
            parsed.unknown.append(name)
            return i
    if name in g.long_values:
        if eq:
            parsed.options.append((name, plain_word(attached)))
        elif i < len(words):
            parsed.options.append((name, words[i]))
            return i + 1
        else:
            parsed.options.append((name, None))
    else:
        parsed.options.append((name, plain_word(attached) if eq else None))
    return i


def _short(text: str, words: list[Word], i: int, g: Grammar, parsed: Parsed) -> int:
    for index, letter in enumerate(text[1:], start=1):
        name = f"-{letter}"
        if letter in g.short_values:
            rest = text[index + 1 :]
            if rest:
                parsed.options.append((name, plain_word(rest)))
            elif i < len(words):
                parsed.options.append((name, words[i]))
                return i + 1
            else:
                parsed.options.append((name, None))
            return i
        if letter in g.short or g.any_short:
            parsed.options.append((name, None))
        else:
            parsed.unknown.append(name)
    return i


def operand_roles(operands: list[Word], pattern: str) -> list[tuple[Word, str]]:
    """Pair operands with the roles of ``pattern`` (``"read* write"``: the last is written;
    ``"read? write?"``: the first is read, a second written)."""
    slots = [(s.rstrip("*?+"), s[-1] if s[-1] in "*?+" else "") for s in pattern.split()]
    counts = [1 if mod in ("", "+") else 0 for _, mod in slots]
    extra = len(operands) - sum(counts)
    for index, (_, mod) in enumerate(slots):
        if mod == "?" and extra > 0:
            counts[index] += 1
            extra -= 1
    for index, (_, mod) in enumerate(slots):
        if mod in ("*", "+") and extra > 0:
            counts[index] += extra
            extra = 0
    roles: list[tuple[Word, str]] = []
    rest = iter(operands)
    for (role, _), count in zip(slots, counts, strict=True):
        for word in (next(rest, None) for _ in range(count)):
            if word is not None:
                roles.append((word, role))
    last = slots[-1][0] if slots else "data"
    roles += [(word, last) for word in rest]
    return roles


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool judged from its grammar: ``level`` when every part is understood."""

    level: RiskLevel
    what: str  # "reads files", "runs project code" ...
    grammar: Grammar
    held_by: frozenset[SandboxKind] = NONE
    widen: frozenset[Widening] = frozenset()
    changes: bool = False


def table_tool(tool: Tool) -> Handler:
    def judge(a: Walker, inv: Invocation) -> None:
        a.add(
            tool.level,
            f"{inv.name}: {tool.what}",
            held_by=tool.held_by,
            widen=tool.widen,
            changes=tool.changes,
        )
        apply_grammar(a, inv, tool.grammar)

    return judge


def apply_grammar(a: Walker, inv: Invocation, g: Grammar, *, skip: int = 0) -> Parsed:
    """Parse ``inv``'s arguments (after ``skip`` of them) and judge every option and operand
    by its meaning; returns the parse for checks that look further."""
    parsed = parse_args(inv.args[skip:], g)
    a.options(parsed.names)
    for name in parsed.unknown:
        a.add("high", f"{inv.name}: option {name} not understood", held_by=BOTH)
    for name, value in parsed.options:
        meaning = g.means.get(name)
        if meaning is not None:
            judge_meaning(a, inv, meaning, value, f"{inv.name} {name}")
    bulk = "*" in g.bulk or bool(parsed.names & g.bulk)
    for word, role in operand_roles(parsed.operands, g.operands):
        judge_meaning(a, inv, role, word, inv.name, bulk=bulk)
    return parsed


def judge_meaning(
    a: Walker, inv: Invocation, meaning: str, value: Word | None, what: str, *, bulk: bool = False
) -> None:
    if meaning == "read" and value is not None:
        a.read(value, what, bulk=bulk)
    elif meaning == "write" and value is not None:
        a.write(value, what)
    elif meaning == "delete" and value is not None:
        a.delete(value, what, recursive=True)
    elif meaning == "change" and value is not None:
        a.change(value, what)
    elif meaning == "dir" and value is not None:
        a.read(value, what)
    elif meaning == "run":
        literal = value.literal if value is not None else None
        a.add("high", f"{what} runs a command", held_by=BOTH)
        if literal is not None:
            a.script(literal, what)
        elif value is not None:
            a.add("unknown", f"{what} runs a command computed at run time", held_by=BOTH)
    elif meaning == "code":
        a.add("high", f"{what} runs code the gate does not read", held_by=BOTH)
    elif meaning == "net":
        a.add("high", f"{what} uses the network", widen=frozenset({"network"}))
