"""Tools that take a program of their own: sed and awk. Their programs are read (a small reader
for each language) for what can write files or run commands: sed's ``w``/``W``/``e`` commands
and ``s///w``/``e`` flags, awk's ``system()``, pipes, output redirections and ``@`` indirect
calls. A program the reader does not follow, or one given in a file, is at least ``high``.
"""

from __future__ import annotations

import re

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH
from engine.gate.tools.grammar import Handler, grammar, parse_args
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["SCRIPT_TOOLS", "awk_findings", "sed_findings"]

SED = grammar(
    "nrEsuzi",
    "efl",
    "--quiet --silent --regexp-extended --separate --unbuffered --null-data --debug --posix "
    "--sandbox --follow-symlinks --in-place",
    "--expression --file --line-length",
)
_SED_SIMPLE = set("=dDgGhHlnNpPqQxz#}!")  # commands with no argument (q/Q/l may take a number)
_SED_LABEL = set("btT:")
_SED_TEXT = set("aic")
_SED_FILE_READ = set("rR")
_SED_FILE_WRITE = set("wW")


def sed_findings(program: str) -> list[tuple[str, str]]:
    """(kind, detail) for what a sed program does beyond editing its text: ``write`` (a file
    name), ``run`` (a command), ``read`` (a file name), ``unknown`` (what it cannot read)."""
    found: list[tuple[str, str]] = []
    i, n = 0, len(program)
    while i < n:
        c = program[i]
        if c in " \t\n;{}!":
            i += 1
            continue
        i = _skip_address(program, i)
        if i >= n:
            break
        c = program[i]
        i += 1
        if c in " \t":
            continue
        if c in _SED_SIMPLE or c in "qQlL":
            while i < n and program[i] in " \t0123456789":
                i += 1
        elif c in _SED_LABEL or c in _SED_TEXT:
            i = _line_end(program, i)
        elif c in _SED_FILE_READ | _SED_FILE_WRITE:
            end = _line_end(program, i)
            name = program[i:end].strip()
            found.append(("write" if c in _SED_FILE_WRITE else "read", name))
            i = end
        elif c == "e":
            end = _line_end(program, i)
            found.append(("run", program[i:end].strip() or "(the pattern space)"))
            i = end
        elif c in "sy":
            i = _substitution(program, i, c, found)
        else:
            found.append(("unknown", f"sed command {c!r}"))
            i = _line_end(program, i)
    return found


def _skip_address(program: str, i: int) -> int:
    """Past an address such as ``1``, ``$``, ``/re/``, ``\\%re%``, ``1,5``, ``0~2``."""
    for _ in range(2):
        while i < len(program) and program[i] in " \t":
            i += 1
        if i < len(program) and program[i] in "/\\":
            delimiter = program[i + 1] if program[i] == "\\" and i + 1 < len(program) else "/"
            i = _delimited(program, i + (2 if program[i] == "\\" else 1), delimiter) + 1
            while i < len(program) and program[i] in "IM":
                i += 1
        else:
            while i < len(program) and (program[i].isdigit() or program[i] in "$~+"):
                i += 1
        if i < len(program) and program[i] == ",":
            i += 1
            continue
        break
    while i < len(program) and program[i] in " \t!":
        i += 1
    return i


def _delimited(program: str, i: int, delimiter: str) -> int:
    """Index of the unescaped ``delimiter`` from ``i`` (or the end)."""
    while i < len(program) and program[i] != delimiter:
        i += 2 if program[i] == "\\" else 1
    return i


def _line_end(program: str, i: int) -> int:
    end = program.find("\n", i)
    return len(program) if end < 0 else end


def _substitution(program: str, i: int, command: str, found: list[tuple[str, str]]) -> int:
    if i >= len(program):
        found.append(("unknown", f"unfinished {command} command"))
        return i
    delimiter = program[i]
    end = _delimited(program, i + 1, delimiter)
    end = _delimited(program, end + 1, delimiter)
    i = end + 1
    if command == "y":
        return i
    while i < len(program) and program[i] not in ";\n}":
        flag = program[i]
        if flag == "w":
            stop = _line_end(program, i + 1)
            found.append(("write", program[i + 1 : stop].strip()))
            return stop
        if flag == "e":
            found.append(("run", "(the result of the substitution)"))
        elif not (flag.isdigit() or flag in "gpiImM \t"):
            found.append(("unknown", f"s flag {flag!r}"))
        i += 1
    return i


def _sed_args(args: list[Word]) -> list[Word]:
    """``-i[SUFFIX]`` takes an optional attached suffix (so ``-ie`` is -i with suffix "e"):
    split such a cluster into its flags and a plain ``-i``."""
    out: list[Word] = []
    for word in args:
        text = word.literal or ""
        if text.startswith("-") and not text.startswith("--") and "i" in text:
            head = text[1 : text.index("i")]
            if all(c in "nrEsuz" for c in head):
                out += [plain_word(f"-{head}")] if head else []
                out.append(plain_word("-i"))
                continue
        out.append(word)
    return out


