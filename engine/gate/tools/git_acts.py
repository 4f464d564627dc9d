"""What each git subcommand does with its arguments: reads (low), changes the repository or
working tree (medium, with the ``gitWrite`` widening), throws work away (high; ``revertible``
when a checkpoint of the working tree undoes it), or runs other commands (high, held by a
sandbox). ``engine.gate.tools.git`` reads the global options and calls ``judge_subcommand``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from engine.gate.base import Widening, names
from engine.gate.walk import Walker
from engine.gate.words import Word
from engine.models import RiskLevel

__all__ = ["Act", "Args", "config_value", "judge_subcommand"]

NONE: frozenset[Widening] = frozenset()
GIT_WRITE: frozenset[Widening] = frozenset({"gitWrite"})
NETWORK: frozenset[Widening] = frozenset({"network"})
READS = names(
    """status log diff show rev-parse ls-files blame annotate shortlog describe ls-tree cat-file
    show-ref count-objects for-each-ref merge-base name-rev whatchanged cherry var check-ignore
    check-attr check-ref-format check-mailmap diff-tree diff-files diff-index rev-list
    show-branch range-diff version help verify-commit verify-tag verify-pack get-tar-commit-id
    column fmt-merge-msg patch-id request-pull fsck ls-remote"""
)
CHANGES = names(
    """add commit merge rebase cherry-pick revert am notes bisect update-index symbolic-ref
    read-tree write-tree commit-tree mktag mktree worktree sparse-checkout maintenance repack
    pack-refs mv hash-object submodule fetch pull lfs"""
)
WRITES_FILES = names("format-patch archive bundle apply checkout-index merge-file stripspace")
NETWORKED = names("fetch pull clone ls-remote submodule lfs push")
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


@dataclass(frozen=True, slots=True)
class Act:
    level: RiskLevel
    what: str
    widen: frozenset[Widening] = NONE
    revertible: bool = False  # a checkpoint of the working tree undoes it
    held: bool = False  # a sandbox contains it


@dataclass(frozen=True, slots=True)
class Args:
    """A subcommand's arguments: option names, operand texts, short option letters."""

    a: Walker
    words: list[Word]

    @property
    def texts(self) -> list[str]:
        return [w.text for w in self.words]

    @property
    def options(self) -> set[str]:
        return {t.partition("=")[0] for t in self.texts if t.startswith("-")}

    @property
    def operands(self) -> list[str]:
        return [t for t in self.texts if not t.startswith("-")]

    @property
    def shorts(self) -> set[str]:
        clusters = [t[1:] for t in self.texts if t.startswith("-") and not t.startswith("--")]
        return set("".join(clusters))

    def any(self, *names: str, letters: str = "") -> bool:
        return bool(self.options & set(names)) or bool(self.shorts & set(letters))


DISCARDS = Act("high", "throws away uncommitted changes", GIT_WRITE, revertible=True)
OVERWRITES = Act(
    "high", "overwrites files with another version (uncommitted changes are lost)", GIT_WRITE, True
)
CHANGED = Act("medium", "changes the repository or working tree", GIT_WRITE, revertible=True)


def judge_subcommand(sub: str, g: Args) -> Act:
    special = _SPECIAL.get(sub)
    if special is not None:
        return special(g)
    if sub in CODE:
        return Act("high", CODE[sub], held=True)
    if sub in READS:
        return Act("low", "reads the repository", NETWORK if sub == "ls-remote" else NONE)
    if sub in WRITES_FILES:
        index = GIT_WRITE if g.any("--index", "--cached") else NONE
        return Act("medium", "writes files from the repository", index, revertible=True)
    if sub == "clone":
        return Act("medium", "copies a repository from elsewhere", NETWORK)
    if sub == "init":
        return Act("medium", "creates a repository", NONE if g.operands else GIT_WRITE)
    if sub in CHANGES:
        return Act("medium", CHANGED.what, GIT_WRITE | (NETWORK if sub in NETWORKED else NONE),
                   revertible=True)  # fmt: skip
    return Act("high", "a subcommand the gate does not know (it may be an alias)", held=True)


def _push(g: Args) -> Act:
    forced = g.any("--force", "--force-with-lease", "--mirror", "--delete", "--prune",
                   letters="fd") or any(t.startswith(("+", ":")) for t in g.operands)  # fmt: skip
    what = "rewrites or deletes on the remote" if forced else "publishes to a remote"
    return Act("high", what, GIT_WRITE | NETWORK)


def _grep(g: Args) -> Act:
    if g.any("--open-files-in-pager", letters="O"):
        return Act("high", "-O opens the matching files in a program", held=True)
    return Act("low", "searches the repository")


def _clean(g: Args) -> Act:
    if g.any("--dry-run", letters="n"):
        return Act("low", "lists what it would delete")
    ignored = g.any(letters="xX")
    what = "deletes untracked files" + (", ignored ones too" if ignored else "")
    return Act("high", what, revertible=not ignored)


def _reset(g: Args) -> Act:
    return DISCARDS if "--hard" in g.options else CHANGED


def _checkout(g: Args) -> Act:
    if g.any("--force", letters="fB"):
        return DISCARDS
    if "--" in g.texts or g.any("--patch", "--ours", "--theirs", letters="p"):
        return OVERWRITES
    if g.any("--orphan", letters="b"):
        return Act("medium", "creates and switches to a branch", GIT_WRITE, revertible=True)
    words = [w for w in g.words if not w.text.startswith("-")]
    for word in words[1:] or words:  # `checkout BRANCH PATH...` or `checkout PATH`
        path = g.a.resolve(word)
        if word.glob or word.text in (".", "./", ":/") or (path and os.path.lexists(path)):
            return OVERWRITES
    return Act("medium", "switches branches", GIT_WRITE, revertible=True)


