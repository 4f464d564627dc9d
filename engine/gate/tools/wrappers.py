"""Commands that run another command: env, sudo, timeout, nice, nohup, xargs, time, stdbuf,
flock, watch, strace ... (their options are read, then the command they run is judged as if
written alone), and those that move what they run out of the step's process group or session
(setsid, daemonize, start-stop-daemon, screen, tmux, systemd-run): at least ``high``, since the
runner's kill no longer reaches them (a sandbox's PID namespace does).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, BWRAP, names
from engine.gate.tools.grammar import Grammar, Handler, grammar, judge_meaning, parse_args
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["WRAPPERS"]


@dataclass(frozen=True, slots=True)
class Wrapper:
    grammar: Grammar  # its own options (posix: they end at the command)
    skip: int = 0  # operands before the command (timeout's duration)
    functions: bool = True  # whether a shell function can stand for the command it runs
    note: str | None = None  # a finding of its own (level high) ...
    held: bool = True  # ... contained by a sandbox


WRAPPERS_TABLE: dict[str, Wrapper] = {
    "env": Wrapper(
        grammar(
            "i0v",
            "uCS",
            "--ignore-environment --null --debug",
            "--unset --chdir --split-string --default-signal --ignore-signal --block-signal",
            means={"-C": "dir", "--chdir": "dir"},
            posix=True,
        ),
        functions=False,
    ),
    "sudo": Wrapper(
        grammar(
            "AbEeHiKklnPSsVv",
            "ugpCDhrtUTR",
            any_long=True,
            posix=True,
            means={"-D": "dir", "--chdir": "dir", "-R": "dir"},
        ),
        functions=False,
        note="runs as root (in a sandbox it cannot gain privileges)",
    ),
    "doas": Wrapper(
        grammar("ns", "uC", posix=True),
        functions=False,
        note="runs as another user (in a sandbox it cannot gain privileges)",
    ),
    "timeout": Wrapper(
        grammar(
            "v",
            "sk",
            "--preserve-status --foreground --verbose",
            "--signal --kill-after",
            posix=True,
        ),
        skip=1,
        functions=False,
    ),
    "nice": Wrapper(
        grammar("", "n", "", "--adjustment", numbers=True, posix=True), functions=False
    ),
    "ionice": Wrapper(grammar("t", "cnp", any_long=True, posix=True), functions=False),
    "nohup": Wrapper(grammar(posix=True), functions=False),
    "coproc": Wrapper(grammar(posix=True)),  # runs its command alongside the shell
    "stdbuf": Wrapper(
        grammar("", "ioe", "", "--input --output --error", posix=True), functions=False
    ),
    "command": Wrapper(grammar("pvV", posix=True), functions=False),
    "builtin": Wrapper(grammar(posix=True), functions=False),
    "exec": Wrapper(grammar("cl", "a", posix=True), functions=False),
    "time": Wrapper(
        grammar(
            "apqv",
            "fo",
            "--append --portability --quiet --verbose",
            "--format --output",
            means={"-o": "write", "--output": "write"},
            posix=True,
        )
    ),
    "chrt": Wrapper(
        grammar("abdefiormpRv", "TPD", any_long=True, posix=True), skip=1, functions=False
    ),
    "taskset": Wrapper(grammar("acp", "", any_long=True, posix=True), skip=1, functions=False),
    "numactl": Wrapper(grammar("alsH", "CmNpiPb", any_long=True, posix=True), functions=False),
    "prlimit": Wrapper(grammar(any_long=True, posix=True), functions=False),
    "unbuffer": Wrapper(grammar("p", posix=True), functions=False),
    "caffeinate": Wrapper(grammar("dimsu", "tw", posix=True), functions=False),
    "catchsegv": Wrapper(grammar(posix=True), functions=False),
    "xvfb-run": Wrapper(grammar("al", "nsefpw", any_long=True, posix=True), functions=False),
    "fakeroot": Wrapper(grammar("u", "ls", any_long=True, posix=True), functions=False),
    "strace": Wrapper(
        grammar(
            "cCdDfFhiqrtTvVwxyzZk",
            "abeEIoOpPsSuUX",
            any_long=True,
            means={"-o": "write", "--output": "write"},
            posix=True,
        ),
        functions=False,
    ),
    "ltrace": Wrapper(
        grammar(
            "bcCfhiLrStTV",
            "aAeEFlnopsuwx",
            any_long=True,
            means={"-o": "write", "--output": "write"},
            posix=True,
        ),
        functions=False,
    ),
    "valgrind": Wrapper(grammar("hqv", "", any_long=True, posix=True), functions=False),
    "setsid": Wrapper(
        grammar("cfw", "", "--ctty --fork --wait", posix=True),
        functions=False,
        note="detaches from the step's process group",
        held=False,
    ),
    "daemonize": Wrapper(
        grammar(
            "av",
            "cEeloptu",
            posix=True,
            means={"-o": "write", "-e": "write", "-p": "write", "-l": "write", "-c": "dir"},
        ),
        functions=False,
        note="detaches from the step's process group",
        held=False,
    ),
    "systemd-run": Wrapper(
        grammar("GqrPStdA", "pMuEHC", any_long=True, posix=True),
        functions=False,
        note="runs the command as a system service, outside the step (and outside any sandbox)",
        held=False,
    ),
    "chroot": Wrapper(
        grammar("", "", "--skip-chdir", "--userspec --groups", posix=True),
        skip=1,
        functions=False,
        note="runs the command as root in another root directory",
        held=False,
    ),
    "unshare": Wrapper(
        grammar("mUinpuCTfrc", "", any_long=True, posix=True),
        functions=False,
        note="runs the command in new namespaces",
    ),
    "nsenter": Wrapper(
        grammar("amuinpUCTFZ", "tSGrw", any_long=True, posix=True),
        functions=False,
        note="runs the command in another process's namespaces",
        held=False,
    ),
}
_STDIN_WORD = plain_word("(arguments from standard input)", dynamic=True)


def wrapper(a: Walker, inv: Invocation) -> None:
    spec = WRAPPERS_TABLE[inv.name]
    args = inv.args
    parsed = parse_args(args, spec.grammar)
    a.options(parsed.names)
    for option in parsed.unknown:
        a.add("high", f"{inv.name}: option {option} not understood", held_by=BOTH)
    if spec.note is not None:
        a.add("high", f"{inv.name}: {spec.note}", held_by=BWRAP if not spec.held else BOTH)
    if inv.name == "command" and parsed.has("-v", "-V"):
        a.add("low", "command -v: looks a command up")
        return
    for name, value in parsed.options:
        meaning = spec.grammar.means.get(name)
        if meaning is not None and meaning != "dir":
            judge_meaning(a, inv, meaning, value, f"{inv.name} {name}")
    for spec_string in parsed.values("-S", "--split-string"):
        if spec_string.literal is None:
            a.add("unknown", "env -S splits a string computed at run time into a command")
        else:
            a.inline(spec_string.literal, "env -S")
        return
    rest = parsed.operands[spec.skip :]
    env = dict(inv.env)
    if inv.name == "env":
        while rest and "=" in (rest[0].literal or "") and not rest[0].text.startswith("="):
            key, _, text = rest[0].text.partition("=")
            env[key] = plain_word(text, dynamic=rest[0].dynamic)
            rest = rest[1:]
    if not rest:
        a.add("low", f"{inv.name}: runs no command")
        return
    directories = parsed.values("-C", "--chdir", "-D", "-R")
    _run_inner(a, inv.shifted(rest, env=env, functions=spec.functions), directories)


def _run_inner(a: Walker, inner: Invocation, directories: list[Word]) -> None:
    """Judge the command a wrapper runs (from ``directories`` when it changes directory)."""
    current = a.current
    saved = a.state.cwd
    if directories:
        from engine.gate.tools.builtins import change_directory

        change_directory(a, directories[-1])
    try:
        a.run(inner)
    finally:
        a.state.cwd = saved
        a.current = current


XARGS = grammar(
    "0prtxo", "aEdIiLlnPs", any_long=True, posix=True, means={"-a": "read", "--arg-file": "read"}
)


def xargs(a: Walker, inv: Invocation) -> None:
    """xargs runs its command with arguments read from standard input: what a listing command
    upstream (find) prints when known, else words only run time knows."""
    parsed = parse_args(inv.args, XARGS)
    a.options(parsed.names)
    for option in parsed.unknown:
        a.add("high", f"xargs: option {option} not understood", held_by=BOTH)
    for word in parsed.values("-a", "--arg-file"):
        a.read(word, "xargs -a")
    command = parsed.operands or [plain_word("echo")]
    listing = inv.feed.listing if inv.feed is not None and not parsed.has("-a") else None
    supplied = list(listing) if listing else [_STDIN_WORD]
    placeholder = parsed.values("-I", "-i", "--replace")
    if placeholder:
        mark = placeholder[0].text or "{}"
        argv = [m for w in command for m in (supplied if w.text == mark else [w])]
    else:
        argv = [*command, *supplied]
    _run_inner(a, inv.shifted(argv, feed=None, functions=False), [])


def detach_session(a: Walker, inv: Invocation) -> None:
    """screen and tmux run (or type) commands in a terminal session outside the step."""
    a.add(
        "high",
        f"{inv.name}: runs commands in a terminal session outside the step's process group",
        held_by=BWRAP,
    )
    if inv.name == "screen":
        _screen(a, inv)
    else:
        _tmux(a, inv.args)


_SCREEN_VALUE_LETTERS = "ScehpTts"  # a cluster ending in one takes a value (-dmS name)
_TMUX_GLOBAL_VALUES = frozenset(["-c", "-f", "-L", "-S", "-T"])  # -c runs a command
_TMUX_VALUES = names("-c -e -n -s -t -x -y -N -w -T -S -F -l")
_TMUX_QUIET = names(
    """attach attach-session a at detach detach-client has-session has kill-server kill-session
        kill-window kill-pane ls list-sessions list-windows list-panes rename-session
        rename-window select-window select-pane switch-client"""
)


def _screen(a: Walker, inv: Invocation) -> None:
    argv = inv.argv
    i, sends = 1, False
    while i < len(argv) and argv[i].text.startswith("-") and len(argv[i].text) > 1:
        text = argv[i].text
        sends = sends or text in ("-X", "-Q")
        quiet = text in ("-ls", "-list", "-wipe", "-r", "-R", "-x")
        i += 2 if not quiet and text[-1] in _SCREEN_VALUE_LETTERS else 1
    rest = argv[i:]
    if sends:  # `screen -X stuff 'make\n'` types its text into the session's shell
        for word in rest[1:]:
            _script_of(a, word, "screen -X")
    elif rest:
        _run_inner(a, inv.shifted(rest, functions=False), [])


def _tmux(a: Walker, args: list[Word]) -> None:
    """new-session, split-window, run-shell, send-keys ... run (or type) their operands as a
    shell command; every subcommand but the quiet ones is read that way."""
    i = 0
    while i < len(args) and args[i].text.startswith("-") and len(args[i].text) > 1:
        if args[i].text == "-c" and i + 1 < len(args):
            _script_of(a, args[i + 1], "tmux -c")
        i += 2 if args[i].text in _TMUX_GLOBAL_VALUES else 1
    if i >= len(args) or args[i].text in _TMUX_QUIET:
        return
    operands: list[Word] = []
    rest = iter(args[i + 1 :])
    for word in rest:
        if not operands and word.text.startswith("-") and len(word.text) > 1:
            if word.text in _TMUX_VALUES:
                next(rest, None)
            continue
        operands.append(word)
    if operands:
        joined = " ".join(w.text for w in operands)
        _script_of(a, plain_word(joined, dynamic=any(w.dynamic for w in operands)), "tmux")


def _script_of(a: Walker, word: Word, what: str) -> None:
    if word.literal is None:
        a.add("unknown", f"{what}: runs a command computed at run time ({word.text!r})")
    else:
        a.script(word.literal, what)


def start_stop_daemon(a: Walker, inv: Invocation) -> None:
    a.add(
        "high", "start-stop-daemon: starts a daemon outside the step's process group", held_by=BWRAP
    )
    args = inv.args
    end = next((i for i, w in enumerate(args) if w.text == "--"), len(args))
    head = args[:end]
    program = None
    for index, word in enumerate(head):
        if word.text in ("-a", "--startas", "-x", "--exec") and index + 1 < len(head):
            program = program if word.text in ("-x", "--exec") and program else head[index + 1]
    if program is not None:
        _run_inner(a, inv.shifted([program, *args[end + 1 :]], functions=False), [])


def flock(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar("sxunoFEv", "wEc", any_long=True, posix=True))
    a.options(parsed.names)
    if not parsed.operands:
        a.add("low", "flock: locks nothing")
        return
    lock, *rest = parsed.operands
    if not lock.text.isdigit():
        a.write(lock, "flock", verb="creates a lock file")
    for script in parsed.values("-c", "--command"):
        _script_of(a, script, "flock -c")
    if rest:
        _run_inner(a, inv.shifted(rest, functions=False), [])


def watch(a: Walker, inv: Invocation) -> None:
    parsed = parse_args(inv.args, grammar("bcdeghtxpwC", "nq", any_long=True, posix=True))
    a.options(parsed.names)
    rest = parsed.operands
    if not rest:
        return
    if parsed.has("-x", "--exec"):
        _run_inner(a, inv.shifted(rest, functions=False), [])
    else:
        joined = " ".join(w.text for w in rest)
        _script_of(a, plain_word(joined, dynamic=any(w.dynamic for w in rest)), "watch")


def script_(a: Walker, inv: Invocation) -> None:
    """script(1) runs a command (or a shell) and records the session in a file."""
    parsed = parse_args(inv.args, grammar("aefqEFwkh", "cIOBtTm", any_long=True))
    a.options(parsed.names)
    for word in parsed.values(
        "-I", "-O", "-B", "-T", "--log-in", "--log-out", "--log-io", "--log-timing"
    ):
        a.write(word, "script")
    for word in parsed.operands[:1] or [plain_word("typescript")]:
        a.write(word, "script")
    commands = parsed.values("-c", "--command")
    for word in commands:
        _script_of(a, word, "script -c")
    if not commands:
        a.add("high", "script: starts an interactive shell", held_by=BOTH)


def busybox(a: Walker, inv: Invocation) -> None:
    if len(inv.argv) < 2:
        a.add("low", "busybox: lists its applets")
        return
    _run_inner(a, inv.shifted(inv.argv[1:], functions=False), [])


WRAPPERS: dict[str, Handler] = {
    **dict.fromkeys(WRAPPERS_TABLE, wrapper),
    "xargs": xargs,
    "screen": detach_session,
    "tmux": detach_session,
    "start-stop-daemon": start_stop_daemon,
    "flock": flock,
    "watch": watch,
    "script": script_,
    "busybox": busybox,
}