def sed(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(_sed_args(inv.args), SED)
    a.options(parsed.names)
    in_place = parsed.has("-i", "--in-place")
    for option in parsed.unknown:
        a.add("high", f"sed: option {option} not understood", held_by=BOTH)
    programs = parsed.values("-e", "--expression")
    files = parsed.values("-f", "--file")
    operands = parsed.operands
    if not programs and not files:
        programs, operands = operands[:1], operands[1:]
    for word in files:
        a.read(word, "sed -f")
        a.add("high", "sed -f: runs a sed program from a file the gate does not read", held_by=BOTH)
    for word in programs:
        _judge_sed_program(a, word, sandboxed=parsed.has("--sandbox"))
    if in_place:
        for word in operands:
            a.write(word, "sed -i", verb="edits")
    else:
        a.add("low", "sed: prints edited text")
        for word in operands:
            a.read(word, "sed")


def _judge_sed_program(a: Walker, word: Word, *, sandboxed: bool) -> None:
    program = word.literal
    if program is None:
        a.add("unknown", f"sed program computed at run time: {word.text!r}", held_by=BOTH)
        return
    for kind, detail in sed_findings(program):
        if sandboxed and kind in ("write", "read", "run"):
            continue  # sed --sandbox refuses them
        if kind == "write":
            a.write(plain_word(detail), "sed w")
        elif kind == "read":
            a.read(plain_word(detail), "sed r")
        elif kind == "run":
            a.add("high", f"sed e runs a command: {detail}", held_by=BOTH)
            if not detail.startswith("("):
                a.script(detail, "sed e")
        else:
            a.add("high", f"sed: {detail} not understood", held_by=BOTH)


AWK = grammar("bcCdDeEgiIlLMnNOpPrsStvVW", "FvfeiElLWo", any_long=True, posix=True)
_AWK_TOKEN = re.compile(
    r'"(?:\\.|[^"\\])*"'  # a string
    r"|#[^\n]*"  # a comment
    r"|[A-Za-z_][A-Za-z0-9_]*"  # a name
    r"|\|\||&&|\|&|>>|[|><@/()\[\]{};\n$]"  # operators that matter
    r"|[0-9.]+|\\\n|\S",
)
_AWK_VALUE_END = re.compile(r"[A-Za-z0-9_)\]$.]$")  # after these a `/` divides
_AWK_STATEMENT_END = frozenset({";", "\n", "}", "{"})


def awk_findings(program: str) -> list[str]:
    """What in an awk program can run commands or write files (empty: it only prints)."""
    found: list[str] = []
    tokens: list[str] = []
    i = 0
    while i < len(program):
        match = _AWK_TOKEN.match(program, i)
        if match is None:
            i += 1
            continue
        token = match.group()
        if token == "/" and not (tokens and _AWK_VALUE_END.search(tokens[-1])):
            end = _regex_end(program, match.end())
            if end is None:
                return ["a regular expression the gate cannot read"]
            i = end
            tokens.append("/re/")
            continue
        i = match.end()
        if not token.startswith("#") and token != "\\\n":
            tokens.append(token)
    in_print = 0
    for index, token in enumerate(tokens):
        if token in ("system", "@"):
            found.append(
                "system() runs a command"
                if token == "system"
                else "an @ indirect call can reach system()"
            )
        elif token in ("|", "|&"):
            found.append(f"{token} runs a command")
        elif token in ("print", "printf"):
            in_print = 1
        elif token == "(" and in_print:
            in_print += 1
        elif token == ")" and in_print > 1:
            in_print -= 1
        elif token in _AWK_STATEMENT_END:
            in_print = 0
        elif token in (">", ">>") and in_print == 1:
            target = tokens[index + 1] if index + 1 < len(tokens) else ""
            found.append(f"print {token} {target} writes a file")
    return list(dict.fromkeys(found))


def _regex_end(program: str, i: int) -> int | None:
    in_class = False
    while i < len(program):
        c = program[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            return None
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            return i + 1
        i += 1
    return None


def awk(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, AWK)
    a.options(parsed.names)
    files = parsed.values("-f", "--file", "-i", "--include", "-E", "--exec", "-l", "--load")
    for word in files:
        a.read(word, f"{inv.name} -f")
    programs = parsed.values("-e", "--source")
    operands = parsed.operands
    if files:
        a.add("high", f"{inv.name}: runs awk code from a file the gate does not read", held_by=BOTH)
    elif not programs and operands:
        programs, operands = operands[:1], operands[1:]
    for program in programs:
        text = program.literal
        if text is None:
            a.add("unknown", f"awk program computed at run time: {program.text!r}", held_by=BOTH)
            continue
        found = awk_findings(text)
        for detail in found:
            target = re.fullmatch(r'print >>? "([^"\\]*)" writes a file', detail)
            if target is not None:
                a.write(plain_word(target.group(1)), f"{inv.name} print >")
            else:
                a.add("high", f"{inv.name}: {detail}", held_by=BOTH)
        if not found:
            a.add("low", f"{inv.name}: prints what its program computes")
    for word in operands:
        if "=" not in word.text.partition("/")[0]:  # var=value operands are assignments
            a.read(word, inv.name)
    for word in parsed.values("-o", "--pretty-print"):
        a.write(word, f"{inv.name} -o")


SCRIPT_TOOLS: dict[str, Handler] = {
    "sed": sed,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk", "busybox-awk"), awk),
}