def _switch(g: Args) -> Act:
    if g.any("--force", "--discard-changes", "--force-create", letters="fC"):
        return DISCARDS
    return Act("medium", "switches branches", GIT_WRITE, revertible=True)


def _restore(g: Args) -> Act:
    if g.any("--staged", letters="S") and not g.any("--worktree", letters="W"):
        return Act("medium", "unstages changes", GIT_WRITE)
    return Act("high", "throws away uncommitted changes in the working tree", revertible=True)


def _rm(g: Args) -> Act:
    everything = any(o in (".", "*", ":/", "./") for o in g.operands)
    if "r" in g.shorts and everything and "--cached" not in g.options:
        return Act("high", "deletes every tracked file", GIT_WRITE, revertible=True)
    return Act("medium", "removes files from the repository", GIT_WRITE, revertible=True)


def _stash(g: Args) -> Act:
    verb = g.operands[0] if g.operands else "push"
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


def _refs(sub: str, g: Args) -> Act:
    if (not g.operands and g.options <= _LISTING) or g.any("--list", letters="l"):
        return Act("low", "lists")
    if sub == "branch" and g.any("--force", letters="DfMC"):
        return Act("high", "force-deletes or overwrites a branch", GIT_WRITE)
    if sub == "tag" and g.any("--delete", "--force", letters="df"):
        return Act("high", "deletes or moves a tag", GIT_WRITE)
    if "--edit-description" in g.options:
        return Act("high", "opens an editor", GIT_WRITE)
    return Act("medium", f"creates, renames or deletes a merged {sub}", GIT_WRITE)


def _reflog(g: Args) -> Act:
    if g.operands[:1] in (["expire"], ["delete"]):
        return Act("high", "deletes history git keeps to recover lost work", GIT_WRITE)
    return Act("low", "reads the reflog")


def _remote(g: Args) -> Act:
    verb = g.operands[0] if g.operands else ""
    if verb in ("", "show", "get-url"):
        return Act("low", "lists remotes")
    network = NETWORK if verb in ("prune", "update") else NONE
    return Act("medium", "changes remotes", GIT_WRITE | network)


def _rebase(g: Args) -> Act:
    if g.any("--exec", letters="x"):
        for index, text in enumerate(g.texts[:-1]):
            literal = g.words[index + 1].literal
            if text in ("-x", "--exec") and literal is not None:
                g.a.script(literal, "git rebase --exec")
        return Act("high", "--exec runs a command after each commit", GIT_WRITE)
    if g.any("--interactive", letters="i"):
        return Act("high", "opens an editor to rewrite history", GIT_WRITE)
    return CHANGED


def _prune(g: Args) -> Act:
    now = ("--prune=now", "--expire=now", "--prune=all")
    if any(t.startswith(now) for t in g.texts) or "--expire" in g.texts:
        return Act("high", "deletes unreachable objects now (lost work cannot be recovered)",
                   GIT_WRITE)  # fmt: skip
    return Act("medium", "packs or prunes the repository", GIT_WRITE)


def _update_ref(g: Args) -> Act:
    if g.any("--stdin", letters="d"):
        return Act("high", "deletes or rewrites references", GIT_WRITE)
    return Act("medium", "changes a reference", GIT_WRITE)


_CONFIG_CHANGES = names(
    "--unset --unset-all --add --replace-all --remove-section --rename-section -e --edit"
)
_CONFIG_READS = names(
    """--get --get-all --get-regexp --list --get-urlmatch --show-origin --show-scope
    --get-color --get-colorbool"""
)


def _config(g: Args) -> Act:
    verb = g.operands[0] if g.operands else ""
    changing = g.options & _CONFIG_CHANGES
    if (
        verb in ("get", "list")
        or g.any(*_CONFIG_READS, letters="l")
        or (len(g.operands) == 1 and not changing)
    ):
        return Act("low", "reads configuration")
    if len(g.operands) >= 2:
        config_value(g.a, f"{g.operands[0]}={g.operands[1]}")
    if g.any("--global", "--system"):
        return Act("high", "changes git settings outside the workspace (for every repository)",
                   held=True)  # fmt: skip
    return Act("high", "changes settings that can make git run commands (hooks, pagers, aliases)",
               GIT_WRITE)  # fmt: skip


COMMAND_KEYS = names(
    """core.editor core.pager core.sshcommand core.fsmonitor core.askpass sequence.editor
    diff.external gpg.program uploadpack.packobjectshook credential.helper"""
)
COMMAND_KEY_ENDS = (".textconv", ".clean", ".smudge", ".process", ".driver", ".command", ".cmd")


def config_value(a: Walker, text: str) -> None:
    """Settings whose value is a shell command (an alias starting with ``!``, core.pager,
    a diff driver's textconv ...): judge the command."""
    key, _, value = text.partition("=")
    key = key.lower()
    if key.startswith("alias.") and not value.startswith("!"):
        return
    if (
        key.startswith(("alias.", "pager."))
        or key in COMMAND_KEYS
        or key.endswith(COMMAND_KEY_ENDS)
    ):
        a.script(value.removeprefix("!"), f"git setting {key}")


_SPECIAL: dict[str, Callable[[Args], Act]] = {
    "push": _push,
    "grep": _grep,
    "clean": _clean,
    "reset": _reset,
    "checkout": _checkout,
    "switch": _switch,
    "restore": _restore,
    "rm": _rm,
    "stash": _stash,
    "branch": lambda g: _refs("branch", g),
    "tag": lambda g: _refs("tag", g),
    "reflog": _reflog,
    "remote": _remote,
    "rebase": _rebase,
    "gc": _prune,
    "prune": _prune,
    "update-ref": _update_ref,
    "config": _config,
}
