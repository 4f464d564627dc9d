"""Package managers and language toolchains: npm, yarn, pnpm, bun, pip, uv, poetry, cargo, go,
and the system's (apt, dnf, brew ...). What they do depends on the subcommand:

- installing what the project's lockfile pins (``npm ci``, ``uv sync``, ``cargo build``) or
  running its scripts and tests: ``medium``, with the ``network`` widening where they fetch;
- adding packages the project does not have yet, installing globally or into an environment
  outside the workspace (``pip install x``, ``cargo install``): ``high``, held by a sandbox;
- publishing, logging in, downloading and running a package (``npx``): ``high``;
- settings outside the workspace (``npm config set``, ``pip config set``, ``go env -w``):
  ``high``, held by a sandbox (which hides the home directory).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, NONE, Widening, names
from engine.gate.tools.grammar import Handler
from engine.gate.walk import Walker
from engine.gate.words import Word
from engine.models import RiskLevel

__all__ = ["PACKAGE_TOOLS", "Act", "announce", "pip"]

NET: frozenset[Widening] = frozenset({"network"})


@dataclass(frozen=True, slots=True)
class Act:
    """What one subcommand does."""

    level: RiskLevel
    what: str
    network: bool = False
    held: bool = True  # a sandbox contains its harm
    changes: bool = True


READS = Act("low", "reads package information", changes=False)
READS_NET = Act("low", "reads package information from the registry", network=True, changes=False)
LOCKED = Act("medium", "installs the dependencies the project's lockfile pins", network=True)
RUNS = Act("medium", "runs the project's scripts or tests")
BUILDS = Act("medium", "builds or tests the project (fetching its dependencies)", network=True)
ADDS = Act("high", "adds packages the project does not have yet (new code)", network=True)
GLOBAL = Act("high", "installs packages outside the workspace", network=True)
UPDATES = Act("high", "updates dependencies to new versions (new code)", network=True)
REMOVES = Act("medium", "removes dependencies from the project")
FETCHES_RUNS = Act("high", "downloads and runs a package", network=True)
PUBLISHES = Act(
    "high", "publishes to or changes an account on a registry", network=True, held=False
)
SETTINGS = Act("high", "changes settings outside the workspace")
UNKNOWN = Act("high", "a subcommand the gate does not know")
CHANGES = Act("medium", "changes the project's files")


def words_of(args: list[Word]) -> tuple[list[str], list[Word]]:
    """(option names, operands) for tools whose options are all flags or `--x=y`."""
    options = [w.text.partition("=")[0] for w in args if w.text.startswith("-")]
    operands = [w for w in args if not w.text.startswith("-")]
    return options, operands


def announce(a: Walker, inv: Invocation, sub: str, act: Act) -> None:
    a.subcommand(sub)
    a.add(
        act.level,
        f"{inv.name} {sub}: {act.what}".replace(" : ", ": "),
        held_by=BOTH if act.held else NONE,
        widen=NET if act.network else frozenset(),
        changes=act.changes,
    )
    where = a.outside_cwd()
    if where and act.level != "low":
        a.add("high", f"{inv.name} {sub} runs outside the workspace ({where})", held_by=BOTH)


def _local(words: list[Word]) -> bool:
    """All operands name local paths (``./pkg``, ``file:..``, ``-r requirements.txt``)."""
    return all(w.text.startswith(("./", "../", "/", "file:", ".", "-e")) for w in words)


_NPM_ALIASES = {
    "i": "install",
    "isntall": "install",
    "add": "install",
    "in": "install",
    "ins": "install",
    "inst": "install",
    "insta": "install",
    "instal": "install",
    "clean-install": "ci",
    "ic": "ci",
    "install-clean": "ci",
    "isntall-clean": "ci",
    "t": "test",
    "tst": "test",
    "run-script": "run",
    "rum": "run",
    "urn": "run",
    "rm": "uninstall",
    "r": "uninstall",
    "un": "uninstall",
    "unlink": "uninstall",
    "remove": "uninstall",
    "up": "update",
    "upgrade": "update",
    "x": "exec",
    "c": "config",
    "ln": "link",
    "list": "ls",
    "la": "ls",
    "ll": "ls",
    "v": "view",
    "info": "view",
    "show": "view",
    "s": "search",
    "find": "search",
    "adduser": "login",
    "add-user": "login",
    "author": "owner",
}
_NPM: dict[str, Act] = {
    **dict.fromkeys(
        names(
            """ls view outdated search fund explain why doctor prefix root bin query sbom help
        help-search audit-signatures pkg"""
        ),
        READS,
    ),
    **dict.fromkeys(["whoami", "ping"], READS_NET),
    **dict.fromkeys(["test", "start", "stop", "restart", "run", "rebuild", "pack", "build"], RUNS),
    "ci": LOCKED,
    "prune": REMOVES,
    "dedupe": CHANGES,
    "init": CHANGES,
    "version": CHANGES,
    "uninstall": REMOVES,
    "update": UPDATES,
    "exec": FETCHES_RUNS,
    "link": GLOBAL,
    **dict.fromkeys(
        names(
            """publish unpublish deprecate dist-tag owner access team token login logout org star
        unstar hook profile"""
        ),
        PUBLISHES,
    ),
}
_GLOBAL_FLAGS = frozenset({"-g", "--global", "--location"})


def npm(a: Walker, inv: Invocation) -> None:
    args = list(inv.args)
    options, operands = words_of(args)
    if not operands:
        act = READS if options else UNKNOWN
        announce(a, inv, " ".join(options) or "", act)
        return
    sub = _NPM_ALIASES.get(operands[0].text, operands[0].text)
    rest = operands[1:]
    if sub == "install":
        act = LOCKED if not rest or _local(rest) else ADDS
    elif sub == "config":
        verb = rest[0].text if rest else "list"
        act = READS if verb in ("get", "list", "ls") else SETTINGS
    elif sub == "audit":
        act = UPDATES if rest and rest[0].text == "fix" else READS_NET
    else:
        act = _NPM.get(sub, UNKNOWN)
    if _GLOBAL_FLAGS & set(options) and act.changes:
        act = GLOBAL
    announce(a, inv, sub, act)
    if any(w.text.startswith("--prefix") for w in args):
        a.add("high", f"{inv.name} --prefix: works on another folder", held_by=BOTH)


_YARN: dict[str, Act] = {
    "install": LOCKED,
    "add": ADDS,
    "remove": REMOVES,
    "up": UPDATES,
    "upgrade": UPDATES,
    "upgrade-interactive": UPDATES,
    "dlx": FETCHES_RUNS,
    "create": FETCHES_RUNS,
    "exec": RUNS,
    "run": RUNS,
    "test": RUNS,
    "build": RUNS,
    "start": RUNS,
    "why": READS,
    "info": READS,
    "list": READS,
    "outdated": READS,
    "audit": READS_NET,
    "npm": PUBLISHES,
    "publish": PUBLISHES,
    "login": PUBLISHES,
    "logout": PUBLISHES,
    "global": GLOBAL,
    "link": GLOBAL,
    "config": SETTINGS,
    "set": SETTINGS,
    "init": CHANGES,
    "version": CHANGES,
    "dedupe": CHANGES,
    "import": CHANGES,
    "pack": RUNS,
    "rebuild": RUNS,
    "plugin": GLOBAL,
    "self-update": GLOBAL,
    "patch": CHANGES,
    "patch-commit": CHANGES,
    "workspaces": RUNS,
    "workspace": RUNS,
    "dlx-": FETCHES_RUNS,
    "i": LOCKED,
    "ci": LOCKED,
    "dev": RUNS,
    "update": UPDATES,
    "rm": REMOVES,
    "uninstall": REMOVES,
    "t": RUNS,
    "x": FETCHES_RUNS,
    "store": READS,
    "ls": READS,
    "licenses": READS,
    "help": READS,
}


def yarn_like(a: Walker, inv: Invocation) -> None:
    """yarn, pnpm, bun: a bare name installs; an unknown subcommand runs a package script."""
    options, operands = words_of(inv.args)
    if not operands:
        if {"-v", "--version", "-h", "--help"} & set(options):
            announce(a, inv, options[0], READS)
        else:
            announce(a, inv, "install", LOCKED)
        return
    sub = operands[0].text
    rest = operands[1:]
    act = _YARN.get(sub, Act("medium", f"runs the project's script {sub!r}"))
    if sub in ("add", "install", "i") and rest and not _local(rest):
        act = ADDS
    if inv.name == "bun" and sub in ("x",):
        act = FETCHES_RUNS
    if {"-g", "--global"} & set(options) and act.changes:
        act = GLOBAL
    announce(a, inv, sub, act)


def fetch_and_run(a: Walker, inv: Invocation) -> None:
    """npx, pnpx, bunx, uvx, pipx run: download (unless cached) and run a package."""
    announce(a, inv, "", FETCHES_RUNS)


def pip(a: Walker, inv: Invocation) -> None:
    """pip: into a virtual environment in the workspace it changes the workspace; otherwise the
    Python environment it belongs to, which is somewhere else."""
    options, operands = words_of(inv.args)
    if not operands:
        announce(a, inv, "", READS if options else UNKNOWN)
        return
    sub = operands[0].text
    rest = operands[1:]
    program = inv.argv[0].literal or ""
    in_workspace = "/" in program and all(p.kind == "inside" for p in a.places(inv.argv[0]))
    if sub in ("list", "show", "freeze", "check", "help", "debug", "inspect", "hash"):
        act = READS
    elif sub in ("search", "index", "download"):
        act = READS_NET if sub != "download" else Act("medium", "downloads packages", network=True)
    elif sub == "config":
        verb = rest[0].text if rest else "list"
        act = READS if verb in ("list", "get", "debug") else SETTINGS
    elif sub == "cache":
        act = READS if rest and rest[0].text in ("dir", "info", "list") else SETTINGS
    elif sub in ("install", "uninstall", "wheel"):
        local = _local(rest) or "-r" in options or "--requirement" in options
        user = "--user" in options or "--target" in options or "--prefix" in options
        if sub == "wheel":
            act = Act("medium", "builds wheels", network=True)
        elif in_workspace and not user:
            act = LOCKED if sub == "install" and local else (ADDS if sub == "install" else REMOVES)
        else:
            act = Act(
                "high",
                "installs or removes packages in a Python environment outside the workspace",
                network=True,
            )
    else:
        act = UNKNOWN
    announce(a, inv, sub, act)


PACKAGE_TOOLS: dict[str, Handler] = {
    "npm": npm,
    **dict.fromkeys(("yarn", "pnpm", "bun"), yarn_like),
    **dict.fromkeys(("npx", "pnpx", "bunx", "uvx", "pipx"), fetch_and_run),
    **dict.fromkeys(("pip", "pip3"), pip),
}
