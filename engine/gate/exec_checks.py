"""Argument checks for commands that run other code: wrappers (sudo, env, xargs ...), commands
that detach what they run from the step (setsid, daemonize, screen, tmux ...), shells and
interpreters (with the script they read), package tools, awk, git (configuration can run
anything), eval and trap, and process or system control (kill, init, systemctl). Each adds
findings to the Analysis; ``engine.gate.rules`` wires them up.
"""

from __future__ import annotations

import re

from engine.gate.analysis import ASSIGNMENT, Analysis, option_values, split_args
from engine.gate.commands import (
    AWK_RUNS,
    DETACHERS,
    DOWNLOADERS,
    FETCH_SUB,
    GIT_LISTING,
    GIT_LOW,
    GIT_MEDIUM,
    INLINE_FLAGS,
    PACKAGE_CHANGES,
    PATH_CHANGERS,
    PYTHON,
    SCREEN_FLAGS,
    SCREEN_VALUE_LETTERS,
    TMUX_GLOBAL_VALUE_OPTS,
    TMUX_QUIET,
    TMUX_VALUE_OPTS,
    WRAPPER_OUTPUTS,
    WRAPPERS,
)
from engine.gate.shell import SimpleCommand, Word
from engine.models import RiskLevel


def wrapper(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    value_opts, positional = WRAPPERS[name]
    if name == "sudo":
        a.add("high", "sudo: runs as root")
    i = 1
    while i < len(argv):
        text = argv[i].text
        if text == "--":
            i += 1
            break
        if name == "env" and ASSIGNMENT.match(text):
            i += 1
            continue
        if not text.startswith("-") or text == "-":
            break
        if name == "env" and text.startswith(("-S", "--split-string")):
            a.add("unknown", "env -S splits a string into a command")
            return
        if name == "command" and text in ("-v", "-V"):
            a.add("low", "command -v: looks a command up")
            return
        if text in WRAPPER_OUTPUTS.get(name, ()) and i + 1 < len(argv):
            a.write_target(argv[i + 1], f"{name} {text}")
        i += 2 if text in value_opts else 1
    rest = argv[i + positional :]
    if not rest:
        a.add("low", f"{name}: runs no command")
    elif name == "xargs":
        if rest[0].text.rsplit("/", 1)[-1] in PATH_CHANGERS:
            a.add("high", f"{rest[0].text} with arguments from xargs")
        a.command(rest, cmd, depth)
    else:
        a.command(rest, cmd, depth)


def detach(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    """setsid, daemonize, start-stop-daemon, screen, tmux: what they start outlives the step's
    process group (the runner's kill), so at least high; what they run is judged too."""
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("high", f"{name}: {DETACHERS[name]}")
    if name == "screen":
        _screen(a, argv, cmd, depth)
    elif name == "tmux":
        _tmux(a, argv[1:], depth)
    elif name == "start-stop-daemon":
        args = argv[1:]
        end = next((i for i, w in enumerate(args) if w.text == "--"), len(args))
        program = option_values(args[:end], ("-a", "--startas"))
        program = program or option_values(args[:end], ("-x", "--exec"))
        if program:
            a.command([program[0], *args[end + 1 :]], cmd, depth)
    else:
        wrapper(a, argv, cmd, depth)


def _screen(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    i, sends = 1, False
    while i < len(argv) and argv[i].text.startswith("-") and len(argv[i].text) > 1:
        text = argv[i].text
        sends = sends or text in ("-X", "-Q")
        takes_value = text not in SCREEN_FLAGS and text[-1] in SCREEN_VALUE_LETTERS
        i += 2 if takes_value else 1
    rest = argv[i:]
    if sends:  # `screen -X stuff 'make\n'` types its text into the session's shell
        for word in rest[1:]:
            a.script(word.text, depth + 1)
    elif rest:
        a.command(rest, cmd, depth)


def _tmux(a: Analysis, args: list[Word], depth: int) -> None:
    """tmux's new-session, split-window, run-shell, send-keys ... run (or type) their operands
    as a shell command; every subcommand but the quiet ones is read that way."""
    i = 0
    while i < len(args) and args[i].text.startswith("-") and len(args[i].text) > 1:
        if args[i].text == "-c" and i + 1 < len(args):
            a.script(args[i + 1].text, depth + 1)
        i += 2 if args[i].text in TMUX_GLOBAL_VALUE_OPTS else 1
    if i >= len(args) or args[i].text in TMUX_QUIET:
        return
    operands: list[Word] = []
    rest = iter(args[i + 1 :])
    for word in rest:
        if not operands and word.text.startswith("-") and len(word.text) > 1:
            if word.text in TMUX_VALUE_OPTS:
                next(rest, None)
            continue
        operands.append(word)
    if operands:
        a.script(" ".join(w.text for w in operands), depth + 1)


def interpreter(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    key = "python" if PYTHON.fullmatch(name) else name
    inline = INLINE_FLAGS.get(key, ())
    args = argv[1:]
    for index, word in enumerate(args):
        text = word.text
        short = key == "python" and re.fullmatch(r"-[a-zA-Z]*c", text)
        if text in inline or short:
            a.add("high", f"{name} {text}: runs inline code")
            return
        if key == "python" and text == "-m" and index + 1 < len(args):
            module = args[index + 1].text
            if module == "pip" and {w.text for w in args[index + 2 :]} & PACKAGE_CHANGES:
                a.add("high", f"{name} -m pip: installs or removes packages")
            else:
                a.add("medium", f"{name} -m {module}: runs project code")
            return
        if not text.startswith("-") or word.dynamic:
            _script_file(a, name, word)
            return
    _stdin_script(a, name, cmd, depth, shell=False)


def shell(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    args = argv[1:]
    if name == "su":
        a.add("high", "su: runs as another user")
        scripts = option_values(args, ("-c", "--command"), exact=True)
        for word in scripts[:1]:
            a.script(word.text, depth + 1)
        return
    has_c = False
    i = 0
    while i < len(args) and args[i].text.startswith(("-", "+")) and len(args[i].text) > 1:
        text = args[i].text
        has_c = has_c or (not text.startswith("--") and "c" in text) or text == "--command"
        i += 2 if text in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file") else 1
    rest = args[i:]
    if has_c and rest:
        if any(FETCH_SUB.match(sub) for sub in rest[0].subs):
            a.add("critical", f"{name} -c runs a downloaded script")
        a.script(rest[0].text, depth + 1)
    elif has_c:
        a.add("unknown", f"{name} -c without a script")
    elif rest:
        _script_file(a, name, rest[0])
    else:
        _stdin_script(a, name, cmd, depth, shell=True)


def _script_file(a: Analysis, name: str, word: Word) -> None:
    if any(FETCH_SUB.match(sub) for sub in word.subs):
        a.add("critical", f"{name} runs a downloaded script")
    elif word.dynamic:
        a.add("unknown", f"{name} runs a computed script {word.text!r}")
    else:
        a.add("medium", f"{name} runs {word.text}")


def _stdin_script(a: Analysis, name: str, cmd: SimpleCommand, depth: int, *, shell: bool) -> None:
    """An interpreter with no script reads one from stdin: a pipe, a here-document or a file."""
    for redirect in cmd.redirects:
        if redirect.op in ("<<", "<<-", "<<<"):
            body = redirect.target.heredoc if redirect.op != "<<<" else redirect.target.text
            if shell:
                a.script(body or "", depth + 1)
            else:
                a.add("high", f"{name} runs inline code from a here-document")
            return
    source = cmd.stdin_pipe
    if source is not None and source.name in DOWNLOADERS:
        a.add("critical", f"download piped into {name} ({source.name} | {name})")
    elif source is not None:
        a.add("unknown", f"{name} runs code read from a pipe")
    else:
        a.add("medium", f"{name}: runs an interpreter")


def package_tool(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    options, operands = split_args(argv[1:])
    verbs = [w.text for w in operands[:2]]
    if {"-e", "--eval"} & set(options):
        a.add("high", f"{name} -e: runs inline code")
    elif not verbs and name in ("yarn", "pnpm", "bundle"):
        a.add("high", f"{name}: installs packages")
    elif set(verbs) & PACKAGE_CHANGES:
        a.add("high", f"{name} {' '.join(verbs)}: installs, removes or runs downloaded packages")
    else:
        a.add("medium", f"{name} {' '.join(verbs)}".rstrip() + ": runs project tasks")


def awk(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    _, operands = split_args(argv[1:], frozenset({"-F", "-v", "-f"}))
    if option_values(argv[1:], ("-f",)):
        a.add("medium", "awk runs a program file")
    elif operands and AWK_RUNS.search(operands[0].text):
        a.add("high", "awk program runs commands or writes files")
    else:
        a.add("low", "awk: reads only")


def git(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    i = 1
    where: str | None = None
    while i < len(argv) and argv[i].text.startswith("-"):
        text = argv[i].text
        if text in ("-c", "--config-env") or text.startswith(("--exec-path", "--config-env=")):
            a.add("high", f"git {text}: configuration can make git run any command")
        if text == "-C" and i + 1 < len(argv):
            where = a.locate(argv[i + 1])[0]
        i += 2 if text in ("-c", "-C", "--config-env", "--git-dir", "--work-tree") else 1
    if i >= len(argv):
        a.add("low", "git: prints help")
        return
    sub, args = argv[i], argv[i + 1 :]
    texts = {w.text for w in args}
    if sub.dynamic or sub.quoted:
        a.add("unknown", f"git with a computed subcommand {sub.text!r}")
        return
    level, what = _git_level(sub.text, texts)
    a.add(level, f"git {sub.text}: {what}")
    if where in ("outside", "computed") and level != "low":
        a.add("high", f"git {sub.text} in another repository (-C)")
    for target in option_values(args, ("--output", "-o")):
        a.write_target(target, f"git {sub.text} --output")


def _git_level(sub: str, args: set[str]) -> tuple[RiskLevel, str]:
    if sub == "push":
        forced = args & {"-f", "--force", "--force-with-lease", "--mirror", "--delete", "-d"}
        return "high", "rewrites the remote (force)" if forced else "publishes to a remote"
    if sub == "clean":
        dry = args & {"-n", "--dry-run"}
        return ("low", "lists untracked files") if dry else ("high", "deletes untracked files")
    if sub == "reset" and "--hard" in args:
        return "high", "discards uncommitted changes"
    if sub == "config":
        reading = args & {"--get", "--get-all", "--get-regexp", "--list", "-l", "get", "list"}
        return ("low", "reads configuration") if reading else ("high", "can set commands git runs")
    if (sub in ("branch", "tag", "remote") and args <= GIT_LISTING) or (
        sub == "stash" and args & {"list", "show"}
    ):
        return "low", "lists"
    if sub in GIT_LOW:
        return "low", "reads the repository"
    if sub in GIT_MEDIUM:
        return "medium", "changes the repository or working tree"
    return "high", "unrecognised git subcommand (may be an alias)"


def misc(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    texts = [w.text for w in argv[1:]]
    if name == "kill":
        if "-1" in texts[1:] or texts[:2] == ["--", "-1"]:
            a.add("critical", "kill -1 signals every process")
        else:
            a.add("high", "kill: signals processes")
    elif name in ("init", "telinit"):
        halting = bool({"0", "6"} & set(texts))
        a.add("critical" if halting else "high", f"{name}: changes the run level")
    elif name == "systemctl":
        halting = bool({"poweroff", "reboot", "halt", "kexec"} & set(texts))
        a.add("critical" if halting else "high", "systemctl: controls system services")
    elif name in ("eval", "trap"):
        a.add("high" if name == "eval" else "low", f"{name}: runs its argument as shell code")
        words = argv[1:] if name == "eval" else [w for w in argv[1:2] if w.text[:1] != "-"]
        a.script(" ".join(w.text for w in words), depth + 1)
