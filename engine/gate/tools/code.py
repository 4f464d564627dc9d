"""Shells and interpreters. A shell's literal script (``sh -c '...'``, a here-document, a
here-string, a literal ``echo ... | sh``) is parsed and judged like the step itself; code the
gate cannot read (a script file, another language's inline code, a computed script, a pipe)
is ``high`` at least, ``unknown`` when even its text is computed, and ``critical`` when it comes
from the network (``curl ... | sh``, ``sh -c "$(curl ...)"``, ``bash <(curl ...)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, names
from engine.gate.tools.builtins import DOWNLOADERS
from engine.gate.tools.grammar import Handler
from engine.gate.walk import Walker
from engine.gate.words import Word

__all__ = ["CODE_TOOLS", "PYTHON", "code_from_stdin"]

SHELLS = names("sh bash dash zsh ksh mksh ash yash posh busybox-sh rbash")
PYTHON = re.compile(r"(python|pypy)[0-9.]*")
_SHELL_VALUES = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_SHELL_LONG = frozenset(
    {
        "--norc",
        "--noprofile",
        "--posix",
        "--login",
        "--restricted",
        "--noediting",
        "--verbose",
        "--version",
        "--help",
        "--debugger",
        "--dump-strings",
        "--dump-po-strings",
        "--pretty-print",
    }
)


STDIN_NAMES = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-"})


def _from_network(word: Word) -> bool:
    return any(source in DOWNLOADERS for source in word.sources)


def code_from_stdin(a: Walker, inv: Invocation, what: str, *, shell: bool) -> None:
    """``what`` reads code from standard input: judge the code when its text is known."""
    feed = inv.feed
    if feed is None:
        a.add("low", f"{what}: nothing to read on standard input")
    elif feed.kind == "pipe" and any(s in DOWNLOADERS for s in feed.sources):
        downloader = next(s for s in feed.sources if s in DOWNLOADERS)
        a.add("critical", f"download piped into {inv.name} ({downloader} | {inv.name})")
    elif feed.kind in ("text", "pipe") and feed.text is not None and shell:
        a.script(feed.text, what)
    elif feed.kind == "text" and feed.text is not None:
        a.add(
            "high",
            f"{what}: runs code from a here-document, which the gate does not read",
            held_by=BOTH,
        )
    elif feed.kind == "file" and feed.word is not None:
        a.read(feed.word, what)
        a.add(
            "high",
            f"{what}: runs code from {feed.word.text}, which the gate does not read",
            held_by=BOTH,
        )
    else:
        a.add(
            "unknown",
            f"{what}: runs code read from {'a pipe' if feed.kind == 'pipe' else 'input'}"
            " computed at run time",
            held_by=BOTH,
        )


def shell(a: Walker, inv: Invocation) -> None:
    name = inv.name
    args = inv.args
    has_c = reads_stdin = False
    i = 0
    while i < len(args):
        text = args[i].literal
        if text is None or not text.startswith(("-", "+")) or text in ("-", "--"):
            i += text in ("-", "--") if text is not None else 0
            break
        if text in _SHELL_VALUES:
            if text in ("--rcfile", "--init-file") and i + 1 < len(args):
                a.read(args[i + 1], f"{name} {text}")
                a.add(
                    "high",
                    f"{name} {text}: runs start-up code the gate does not read",
                    held_by=BOTH,
                )
            i += 2
            continue
        if text.startswith("--") and text not in _SHELL_LONG:
            a.add("high", f"{name}: option {text} not understood", held_by=BOTH)
        elif not text.startswith("--"):
            has_c = has_c or "c" in text[1:]
            reads_stdin = reads_stdin or "s" in text[1:]
            unknown = set(text[1:]) - set("abcefhiklmnprstuvxBCEHPT")
            if unknown:
                a.add("high", f"{name}: option {text} not understood", held_by=BOTH)
        i += 1
    rest = args[i:]
    what = f"{name} -c" if has_c else name
    if has_c and rest:
        script = rest[0]
        if _from_network(script):
            a.add("critical", f"{name} -c runs a script downloaded from the network")
        elif script.literal is None:
            a.add(
                "unknown",
                f"{name} -c runs a script computed at run time: {script.text!r}",
                held_by=BOTH,
            )
        else:
            a.add("low", f"{name} -c: runs a script (analysed)")
            a.script(script.literal, what, rest[1:])
    elif has_c:
        a.add("high", f"{name} -c without a script", held_by=BOTH)
    elif rest and not reads_stdin and rest[0].literal not in STDIN_NAMES:
        _script_file(a, name, rest[0])
    else:
        code_from_stdin(a, inv, name, shell=True)


def _script_file(a: Walker, name: str, word: Word) -> None:
    if _from_network(word):
        a.add("critical", f"{name} runs a script downloaded from the network")
        return
    a.read(word, name)
    if word.literal is None:
        a.add("unknown", f"{name} runs a script computed at run time: {word.text!r}", held_by=BOTH)
    elif word.literal.startswith("/dev/fd/"):
        a.add("unknown", f"{name} runs the output of a command as a script", held_by=BOTH)
    else:
        a.add(
            "high",
            f"{name} {word.text}: runs a script file, which the gate does not read",
            held_by=BOTH,
        )


@dataclass(frozen=True, slots=True)
class Language:
    """An interpreter's command line: ``inline`` options take code, ``values`` take other
    values, ``flags`` take none; ``cluster``: short options combine (``perl -lne``)."""

    inline: frozenset[str]
    values: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    cluster: bool = False
    in_place: frozenset[str] = frozenset()  # options that edit the operand files
    modules: frozenset[str] = frozenset()  # options that load code by name


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


LANGUAGES: dict[str, Language] = {
    "node": Language(
        _set("-e --eval -p --print"),
        _set(
            "-r --require --import --loader --experimental-loader --input-type "
            "--conditions -C --env-file --title --stack-size --max-old-space-size"
        ),
        _set(
            "-c --check -i --interactive --test --watch --no-warnings "
            "--enable-source-maps --trace-warnings --experimental-vm-modules -v "
            "--version -h --help"
        ),
        modules=_set("-r --require --import --loader --experimental-loader"),
    ),
    "perl": Language(
        _set("-e -E"),
        _set("-F -I -M -m -x -0 -l -C -d -D"),
        _set("-n -p -a -c -s -T -t -U -W -X -w -v -S -i"),
        cluster=True,
        in_place=_set("-i"),
        modules=_set("-M -m -d"),
    ),
    "ruby": Language(
        _set("-e"),
        _set("-r -I -C -F -E -x -0 -l -W -T -K"),
        _set("-n -p -a -c -d -s -S -v -w -y -U -i --version -h --help"),
        cluster=True,
        in_place=_set("-i"),
        modules=_set("-r"),
    ),
    "php": Language(
        _set("-r -B -R -E"),
        _set("-c -d -z -t -S -f"),
        _set("-a -e -h -H -i -l -m -n -s -v -w --ini"),
        modules=_set("-d -z"),
    ),
    "lua": Language(_set("-e"), _set("-l"), _set("-i -v -E -W -"), modules=_set("-l")),
    "Rscript": Language(
        _set("-e"),
        _set("--default-packages"),
        _set("--vanilla --verbose --no-environ --no-site-file --no-init-file --restore --save"),
    ),
    "julia": Language(
        _set("-e -E -L --eval --print"),
        _set("-p -t -J --project -O"),
        _set("-q -i -v --version --startup-file=no --history-file=no"),
    ),
    "osascript": Language(_set("-e"), _set("-l -s"), frozenset()),
    "pwsh": Language(
        _set("-c -Command -EncodedCommand -e -ec"),
        _set("-f -File -WorkingDirectory"),
        _set("-NoProfile -NonInteractive -NoLogo -nop -noni"),
    ),
    "tclsh": Language(frozenset(), frozenset(), frozenset()),
    "expect": Language(_set("-c"), _set("-f"), _set("-d -D -i -n -N -v -b")),
}
LANGUAGES["nodejs"] = LANGUAGES["node"]
LANGUAGES["luajit"] = LANGUAGES["lua"]
LANGUAGES["powershell"] = LANGUAGES["pwsh"]
LANGUAGES["wish"] = LANGUAGES["tclsh"]


def interpreter(a: Walker, inv: Invocation) -> None:
    language = LANGUAGES[inv.name]
    args = inv.args
    i = 0
    while i < len(args):
        text = args[i].literal
        if text is None or not text.startswith("-") or text == "-":
            break
        if text == "--":
            i += 1
            break
        name, _, attached = text.partition("=")
        letters = (
            [f"-{c}" for c in text[1:]]
            if language.cluster and not text.startswith("--")
            else [name]
        )
        for index, option in enumerate(letters):
            if option in language.inline:
                a.add(
                    "high",
                    f"{inv.name} {text}: runs inline code, which the gate does not read",
                    held_by=BOTH,
                )
                _in_place(a, inv, language, args, text)
                return
            if option in language.modules:
                a.add("high", f"{inv.name} {option}: loads code by name", held_by=BOTH)
            if option in language.values:
                if not attached and (not language.cluster or index == len(letters) - 1):
                    i += 1
                break
            if option not in language.flags and not (language.cluster and option[1:].isdigit()):
                a.add("high", f"{inv.name}: option {text} not understood", held_by=BOTH)
                break
        i += 1
    rest = args[i:]
    if rest and rest[0].literal not in STDIN_NAMES:
        _script_file(a, inv.name, rest[0])
        _in_place(a, inv, language, args, "")
    elif any(t in ("-v", "--version", "-h", "--help") for t in (w.text for w in args)):
        a.add("low", f"{inv.name}: prints its version or help")
    else:
        code_from_stdin(a, inv, inv.name, shell=False)


def _in_place(a: Walker, inv: Invocation, language: Language, args: list[Word], _: str) -> None:
    """perl -i, ruby -i: the file operands after the code are edited in place."""
    cluster = "".join(
        w.text[1:] for w in args if w.text.startswith("-") and not w.text.startswith("--")
    )
    if not language.in_place or "i" not in cluster:
        return
    operands = [w for w in args if not w.text.startswith("-")][1:]
    for word in operands:
        a.write(word, f"{inv.name} -i", verb="edits")


PYTHON_FLAGS = frozenset("bBdEhiIOPqsSuvVx")
# modules run with -m: what they are (anything else runs code the gate does not know)
PYTHON_MODULES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        ("pytest", "unittest", "doctest", "nose2", "coverage", "tox", "nox", "hypothesis"),
        ("medium", "runs the project's tests"),
    ),
    **dict.fromkeys(
        names("mypy pyright flake8 pylint pyflakes pycodestyle pydocstyle bandit vulture"),
        ("medium", "checks the project's code"),
    ),
    **dict.fromkeys(
        ("compileall", "py_compile", "build", "zipapp", "sphinx", "mkdocs"),
        ("medium", "builds the project"),
    ),
    **dict.fromkeys(
        ("ruff", "black", "isort", "autopep8", "yapf"),
        ("medium", "checks or formats the project's code"),
    ),
    **dict.fromkeys(("venv", "virtualenv"), ("medium", "creates a virtual environment")),
    **dict.fromkeys(
        names(
            """json.tool site sysconfig platform this tokenize pydoc_data calendar uuid
            base64"""
        ),
        ("low", "prints information"),
    ),
}


def python(a: Walker, inv: Invocation) -> None:
    from engine.gate.tools.packages import pip  # pip semantics, for `python -m pip`

    args = inv.args
    i = 0
    while i < len(args):
        text = args[i].literal
        if text is None or not text.startswith("-") or text == "-":
            break
        if text == "--":
            i += 1
            break
        if text in ("--version", "--help", "-V", "-h"):
            a.add("low", f"{inv.name}: prints its version or help")
            return
        if text.startswith("--check-hash-based-pycs"):
            i += 1 if "=" in text else 2
            continue
        for index, letter in enumerate(text[1:], start=1):
            rest = text[index + 1 :]
            value = rest or (args[i + 1].text if i + 1 < len(args) else "")
            if letter == "c":
                a.add(
                    "high",
                    f"{inv.name} -c: runs inline Python code, which the gate does not read",
                    held_by=BOTH,
                )
                return
            if letter == "m":
                module_args = args[i + (1 if rest else 2) :]
                _module(a, inv, value, module_args, pip)
                return
            if letter in "WX":
                i += 0 if rest else 1
                break
            if letter not in PYTHON_FLAGS:
                a.add("high", f"{inv.name}: option -{letter} not understood", held_by=BOTH)
        i += 1
    operands = args[i:]
    if operands and operands[0].literal not in STDIN_NAMES:
        _script_file(a, inv.name, operands[0])
    else:
        code_from_stdin(a, inv, inv.name, shell=False)


def _module(a: Walker, inv: Invocation, module: str, args: list[Word], pip: Handler) -> None:
    a.subcommand(f"-m {module}")
    if module == "pip":
        inner = inv.shifted([inv.argv[0], *args])
        inner.name = "pip"
        pip(a, inner)
        return
    if module == "http.server":
        a.add(
            "high",
            f"{inv.name} -m http.server: serves files over the network",
            widen=frozenset({"network"}),
        )
        return
    level, what = PYTHON_MODULES.get(module, ("high", "runs a module the gate does not know"))
    a.add(level, f"{inv.name} -m {module}: {what}", held_by=BOTH, changes=level != "low")  # type: ignore[arg-type]
    if module in ("venv", "virtualenv"):
        for word in [w for w in args if not w.text.startswith("-")][:1]:
            a.write(word, f"{inv.name} -m {module}", verb="creates")
    elif module in ("json.tool",) and len([w for w in args if not w.text.startswith("-")]) > 1:
        a.write([w for w in args if not w.text.startswith("-")][1], f"{inv.name} -m json.tool")
    if module in PYTHON_MODULES and level != "low":
        cwd_note = a.outside_cwd()
        if cwd_note:
            a.add(
                "high",
                f"{inv.name} -m {module} runs outside the workspace ({cwd_note})",
                held_by=BOTH,
            )


CODE_TOOLS: dict[str, Handler] = {
    **dict.fromkeys(SHELLS, shell),
    **dict.fromkeys(LANGUAGES, interpreter),
}
