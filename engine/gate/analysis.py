"""The walk over one command line: collects (level, reason) findings for every simple command,
follows substitutions and what commands wrap, tracks ``cd`` and the links the script makes, says
where a path word points (through symbolic links) and flags reads of well-known secret stores.

What a single command means is decided by the ``classify`` callback (``engine.gate.rules``); the
option readers at the end are shared by its argument checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Literal

from engine.gate.base import LEVEL_ORDER
from engine.gate.commands import BULK_READERS, NON_READERS, SECRET_NAMES, SECRET_STORES
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
_HOME_DIRS = re.compile(r"^(?:~[^/]*|/root|/home(?:/[^/]+)?|/Users(?:/[^/]+)?)(?=/|$)")
_NOT_FOLLOWED = ("/dev/", "/proc/")  # links there name streams and processes, not files
MAX_DEPTH = 8  # nested sh -c / $( ) levels (or links followed) before we give up: unknown


class Analysis:
    """Walks one command line, collecting (level, reason) findings; ``classify`` (the rules)
    judges each simple command and calls back into ``command``/``script`` for what it wraps."""

    def __init__(self, workspace: str, classify: CommandRule) -> None:
        # Containment compares real paths: the workspace's realpath against each target's
        # (through every link), so a symlinked workspace neither hides nor invents an escape.
        self.root = os.path.realpath(workspace)
        self.cwd: str | None = self.root  # absolute or under "~"; None once a `cd` is computed
        self.links: dict[str, str | None] = {}  # links this script made -> target (None: computed)
        self.disk_links: dict[str, bool] = {}  # path -> is a symbolic link on disk (looked up once)
        home = os.path.expanduser("~")
        homes = {os.path.normpath(home), os.path.realpath(home)}
        self.homes = [h for h in homes if h.startswith("/") and h != "/"]
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
            if cmd.name not in NON_READERS:
                self.read_secrets(cmd.words[start + 1 :], bulk=cmd.name in BULK_READERS)

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
        if redirect.op in ("<", "<>"):
            self.read_secrets([redirect.target], bulk=False)
        if redirect.op not in _WRITE_OPS:
            return
        text = redirect.target.text
        if redirect.op == ">&" and (text.isdigit() or text == "-"):
            return  # fd duplication such as 2>&1
        self.write_target(redirect.target, f"redirect {redirect.op}")

    def locate(self, word: Word, *, follow_last: bool = True) -> tuple[Location, str]:
        """Where a path word points: a harmless sink, inside (with its workspace-relative path),
        outside the workspace (with a description), or computed at run time. Symbolic links are
        followed, the last one only when ``follow_last`` (``rm x`` removes the link itself)."""
        text = word.text
        if word.dynamic and not text.startswith(HOME_PREFIXES):
            return "computed", text
        if text in SINKS or text.startswith("/dev/fd/"):
            return "sink", text
        walked = self._walk(text, follow_last)
        if walked is None:
            return "computed", text
        full, crossed = walked
        shown = f"{text} (a link to {full})" if crossed else text
        if full in SINKS or full.startswith("/dev/fd/"):
            return "sink", shown
        if full == self.root:
            return "inside", "."
        if full.startswith(self.root + "/"):
            return "inside", full[len(self.root) + 1 :]
        return "outside", shown

    def resolve(self, text: str, *, follow_last: bool = True) -> str | None:
        """The absolute (or ``~``-based) path ``text`` names, through symbolic links; None when
        it depends on a computed directory."""
        walked = self._walk(text, follow_last)
        return None if walked is None else walked[0]

    def _walk(self, text: str, follow_last: bool, *, disk: bool = True) -> tuple[str, bool] | None:
        """(path, crossed a link): walks component by component so that `..` after a link
        climbs from the link's target, as the kernel does. Follows the links this script made
        and, with ``disk``, those on disk."""
        path = home_path(text)
        if path is None and text.startswith("/"):
            path = text
        elif path is None:
            if self.cwd is None:
                return None
            path = f"{self.cwd}/{text}"
        current, *pending = path.split("/")
        crossed, hops = False, 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                current = current.rpartition("/")[0]
            elif part not in ("", "."):
                current = f"{current}/{part}"
                if not (pending or follow_last) or not self._is_link(current, disk):
                    continue
                target, hops, crossed = self._link_target(current), hops + 1, True
                if target is None or hops > MAX_DEPTH:
                    return None
                current, *rest = target.split("/")
                pending = rest + pending
        return current or "/", crossed

    def _is_link(self, path: str, disk: bool) -> bool:
        if path in self.links:
            return True
        if not disk or not path.startswith("/") or path.startswith(_NOT_FOLLOWED):
            return False
        if f"{self.root}/".startswith(f"{path}/"):
            return False  # the root and its parents: already a real path
        if path not in self.disk_links:
            self.disk_links[path] = os.path.islink(path)
        return self.disk_links[path]

    def _link_target(self, path: str) -> str | None:
        if path in self.links:
            return self.links[path]
        try:
            target = os.readlink(path)
        except (OSError, ValueError):
            return None
        return target if target.startswith("/") else f"{path.rpartition('/')[0]}/{target}"

    def read_secrets(self, words: list[Word], *, bulk: bool) -> None:
        """Flag words naming a well-known secret store (``commands.SECRET_STORES``); a ``bulk``
        reader (cp, tar, grep ...) given a directory that holds one reads it too."""
        for word in words:
            text = word.text
            for part in {text, text.partition("=")[2], text.partition(":")[2]} - {""}:
                found = self._secret(part, bulk)
                if found:
                    store, whole = found
                    held = store if whole else f"{text} includes {store}"
                    self.add("high", f"reads secrets ({held})")
                    break

    def _secret(self, part: str, bulk: bool) -> tuple[str, bool] | None:
        """The secret store ``part`` names, as written (through links this script made) or
        where it really leads."""
        walked = self._walk(part, True)
        paths = [walked[0]] if walked else []
        if walked is None or walked[1]:  # through a link on disk: the written path counts too
            written = self._walk(part, True, disk=False)
            paths += [written[0]] if written else []
        for full in paths:
            found = secret_in(self._home_based(full), bulk)
            if found:
                return found
        return secret_in(part, bulk=False)

    def _home_based(self, full: str) -> str:
        """``full`` with a home directory (this user's, /root, /home/<user>) written as ``~``."""
        for home in self.homes:
            if f"{full}/".startswith(f"{home}/"):
                return "~" + full[len(home) :]
        return _HOME_DIRS.sub("~", full)

    def guard(
        self, word: Word, what: str, *, follow_last: bool = True, root_ok: bool = False
    ) -> tuple[Location, str] | None:
        """Judge a path that ``what`` changes. Outside the workspace, the workspace root itself
        (unless ``root_ok``) or a path agentd never writes: critical; computed: unknown. Those
        are recorded and give None; otherwise (``sink`` or ``inside``, workspace-relative path)."""
        where, rel = self.locate(word, follow_last=follow_last)
        if where == "outside":
            self.add("critical", f"{what} {rel}: outside the workspace")
        elif where == "computed":
            self.add("unknown", f"{what} {word.text!r}: a path computed at run time")
        elif where == "inside" and rel == ".":
            if root_ok:
                return where, rel
            self.add("critical", f"{what} {word.text}: targets the workspace root itself")
        elif where == "inside" and (problem := write_path_problem(rel)):
            self.add("critical", f"{what} {word.text}: {problem}")
        else:
            return where, rel
        return None

    def write_target(self, word: Word, what: str, *, follow_last: bool = True) -> None:
        """Record the risk of ``what`` writing to the path ``word``."""
        found = self.guard(word, f"{what} writes", follow_last=follow_last, root_ok=True)
        if found is None or found[0] == "sink":
            return
        rel = found[1]
        if editor_executed(rel):
            self.add("high", f"{what} {rel}: an editor or CI runs this file")
        else:
            self.add("medium", f"{what} writes {rel}")


def home_path(text: str) -> str | None:
    """``text`` with a leading ``~``, ``$HOME`` or ``${HOME}`` written as ``~``; None if none."""
    prefix = next((p for p in HOME_PREFIXES if text.startswith(p)), None)
    return None if prefix is None else "~" + text[len(prefix) :]


def secret_in(path: str, bulk: bool) -> tuple[str, bool] | None:
    """(secret store, whole) when ``path`` (absolute or ``~``-based; may be a glob) is in one, or
    names a private key; with ``bulk``, also (store, False) when ``path`` holds one."""
    parts = path.rstrip("/").split("/")
    if parts[0] in ("", "~"):
        for store in SECRET_STORES:
            want = store.split("/")
            if (bulk or len(parts) >= len(want)) and all(map(fnmatchcase, want, parts)):
                return store, len(parts) >= len(want)
    name = parts[-1]
    if not name.endswith(".pub") and any(key in name for key in SECRET_NAMES):
        return name, True
    return None


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
