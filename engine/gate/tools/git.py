"""git: global options (``-C``, ``-c``, ``--git-dir``, ``--work-tree``), then the subcommand.

Reading the repository is ``low``; changing it (commit, checkout of a branch, stash ...) is
``medium`` and needs the ``gitWrite`` widening (the sandbox keeps ``.git`` read-only); throwing
work away (``reset --hard``, ``checkout -- .``, ``restore .``, ``clean -f``, ``stash clear``,
``branch -D``, ``reflog expire``) is ``high``; so is anything that makes git run other commands
(``-c``, ``--upload-pack``, ``grep -O``, ``rebase --exec``, an unknown subcommand, which may be
an alias). A repository outside the workspace is judged as the place it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, NONE, Widening, names
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word
from engine.models import RiskLevel

__all__ = ["git"]

GIT_WRITE: frozenset[Widening] = frozenset({"gitWrite"})
NETWORK: frozenset[Widening] = frozenset({"network"})
BOTH_WIDE: frozenset[Widening] = frozenset({"gitWrite", "network"})

_GLOBAL_VALUES = frozenset(
    {
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--config-env",
        "--super-prefix",
        "--exec-path",
        "--attr-source",
        "--list-cmds",
    }
)
_GLOBAL_FLAGS = names(
    """-p --paginate -P --no-pager --no-replace-objects --bare --literal-pathspecs
        --glob-pathspecs --noglob-pathspecs --icase-pathspecs --no-optional-locks --version
        --help --html-path --man-path --info-path --no-lazy-fetch --no-advice"""
)
READS = names(
    """status log diff show rev-parse ls-files blame annotate shortlog describe ls-tree
        cat-file show-ref count-objects for-each-ref merge-base name-rev whatchanged cherry var
        check-ignore check-attr check-ref-format check-mailmap diff-tree diff-files diff-index
        rev-list show-branch range-diff version help verify-commit verify-tag verify-pack
        get-tar-commit-id column fmt-merge-msg patch-id request-pull grep fsck ls-remote"""
)
CHANGES = names(
    """add commit merge rebase cherry-pick revert am notes bisect update-index update-ref
        symbolic-ref read-tree write-tree commit-tree mktag mktree worktree sparse-checkout
        maintenance gc repack pack-refs mv rm restore switch checkout reset stash tag branch
        remote apply init clone fetch pull submodule prune config reflog replace hash-object
        format-patch archive bundle checkout-index merge-file stripspace lfs"""
)
CODE = {
    "filter-branch": "rewrites history and runs the commands it is given",
    "filter-repo": "rewrites history",
    "difftool": "runs an external diff tool",
    "mergetool": "runs an external merge tool",
    "instaweb": "serves the repository over the web",
    "daemon": "serves repositories over the network",
    "credential": "reads or stores credentials",
    "credential-store": "reads or stores credentials",
    "credential-cache": "reads or stores credentials",
    "send-email": "sends e-mail",
    "svn": "talks to a Subversion server",
    "p4": "talks to a Perforce server",
    "shell": "runs a restricted login shell",
    "upload-pack": "serves objects to another git",
    "receive-pack": "receives objects from another git",
}
NETWORKED = frozenset({"fetch", "pull", "clone", "ls-remote", "submodule", "lfs", "push"})
_RUN_OPTIONS = ("--upload-pack", "--receive-pack", "--exec", "-u")
NONE_WIDE: frozenset[Widening] = frozenset()


@dataclass(frozen=True, slots=True)
class Act:
    """What a subcommand does: ``revertible`` (a checkpoint undoes it), ``held`` (a sandbox
    contains it)."""

    level: RiskLevel
    what: str
    widen: frozenset[Widening] = NONE_WIDE
    revertible: bool = False
    held: bool = False


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
            _config_value(a, given.text)
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


def _config_value(a: Walker, text: str) -> None:
    """An alias whose value starts with ``!`` is a shell command."""
    key, _, value = text.partition("=")
    if key.lower().startswith("alias.") and value.startswith("!"):
        a.script(value[1:], f"git alias {key[6:]}")


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
    act = _judge(sub, texts, options, a, rest)
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


DISCARDS = Act("high", "throws away uncommitted changes", GIT_WRITE, revertible=True)
OVERWRITES = Act(
    "high",
    "overwrites files with another version (uncommitted changes are lost)",
    GIT_WRITE,
    revertible=True,
)
REPO_CHANGE = Act("medium", "changes the repository or working tree", GIT_WRITE, revertible=True)


def _judge(sub: str, texts: list[str], options: set[str], a: Walker, rest: list[Word]) -> Act:
    operands = [t for t in texts if not t.startswith("-")]
    shorts = "".join(t[1:] for t in texts if t.startswith("-") and not t.startswith("--"))
    special = _SPECIAL.get(sub)
    if special is not None:
        return special(options, operands, shorts, a, rest)
    if sub in CODE:
        return Act("high", CODE[sub], held=True)
    if sub in READS:
        return Act("low", "reads the repository", NETWORK if sub == "ls-remote" else NONE_WIDE)
    if sub in (
        "format-patch",
        "archive",
        "bundle",
        "apply",
        "checkout-index",
        "merge-file",
        "stripspace",
    ):
        index = bool(options & {"--index", "--cached"})
        return Act(
            "medium",
            "writes files from the repository",
            GIT_WRITE if index else NONE_WIDE,
            revertible=True,
        )
    if sub == "clone":
        return Act("medium", "copies a repository from elsewhere", NETWORK)
    if sub == "init":
        return Act("medium", "creates a repository", GIT_WRITE if not operands else NONE_WIDE)
    if sub in CHANGES:
        widen = GIT_WRITE | (NETWORK if sub in NETWORKED else NONE_WIDE)
        return Act("medium", "changes the repository or working tree", widen, revertible=True)
    return Act("high", "a subcommand the gate does not know (it may be an alias)", held=True)


Special = Callable[[set[str], list[str], str, Walker, list[Word]], Act]


def _push(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    forced = options & {
        "-f",
        "--force",
        "--force-with-lease",
        "--mirror",
        "--delete",
        "-d",
        "--prune",
    } or any(t.startswith(("+", ":")) for t in operands)
    what = "rewrites or deletes on the remote" if forced else "publishes to a remote"
    return Act("high", what, BOTH_WIDE)


def _grep(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    if "--open-files-in-pager" in options or "O" in shorts:
        return Act("high", "-O opens the matching files in a program", held=True)
    return Act("low", "searches the repository")


def _clean(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    if options & {"-n", "--dry-run"} or "n" in shorts:
        return Act("low", "lists what it would delete")
    ignored = bool(set(shorts) & {"x", "X"})
    what = "deletes untracked files" + (", ignored ones too" if ignored else "")
    return Act("high", what, revertible=not ignored)


def _reset(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    return DISCARDS if "--hard" in options else REPO_CHANGE


def _checkout(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    if options & {"--force", "-B", "-f"} or set(shorts) & {"f", "B"}:
        return DISCARDS
    if "--" in (w.text for w in rest) or options & {"-p", "--patch", "--ours", "--theirs"}:
        return OVERWRITES
    if options & {"-b", "--orphan"} or "b" in shorts:
        return Act("medium", "creates and switches to a branch", GIT_WRITE, revertible=True)
    words = [w for w in rest if not w.text.startswith("-")]
    for word in words[1:] or words:
        if word.glob or word.text in (".", "./", ":/") or _exists(a, word):
            return OVERWRITES
    return Act("medium", "switches branches", GIT_WRITE, revertible=True)


def _exists(a: Walker, word: Word) -> bool:
    path = a.resolve(word)
    return path is not None and os.path.lexists(path)


def _switch(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    if options & {"--force", "--discard-changes", "--force-create", "-f", "-C"} or set(shorts) & {
        "f",
        "C",
    }:
        return DISCARDS
    return Act("medium", "switches branches", GIT_WRITE, revertible=True)


def _restore(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    staged = bool(options & {"--staged"}) or "S" in shorts
    worktree = bool(options & {"--worktree"}) or "W" in shorts
    if staged and not worktree:
        return Act("medium", "unstages changes", GIT_WRITE)
    return Act("high", "throws away uncommitted changes in the working tree", revertible=True)


def _rm(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    recursive = "r" in shorts
    everything = any(o in (".", "*", ":/", "./", "-A") for o in operands)
    if recursive and everything and "--cached" not in options:
        return Act("high", "deletes every tracked file", GIT_WRITE, revertible=True)
    return Act("medium", "removes files from the repository", GIT_WRITE, revertible=True)


def _stash(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    verb = operands[0] if operands else "push"
    if verb in ("list", "show"):
        return Act("low", "lists stashes")
    if verb in ("drop", "clear"):
        return Act("high", "throws stashed work away", GIT_WRITE)
    return Act("medium", "stashes or applies work", GIT_WRITE, revertible=True)


_LISTING = names(
    """-a -r -v -vv -l --list --all --remotes --show-current -n --contains --no-contains
        --merged --no-merged --points-at --sort --format --color --no-color --column --no-column
        --ignore-case"""
)


def _branch(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    return _refs("branch", options, operands, shorts)


def _tag(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    return _refs("tag", options, operands, shorts)


def _refs(sub: str, options: set[str], operands: list[str], shorts: str) -> Act:
    if (not operands and options <= _LISTING) or options & {"-l", "--list"}:
        return Act("low", "lists")
    if sub == "branch" and (set(shorts) & {"D", "f", "M", "C"} or options & {"--force"}):
        return Act("high", "force-deletes or overwrites a branch", GIT_WRITE)
    if sub == "tag" and (set(shorts) & {"d", "f"} or options & {"--delete", "--force"}):
        return Act("high", "deletes or moves a tag", GIT_WRITE)
    if "--edit-description" in options:
        return Act("high", "opens an editor", GIT_WRITE)
    return Act("medium", f"creates, renames or deletes a merged {sub}", GIT_WRITE)


def _reflog(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    if operands[:1] and operands[0] in ("expire", "delete"):
        return Act("high", "deletes history git keeps to recover lost work", GIT_WRITE)
    return Act("low", "reads the reflog")


def _remote(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    verb = operands[0] if operands else ""
    if verb in ("", "show", "get-url"):
        return Act("low", "lists remotes")
    network = NETWORK if verb in ("prune", "update", "show") else NONE_WIDE
    return Act("medium", "changes remotes", GIT_WRITE | network)


def _rebase(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    texts = [w.text for w in rest]
    if options & {"--exec"} or "x" in shorts:
        for index, text in enumerate(texts):
            if text in ("-x", "--exec") and index + 1 < len(rest):
                literal = rest[index + 1].literal
                if literal is not None:
                    a.script(literal, "git rebase --exec")
        return Act("high", "--exec runs a command after each commit", GIT_WRITE)
    if options & {"--interactive"} or "i" in shorts:
        return Act("high", "opens an editor to rewrite history", GIT_WRITE)
    return REPO_CHANGE


def _prune(options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]) -> Act:
    texts = [w.text for w in rest]
    if any(t.startswith(("--prune=now", "--expire=now", "--prune=all")) for t in texts) or (
        "--expire" in texts
    ):
        return Act(
            "high", "deletes unreachable objects now (lost work cannot be recovered)", GIT_WRITE
        )
    return Act("medium", "packs or prunes the repository", GIT_WRITE)


def _update_ref(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    if "d" in shorts or "--stdin" in options:
        return Act("high", "deletes or rewrites references", GIT_WRITE)
    return Act("medium", "changes a reference", GIT_WRITE)


def _config(
    options: set[str], operands: list[str], shorts: str, a: Walker, rest: list[Word]
) -> Act:
    changing = {
        "--unset",
        "--unset-all",
        "--add",
        "--replace-all",
        "--remove-section",
        "--rename-section",
        "-e",
        "--edit",
    }
    reading = options & {
        "--get",
        "--get-all",
        "--get-regexp",
        "--list",
        "--get-urlmatch",
        "--show-origin",
        "--show-scope",
        "--get-color",
        "--get-colorbool",
    }
    verb = operands[0] if operands else ""
    if (
        verb in ("get", "list")
        or reading
        or "l" in shorts
        or (len(operands) == 1 and not options & changing)
    ):
        return Act("low", "reads configuration")
    if len(operands) >= 2 and operands[0].lower().startswith("alias."):
        _config_value(a, f"{operands[0]}={operands[1]}")
    if options & {"--global", "--system"}:
        return Act(
            "high", "changes git settings outside the workspace (for every repository)", held=True
        )
    return Act(
        "high",
        "changes settings that can make git run commands (hooks, pagers, aliases)",
        GIT_WRITE,
    )


_SPECIAL: dict[str, Special] = {
    "push": _push,
    "grep": _grep,
    "clean": _clean,
    "reset": _reset,
    "checkout": _checkout,
    "switch": _switch,
    "restore": _restore,
    "rm": _rm,
    "stash": _stash,
    "branch": _branch,
    "tag": _tag,
    "reflog": _reflog,
    "remote": _remote,
    "rebase": _rebase,
    "gc": _prune,
    "prune": _prune,
    "update-ref": _update_ref,
    "config": _config,
}
