"""What the walk over one command line knows and records: the shell state that flows along the
script (working directories, variables, standard input), the findings, the parsed commands, and
the judgements on paths that every check shares (reads, writes, deletes, changes).

The tree walk itself is ``engine.gate.walk.Walker``, a subclass; the checks of single tools
(``engine.gate.tools``) receive the Walker and an ``Invocation``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal

from engine.gate.base import BOTH, NONE, Command, Finding, SandboxKind, Widening
from engine.gate.places import DEVICES, SCRATCH, Locator, Place, is_build_output, secret_in
from engine.gate.words import Value, Word
from engine.models import RiskLevel
from engine.paths import editor_executed, write_path_problem

__all__ = ["Analysis", "Feed", "Invocation", "Redirect", "State"]

AGENT_CONFIG = frozenset({".agent/policy.toml", ".agent/goals.toml"})  # what later runs obey
MAX_DEPTH = 12  # nested sh -c, substitutions and function calls before we give up: unknown
Cwd = frozenset[str] | None  # the directories a command may run in; None: computed


@dataclass(slots=True)
class State:
    """Shell state that flows along a script and splits at branches."""

    cwd: Cwd
    variables: dict[str, tuple[Value, ...] | None] = field(default_factory=dict)
    stdin: Feed | None = None  # after `exec < file`

    def copy(self) -> State:
        return State(self.cwd, dict(self.variables), self.stdin)

    def merge(self, other: State) -> State:
        """The state after either of two paths through the script."""
        cwd = None if self.cwd is None or other.cwd is None else self.cwd | other.cwd
        names = self.variables.keys() | other.variables.keys()
        variables: dict[str, tuple[Value, ...] | None] = {}
        for name in names:
            mine, theirs = self.variables.get(name), other.variables.get(name)
            if name not in self.variables or name not in other.variables:
                variables[name] = None  # set on one path only: unset (environment) on the other
            elif mine is None or theirs is None:
                variables[name] = None
            else:
                variables[name] = tuple(dict.fromkeys(mine + theirs))
        stdin = self.stdin if self.stdin == other.stdin else Feed("computed")
        return State(cwd, variables, stdin)


@dataclass(frozen=True, slots=True)
class Feed:
    """Where a command's standard input comes from.

    ``pipe``: earlier commands of a pipeline (``sources``: their tool names); ``text``: a
    here-document, here-string or literal ``echo`` whose text is known (``text``); ``file``: a
    file (``word``); ``computed``: something only run time knows. ``listing`` holds path words
    for what a listing command upstream (``find``) prints, for ``xargs``.
    """

    kind: Literal["pipe", "text", "file", "computed"]
    text: str | None = None
    sources: tuple[str, ...] = ()
    word: Word | None = None
    listing: tuple[Word, ...] | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str  # `>`, `>>`, `<`, `<<`, `<<<`, `&>`, `>&` ...
    target: Word | None  # the file (None for here-documents)
    fd: int | None = None  # the descriptor redirected, when written


@dataclass(slots=True)
class Invocation:
    """One simple command as a check sees it: argv[0] is the program."""

    argv: list[Word]
    name: str  # the program's name (last part of its path)
    redirects: list[Redirect] = field(default_factory=list)
    feed: Feed | None = None
    env: dict[str, Word] = field(default_factory=dict)  # assignments in front of it
    functions: bool = True  # shell functions and aliases may stand in (not after `command`)
    fresh: bool = True  # as written (its redirections not judged yet); False for a wrapped one

    @property
    def args(self) -> list[Word]:
        return self.argv[1:]

    def shifted(self, argv: list[Word], **changes: object) -> Invocation:
        """The command a wrapper runs (``sudo rm -rf x`` -> ``rm -rf x``)."""
        name = _program_name(argv[0]) if argv else ""
        return replace(self, argv=argv, name=name, fresh=False, **changes)  # type: ignore[arg-type]


def _program_name(word: Word) -> str:
    literal = word.literal
    return "" if literal is None else literal.rsplit("/", 1)[-1]


@dataclass(slots=True)
class _CommandFacts:
    tool: str
    text: str
    subcommand: str | None = None
    options: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)

    def freeze(self) -> Command:
        paths = tuple(dict.fromkeys(self.paths))
        return Command(self.tool, self.subcommand, frozenset(self.options), paths, self.text)


class Analysis:
    """Findings and judgements for one step; see ``engine.gate.walk.Walker`` for the walk."""

    def __init__(self, workspace: str) -> None:
        root = os.path.realpath(workspace)
        self.locator = Locator(root)
        self.state = State(frozenset({root}))
        self.findings: list[Finding] = []
        self._seen: set[tuple[RiskLevel, str, int | None]] = set()
        self._commands: list[_CommandFacts] = []
        self.current: int | None = None  # the command being judged
        # findings no rule about a tool may cover (a redirection is the shell's, not the tool's)
        self.unowned = False

    # --- findings and commands ---------------------------------------------------------

    def add(
        self,
        level: RiskLevel,
        reason: str,
        *,
        held_by: frozenset[SandboxKind] = NONE,
        revertible: bool = False,
        changes: bool = False,
        widen: frozenset[Widening] = frozenset(),
    ) -> None:
        command = None if self.unowned else self.current
        key = (level, reason, command)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append(Finding(level, reason, command, held_by, revertible, changes, widen))

    def begin_command(self, tool: str, text: str) -> int:
        self._commands.append(_CommandFacts(tool, text))
        self.current = len(self._commands) - 1
        return self.current

    def facts(self) -> _CommandFacts | None:
        return None if self.current is None else self._commands[self.current]

    def commands(self) -> tuple[Command, ...]:
        return tuple(c.freeze() for c in self._commands)

    def tool_names(self, start: int) -> tuple[str, ...]:
        """Names of the commands judged since ``start`` (a ``len(self._commands)`` mark)."""
        return tuple(c.tool for c in self._commands[start:])

    @property
    def mark(self) -> int:
        return len(self._commands)

    def subcommand(self, name: str) -> None:
        facts = self.facts()
        if facts is not None:
            facts.subcommand = name

    def options(self, names: set[str]) -> None:
        facts = self.facts()
        if facts is not None:
            facts.options |= names

    def script(self, text: str, what: str, arguments: list[Word] | None = None) -> None:
        """Judge ``text`` as a script another shell runs (the walk, a subclass, does this)."""
        raise NotImplementedError

    # --- paths ----------------------------------------------------------------------------

    def places(
        self, word: Word, *, follow_last: bool = True, disk_globs: bool = False
    ) -> list[Place]:
        """Every place one of ``word``'s values may point to, from every possible directory."""
        if word.dynamic:
            return [Place("computed", word.text, word.text)]
        state_cwd = self.state.cwd
        cwds: list[str | None] = [None] if state_cwd is None else [*sorted(state_cwd)]
        found: list[Place] = []
        for value in word.values:
            for cwd in cwds:
                found.append(
                    self.locator.place(value, cwd, glob=word.glob, follow_last=follow_last)
                )
                if word.glob and disk_globs:
                    found += self.locator.glob_matches(value, cwd, follow_last=follow_last)
        facts = self.facts()
        if facts is not None:
            facts.paths += [p.path for p in found if p.kind != "computed"]
        return found

    def read(self, word: Word, what: str, *, bulk: bool = False) -> None:
        """``what`` reads the path ``word`` (``bulk``: a whole tree, as `tar c` or `grep -r`)."""
        for place in self.places(word):
            if place.kind == "sink":
                continue
            if place.kind == "computed":
                self.add("high", f"{what} reads {place.shown!r}, a path computed at run time")
                continue
            full = place.path if place.kind != "inside" else f"{self.locator.root}/{place.path}"
            if DEVICES.match(full):
                self.add("high", f"{what} reads the device {place.shown} (everything on it)")
                continue
            secret = secret_in(self.locator.home_based(full), bulk=bulk)
            if secret is None and place.kind == "inside":
                secret = secret_in(place.path, bulk=False)
            if secret is not None:
                store, whole = secret
                held = store if whole else f"{place.shown} includes {store}"
                self.add("high", f"{what} reads secrets ({held})")
            elif place.kind != "inside":
                self.add("medium", f"{what} reads {place.shown} outside the workspace")

    def write(
        self, word: Word, what: str, *, follow_last: bool = True, verb: str = "writes"
    ) -> None:
        """``what`` writes (creates, overwrites or ``verb``) the path ``word``."""
        for place in self.places(word, follow_last=follow_last, disk_globs=True):
            problem = write_path_problem(place.path) if place.kind == "inside" else None
            if problem and place.path != ".":
                self.add("critical", f"{what} {verb} {place.shown}: {problem}", changes=True)
            elif place.kind == "inside":
                self._write_inside(place, what, verb)
            else:
                self._elsewhere(place, what, verb)

    def _write_inside(self, place: Place, what: str, verb: str) -> None:
        if place.path.lower() in AGENT_CONFIG:
            self.add(
                "high",
                f"{what} {verb} {place.path}: agentd's own goals or policy for this workspace",
                changes=True,
                revertible=True,
            )
            return
        if editor_executed(place.path):
            self.add(
                "high",
                f"{what} {verb} {place.path}: an editor or CI runs this file",
                changes=True,
                revertible=True,
            )
            return
        full = f"{self.locator.root}/{place.path}"
        if verb == "writes" and not place.glob and os.path.lexists(full):
            verb = "overwrites" if not os.path.isdir(full) else "writes into"
        self.add("medium", f"{what} {verb} {place.path}", changes=True, revertible=True)

    def _elsewhere(self, place: Place, what: str, verb: str) -> None:
        if place.kind == "sink":
            return
        if place.kind == "computed":
            self.add(
                "unknown",
                f"{what} {verb} {place.shown!r}: a path computed at run time",
                changes=True,
                held_by=BOTH,
            )
        elif place.kind == "scratch":
            self.add(
                "high",
                f"{what} {verb} {place.shown}: shared temporary space",
                changes=True,
                held_by=BOTH,
            )
        else:
            self.add(
                "critical", f"{what} {verb} {place.shown}: outside the workspace", changes=True
            )

    def outside_cwd(self) -> str | None:
        """Where a command may run outside the workspace (after ``cd``), or None."""
        if self.state.cwd is None:
            return "in a directory computed at run time"
        away = sorted(c for c in self.state.cwd if self.locator.classify(c, c).kind != "inside")
        return f"in {', '.join(away)}" if away else None

    def resolve(self, word: Word, *, follow_last: bool = True) -> str | None:
        """The absolute path a literal word names from the one working directory; else None."""
        literal = word.literal
        cwd = self.state.cwd
        if literal is None or cwd is None or len(cwd) != 1:
            return None
        walked = self.locator.walk(literal, next(iter(cwd)), follow_last=follow_last)
        return None if walked is None else self.locator.expand_home(walked[0])

    def delete(self, word: Word, what: str, *, recursive: bool, empty_only: bool = False) -> None:
        """``what`` deletes the path ``word`` (a link itself unless written with a trailing
        ``/``); ``empty_only``: only an empty directory (rmdir), which loses nothing."""
        follow = word.text.endswith(("/", "/."))
        for place in self.places(word, follow_last=follow, disk_globs=True):
            if (
                place.kind == "scratch"
                and place.glob
                and place.path.rpartition("/")[0] + "/" in SCRATCH
            ):
                self.add(
                    "critical",
                    f"{what} {word.text}: deletes everything in {place.path.rpartition('/')[0]}",
                    changes=True,
                )
            elif place.kind != "inside":
                self._elsewhere(place, what, "deletes")
            elif place.path == ".":
                self.add(
                    "critical",
                    f"{what} {word.text}: targets the workspace root itself",
                    changes=True,
                )
            elif recursive and place.glob and place.path.rpartition("/")[0] in ("", "."):
                if place.path.rpartition("/")[2] in ("*", ".*", "**"):
                    self.add(
                        "critical",
                        f"{what} {word.text}: deletes everything in the workspace root",
                        changes=True,
                    )
                else:
                    self._delete_inside(place, what)
            elif problem := write_path_problem(place.path):
                self.add("critical", f"{what} {place.shown}: {problem}", changes=True)
            elif empty_only:
                self.add(
                    "medium",
                    f"{what} removes {place.path} if it is empty",
                    changes=True,
                    revertible=True,
                )
            else:
                self._delete_inside(place, what)

    def _delete_inside(self, place: Place, what: str) -> None:
        if is_build_output(place.path):
            self.add(
                "medium",
                f"{what} deletes {place.path}: build output or cache",
                changes=True,
                revertible=True,
            )
        else:
            self.add(
                "high",
                f"{what} deletes {place.path} inside the workspace",
                changes=True,
                revertible=True,
            )

    def change(
        self, word: Word, what: str, *, level: RiskLevel = "medium", root_ok: bool = False
    ) -> None:
        """``what`` changes the metadata (mode, owner, times) of ``word``."""
        for place in self.places(word, disk_globs=True):
            if place.kind != "inside":
                self._elsewhere(place, what, "changes")
            elif place.path == "." and not root_ok:
                self.add(
                    "critical",
                    f"{what} {word.text}: targets the workspace root itself",
                    changes=True,
                )
            elif place.path != "." and (problem := write_path_problem(place.path)):
                self.add("critical", f"{what} {place.shown}: {problem}", changes=True)
            else:
                self.add(level, f"{what} changes {place.path}", changes=True, revertible=True)
