"""Shell builtins that change the shell itself: cd, pushd and popd (where relative paths point),
read and friends (variables only run time knows), alias, exec, eval, source, trap, hash, set."""

from __future__ import annotations

import os

from engine.gate.analysis import Feed, Invocation
from engine.gate.base import BOTH, names
from engine.gate.tools.grammar import Handler, grammar, parse_args
from engine.gate.tools.wrappers import wrapper
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["BUILTINS", "DOWNLOADERS", "change_directory"]

# Programs whose output comes from the network: running it as code is a download piped to a shell.
DOWNLOADERS = frozenset(
    names("curl wget fetch aria2c http https xh nc ncat netcat socat ssh lynx w3m links")
)


def change_directory(a: Walker, target: Word, *, cdpath: bool = False) -> None:
    """Move the analysis's working directories as ``cd target`` would (``cd -L``: the logical
    path, so `cd link/..` is where it started)."""
    literal_values = None if target.dynamic or target.text == "-" else target.values
    relative = literal_values is not None and not any(
        v.startswith(("/", "~", "./", "../")) or v in (".", "..") for v in literal_values
    )
    uses_cdpath = cdpath or (
        "CDPATH" in a.state.variables and a.state.variables["CDPATH"] != (("", False),)
    )
    if literal_values is None or (relative and uses_cdpath):
        a.state.cwd = None
        return
    found: set[str] = set()
    for value in literal_values:
        home = a.locator.expand_home(value)
        if home is None:
            a.state.cwd = None
            return
        if home.startswith("/"):
            found.add(os.path.normpath(home))
        elif a.state.cwd is None:
            a.state.cwd = None
            return
        else:
            found |= {os.path.normpath(f"{cwd}/{home}") for cwd in a.state.cwd}
    a.state.cwd = frozenset(found)


def cd(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar("LPe@", ""))
    a.options(parsed.names)
    a.add("low", f"{inv.name}: changes directory")
    if inv.name == "popd":
        a.state.cwd = None  # the directory stack is not followed
        return
    target = parsed.operands[0] if parsed.operands else plain_word("~")
    if inv.name == "pushd" and (not parsed.operands or target.text.startswith(("+", "-"))):
        a.state.cwd = None
        return
    change_directory(a, target, cdpath="CDPATH" in inv.env)


def sets_variables(a: Walker, inv: Invocation) -> None:
    """read, mapfile, getopts, printf -v: the variables they set hold what only run time knows."""
    parsed = parse_args(inv.args, grammar("ersta", "dinNpuCcOs", any_long=True, operands="data*"))
    a.options(parsed.names)
    a.add("low", f"{inv.name}: reads input into variables")
    if parsed.has("-C"):
        a.add("high", f"{inv.name} -C: runs a callback command", held_by=BOTH)
    names = [w.text for w in parsed.operands] + [w.text for w in parsed.values("-a", "-v")]
    if inv.name == "getopts":
        names = names[1:2]
    for name in names or ["REPLY", "MAPFILE"]:
        a.state.variables[name] = None


def printf(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar("", "v", operands="data*", posix=True))
    a.add("low", "printf: prints text")
    for word in parsed.values("-v"):
        a.state.variables[word.text] = None
    if not parsed.has("-v"):
        texts = [w.literal for w in parsed.operands]
        if len(texts) == 1 and texts[0] is not None and "%" not in texts[0]:
            a.output = Feed("pipe", text=texts[0].replace("\\n", "\n"))


def echo(a: Walker, inv: Invocation) -> None:
    a.add("low", "echo: prints text")
    words = inv.args
    if words and words[0].text.startswith("-") and set(words[0].text[1:]) <= set("neE"):
        if "e" in words[0].text or "n" in words[0].text:
            return  # escapes or no newline: the printed text is not followed
        words = words[1:]
    texts = [w.literal for w in words]
    if all(t is not None for t in texts):
        a.output = Feed("pipe", text=" ".join(t or "" for t in texts) + "\n")


