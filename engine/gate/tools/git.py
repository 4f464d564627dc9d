"""git: global options (``-C``, ``-c``, ``--git-dir``, ``--work-tree``), then the subcommand.

Reading the repository is ``low``; changing it (commit, checkout of a branch, stash ...) is
``medium`` and needs the ``gitWrite`` widening (the sandbox keeps ``.git`` read-only); throwing
work away (``reset --hard``, ``checkout -- .``, ``restore .``, ``clean -f``, ``stash clear``,
``branch -D``, ``reflog expire``) is ``high``; so is anything that makes git run other commands
(``-c``, ``--upload-pack``, ``grep -O``, ``rebase --exec``, an unknown subcommand, which may be
an alias). A repository outside the workspace is judged as the place it is.
"""

from __future__ import annotations

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, NONE, names
from engine.gate.tools.git_acts import NETWORKED, Act, Args, config_value, judge_subcommand
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["git"]

_RUN_OPTIONS = ("--upload-pack", "--receive-pack", "--exec", "-u")
_GLOBAL_VALUES = names(
    """-C -c --git-dir --work-tree --namespace --config-env --super-prefix --exec-path
    --attr-source --list-cmds"""
)
_GLOBAL_FLAGS = names(
    """-p --paginate -P --no-pager --no-replace-objects --bare --literal-pathspecs
        --glob-pathspecs --noglob-pathspecs --icase-pathspecs --no-optional-locks --version
        --help --html-path --man-path --info-path --no-lazy-fetch --no-advice"""
)


def git(a: Walker, inv: Invocation) -> None:
    args = inv.args
    directories: list[Word] = []
    repos: list[Word] = []
    i = 0
    while i < len(args):
        text = args[i].literal
        if text is None or not text.startswith("-"):
            break
        name, eq, value = text.partition("=")
        if name not in _GLOBAL_VALUES and name not in _GLOBAL_FLAGS:
            a.add("high", f"git: option {name} not understood", held_by=BOTH)
            i += 1
            continue
        given = plain_word(value) if eq else (args[i + 1] if i + 1 < len(args) else None)
        i += 1 if eq or name not in _GLOBAL_VALUES else 2
        if given is None:
            continue
        if name == "-C":
            directories.append(given)
        elif name in ("--git-dir", "--work-tree"):
            repos.append(given)
        elif name in ("-c", "--config-env"):
            a.add(
                "high",
                f"git {name} {given.text}: configuration can make git run any command",
                held_by=BOTH,
            )
            config_value(a, given.text)
        elif name == "--exec-path" and eq:
            a.add("high", "git --exec-path: runs git's programs from another folder", held_by=BOTH)
    a.options({w.text.partition("=")[0] for w in args[:i]})
    saved = a.state.cwd
    try:
        if directories:
            from engine.gate.tools.builtins import change_directory

            for word in directories:
                change_directory(a, word)
        _subcommand(a, inv, args[i:], repos)
    finally:
        a.state.cwd = saved


def _subcommand(a: Walker, inv: Invocation, args: list[Word], repos: list[Word]) -> None:
    if not args:
        a.add("low", "git: prints help")
        return
    sub_word, rest = args[0], args[1:]
    sub = sub_word.literal
    if sub is None:
        a.add(
            "unknown",
            f"git with a subcommand computed at run time: {sub_word.text!r}",
            held_by=BOTH,
        )
        return
    a.subcommand(sub)
    texts = [w.text for w in rest]
    options = {t.partition("=")[0] for t in texts if t.startswith("-")}
    act = judge_subcommand(sub, Args(a, rest))
    a.add(
        act.level,
        f"git {sub}: {act.what}",
        widen=act.widen,
        revertible=act.revertible,
        changes=act.level != "low" or bool(act.widen),
        held_by=BOTH if act.held else NONE,
    )
    for option in _RUN_OPTIONS:
        if option in options and (sub in NETWORKED or sub == "archive"):
            a.add(
                "high", f"git {sub} {option}: runs a command to reach the other side", held_by=BOTH
            )
    _where(a, sub, act, repos)
    _paths(a, sub, rest, texts)


def _where(a: Walker, sub: str, act: Act, repos: list[Word]) -> None:
    """The repository's place: another repository is read (medium) or changed (judged as the
    place it is); the workspace's own .git is where git is meant to write."""
    changes = act.level != "low" or "gitWrite" in act.widen
    where = a.outside_cwd()
    words = repos or ([plain_word(".")] if where else [])
    for word in words:
        for place in a.places(word):
            if place.kind == "inside" or place.kind == "sink":
                continue
            if place.kind == "computed":
                a.add(
                    "unknown",
                    f"git {sub} in a repository computed at run time: {word.text!r}",
                    held_by=BOTH,
                )
            elif not changes:
                a.add(
                    "medium",
                    f"git {sub} reads the repository in {place.path}, outside the workspace",
                )
            elif place.kind == "scratch":
                a.add(
                    "high",
                    f"git {sub} changes the repository in {place.path} (shared temporary space)",
                    held_by=BOTH,
                    changes=True,
                )
            elif sub not in ("clone", "init"):
                a.add(
                    "critical",
                    f"git {sub} changes the repository in {place.path}: outside the workspace",
                    changes=True,
                )


def _paths(a: Walker, sub: str, rest: list[Word], texts: list[str]) -> None:
    """Options and operands that are files git reads or writes."""
    for index, text in enumerate(texts):
        name, eq, value = text.partition("=")
        target = plain_word(value) if eq else (rest[index + 1] if index + 1 < len(rest) else None)
        if target is None:
            continue
        if name == "--output" or (name == "-o" and sub in ("format-patch", "archive")):
            a.write(target, f"git {sub} {name}")
        elif name in ("-F", "--file") and sub in ("commit", "tag", "notes"):
            a.read(target, f"git {sub} {name}")
        elif name in ("-f", "--file") and sub == "config":
            a.write(target, "git config --file")
        elif name == "--template" and sub in ("init", "clone"):
            a.add(
                "high",
                f"git {sub} --template: installs hooks (code git runs later) from {target.text}",
                held_by=BOTH,
            )
        elif name == "--separate-git-dir":
            a.write(target, f"git {sub} --separate-git-dir")
    operands = [w for w in rest if not w.text.startswith("-")]
    if sub == "clone" and operands:
        url = operands[0].text.rstrip("/")
        name = url.rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git") or "."
        target = operands[1] if len(operands) > 1 else plain_word(name)
        a.write(target, "git clone", verb="creates a repository in")
    elif sub == "init" and operands:
        a.write(operands[0], "git init", verb="creates a repository in")
    elif sub == "worktree" and len(operands) > 1 and operands[0].text == "add":
        a.write(operands[1], "git worktree add", verb="creates a working tree in")
    elif sub in ("bisect", "submodule") and operands[:1] and operands[0].text in ("run", "foreach"):
        a.add("high", f"git {sub} {operands[0].text}: runs a command", held_by=BOTH)
        if all(not w.dynamic for w in operands[1:]):
            a.script(" ".join(w.text for w in operands[1:]), f"git {sub} {operands[0].text}")