def alias(a: Walker, inv: Invocation) -> None:
    defined = False
    for word in inv.args:
        name, eq, value = word.text.partition("=")
        if not eq or word.text.startswith("-"):
            continue
        defined = True
        text = None if word.dynamic else value
        a.define_alias(name, text)
        a.add(
            "high",
            f"alias {name}: defines an alias, which later commands named {name!r} run instead",
        )
        if text is not None:
            a.inline(text, f"alias {name}")
    if not defined:
        a.add("low", "alias: lists aliases")


def exec_(a: Walker, inv: Invocation) -> None:
    """exec with a command replaces the shell with it; without one its redirections stay on."""
    if len(inv.argv) > 1:
        wrapper(a, inv)
        return
    a.add("low", "exec: redirects this shell's input or output")
    for redirect in inv.redirects:
        if redirect.op in ("<", "<&") and redirect.target is not None:
            a.state.stdin = Feed("file", word=redirect.target)


def eval_(a: Walker, inv: Invocation) -> None:
    words = inv.args
    if any(src in DOWNLOADERS for w in words for src in w.sources):
        a.add("critical", "eval runs text downloaded from the network")
        return
    texts = [w.literal for w in words]
    if any(t is None for t in texts):
        a.add("unknown", "eval runs text computed at run time", held_by=BOTH)
        return
    a.add("low", "eval: runs its literal arguments as shell commands")
    a.inline(" ".join(t or "" for t in texts), "eval")


def source(a: Walker, inv: Invocation) -> None:
    """source / `.`: runs a file's commands in this shell."""
    if not inv.args:
        a.add("high", f"{inv.name}: no file given")
        return
    script = inv.args[0]
    if any(src in DOWNLOADERS for src in script.sources):
        a.add("critical", f"{inv.name} runs a script downloaded from the network")
        return
    a.read(script, inv.name)
    literal = script.literal
    if literal is not None and literal.endswith("/bin/activate"):
        places = a.places(script)
        if all(p.kind == "inside" for p in places):
            a.add("medium", f"{inv.name} {literal}: activates the workspace's virtual environment")
            return
    a.add(
        "high",
        f"{inv.name} {script.text}: runs a file's commands, which the gate does not read",
        held_by=BOTH,
    )


def trap(a: Walker, inv: Invocation) -> None:
    words = inv.args
    if not words or words[0].text.startswith("-") or words[0].text.isdigit():
        a.add("low", "trap: lists or resets traps")
        return
    action = words[0]
    a.add("low", "trap: runs a command when the shell gets a signal or exits")
    if action.literal is None:
        a.add("unknown", "trap runs a command computed at run time", held_by=BOTH)
    else:
        a.inline(action.literal, "trap")


def hash_(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar("rdlt", "p", operands="data*"))
    if parsed.has("-p"):
        a.add("high", "hash -p: makes a command name run another program", held_by=BOTH)
    else:
        a.add("low", "hash: lists or forgets remembered commands")


def set_(a: Walker, inv: Invocation) -> None:
    if inv.name == "enable" and any(w.text.startswith("-f") for w in inv.args):
        a.add("high", "enable -f: loads a builtin from a shared library", held_by=BOTH)
        return
    a.add("low", f"{inv.name}: sets shell options")
    if inv.name == "set" and any(w.text == "--" for w in inv.args):
        for index in range(1, 10):
            a.state.variables[str(index)] = None


def let(a: Walker, inv: Invocation) -> None:
    if any("$(" in w.text or "`" in w.text for w in inv.args):
        a.add("high", "let: arithmetic that expands commands", held_by=BOTH)
    else:
        a.add("low", "let: evaluates arithmetic")


BUILTINS: dict[str, Handler] = {
    **dict.fromkeys(("cd", "pushd", "popd", "chdir"), cd),
    **dict.fromkeys(("read", "mapfile", "readarray", "getopts"), sets_variables),
    "printf": printf,
    "echo": echo,
    "alias": alias,
    "exec": exec_,
    "eval": eval_,
    **dict.fromkeys(("source", "."), source),
    "trap": trap,
    "hash": hash_,
    **dict.fromkeys(("set", "shopt", "enable"), set_),
    "let": let,
}
