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
from engine.gate.tools.projects import Project, run_project
from engine.gate.walk import Walker
from engine.gate.words import Word
from engine.models import RiskLevel

__all__ = ["PACKAGE_TOOLS", "pip"]

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


def _words(args: list[Word]) -> tuple[list[str], list[Word]]:
    """(option names, operands) for tools whose options are all flags or `--x=y`."""
    options = [w.text.partition("=")[0] for w in args if w.text.startswith("-")]
    operands = [w for w in args if not w.text.startswith("-")]
    return options, operands


def _act(a: Walker, inv: Invocation, sub: str, act: Act) -> None:
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
    options, operands = _words(args)
    if not operands:
        act = READS if options else UNKNOWN
        _act(a, inv, " ".join(options) or "", act)
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
    _act(a, inv, sub, act)
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
    options, operands = _words(inv.args)
    if not operands:
        if {"-v", "--version", "-h", "--help"} & set(options):
            _act(a, inv, options[0], READS)
        else:
            _act(a, inv, "install", LOCKED)
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
    _act(a, inv, sub, act)


def fetch_and_run(a: Walker, inv: Invocation) -> None:
    """npx, pnpx, bunx, uvx, pipx run: download (unless cached) and run a package."""
    _act(a, inv, "", FETCHES_RUNS)


def pip(a: Walker, inv: Invocation) -> None:
    """pip: into a virtual environment in the workspace it changes the workspace; otherwise the
    Python environment it belongs to, which is somewhere else."""
    options, operands = _words(inv.args)
    if not operands:
        _act(a, inv, "", READS if options else UNKNOWN)
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
    _act(a, inv, sub, act)


_UV: dict[str, Act] = {
    "sync": LOCKED,
    "lock": Act("medium", "updates the project's lockfile", network=True),
    "run": Act(
        "medium", "runs a command in the project's environment (synced first)", network=True
    ),
    "add": ADDS,
    "remove": REMOVES,
    "tree": READS,
    "version": READS,
    "help": READS,
    "venv": Act("medium", "creates a virtual environment"),
    "build": BUILDS,
    "publish": PUBLISHES,
    "init": CHANGES,
    "export": READS,
    "cache": SETTINGS,
    "self": GLOBAL,
    "python": GLOBAL,
    "tool": GLOBAL,
    "format": CHANGES,
}
_POETRY: dict[str, Act] = {
    "install": LOCKED,
    "sync": LOCKED,
    "lock": Act("medium", "updates the lockfile", network=True),
    "run": RUNS,
    "add": ADDS,
    "remove": REMOVES,
    "update": UPDATES,
    "build": RUNS,
    "publish": PUBLISHES,
    "config": SETTINGS,
    "show": READS,
    "check": READS,
    "version": READS,
    "env": READS,
    "init": CHANGES,
    "new": CHANGES,
    "shell": UNKNOWN,
    "self": GLOBAL,
    "export": READS,
    "about": READS,
    "list": READS,
    "search": READS_NET,
    "source": CHANGES,
}


def table(acts: dict[str, Act], *, default: Act = UNKNOWN) -> Handler:
    def judge(a: Walker, inv: Invocation) -> None:
        options, operands = _words(inv.args)
        if not operands:
            _act(a, inv, " ".join(options), READS if options else default)
            return
        sub = operands[0].text
        act = acts.get(sub, default)
        if inv.name == "uv" and sub == "pip":
            act = Act(
                "high",
                "installs or removes packages in an environment the gate does not know",
                network=True,
            )
        if sub == "run" and len(operands) > 1 and inv.name in ("uv", "poetry", "pdm", "hatch"):
            _act(a, inv, sub, act)
            current = a.current
            a.run(inv.shifted(operands[1:], functions=False))
            a.current = current
            return
        _act(a, inv, sub, act)

    return judge


_CARGO: dict[str, Act] = {
    **dict.fromkeys(
        names("build b check c test t run r bench doc clippy fetch metadata tree vendor package"),
        BUILDS,
    ),
    "fmt": CHANGES,
    "fix": CHANGES,
    "clean": Act("medium", "deletes build output"),
    "update": Act("medium", "updates the lockfile", network=True),
    "add": ADDS,
    "remove": REMOVES,
    "rm": REMOVES,
    "install": GLOBAL,
    "uninstall": GLOBAL,
    "publish": PUBLISHES,
    "login": PUBLISHES,
    "logout": PUBLISHES,
    "owner": PUBLISHES,
    "yank": PUBLISHES,
    "new": CHANGES,
    "init": CHANGES,
    "search": READS_NET,
    "version": READS,
    "help": READS,
    "locate-project": READS,
    "pkgid": READS,
    "verify-project": READS,
    "generate-lockfile": LOCKED,
    "report": READS,
}
_GO: dict[str, Act] = {
    **dict.fromkeys(["build", "test", "vet", "run", "list"], BUILDS),
    "fmt": CHANGES,
    "mod": LOCKED,
    "get": ADDS,
    "install": GLOBAL,
    "generate": Act("high", "runs the commands in the source's //go:generate comments"),
    "env": READS,
    "version": READS,
    "help": READS,
    "doc": READS,
    "work": CHANGES,
    "tool": RUNS,
    "clean": Act("medium", "deletes build output"),
    "bug": READS,
    "fix": CHANGES,
}


def go(a: Walker, inv: Invocation) -> None:
    options, operands = _words(inv.args)
    sub = operands[0].text if operands else ""
    act = _GO.get(sub, UNKNOWN if operands else READS)
    if sub == "env" and "-w" in options:
        act = SETTINGS
    if sub == "clean" and {"-cache", "-modcache", "-testcache", "-fuzzcache"} & set(options):
        act = Act("high", "deletes Go's caches outside the workspace")
    _act(a, inv, sub, act)
    outputs = [inv.args[i + 1] for i, w in enumerate(inv.args[:-1]) if w.text == "-o"]
    for word in outputs:
        a.write(word, f"go {sub} -o")


def cargo(a: Walker, inv: Invocation) -> None:
    _, operands = _words(inv.args)
    sub = operands[0].text if operands else ""
    act = _CARGO.get(sub, UNKNOWN if operands else READS)
    _act(a, inv, sub, act)
    run_project(
        a,
        inv,
        Project(
            "low",
            "",
            values=frozenset(
                {
                    "-p",
                    "--package",
                    "--features",
                    "-F",
                    "--bin",
                    "--example",
                    "--test",
                    "--bench",
                    "--target",
                    "-j",
                    "--jobs",
                    "--profile",
                    "-Z",
                    "--config",
                }
            ),
            outputs=frozenset({"--target-dir", "--out-dir", "--artifact-dir"}),
            dirs=frozenset({"--manifest-path", "-C"}),
            operands="data",
        ),
        inv.args[1:],
        announce=False,
    )


SYSTEM_PACKAGES = names(
    """apt apt-get aptitude dpkg rpm yum dnf zypper pacman apk brew port snap flatpak nix-env
        emerge pkg xbps-install"""
)
_SYSTEM_READS = names(
    """list search show info policy madison depends rdepends -l -L -s -S -q -Q -Qi -Ql -Ss -Si
        --list --search --status --version -v --help -h query"""
)


def system_packages(a: Walker, inv: Invocation) -> None:
    words = [w.text for w in inv.args]
    if words and (words[0] in _SYSTEM_READS or set(words) <= _SYSTEM_READS):
        _act(a, inv, words[0], READS)
    else:
        _act(
            a,
            inv,
            words[0] if words else "",
            Act("high", "installs, removes or changes the system's software", network=True),
        )


GENERIC_BUILD = table({}, default=BUILDS)

PACKAGE_TOOLS: dict[str, Handler] = {
    "npm": npm,
    **dict.fromkeys(("yarn", "pnpm", "bun"), yarn_like),
    **dict.fromkeys(("npx", "pnpx", "bunx", "uvx", "pipx"), fetch_and_run),
    **dict.fromkeys(("pip", "pip3"), pip),
    "uv": table(_UV),
    **dict.fromkeys(("poetry", "pdm", "hatch", "pipenv", "rye"), table(_POETRY)),
    "cargo": cargo,
    "go": go,
    **dict.fromkeys(
        (
            "mvn",
            "mvnw",
            "gradle",
            "gradlew",
            "dotnet",
            "swift",
            "mix",
            "rebar3",
            "stack",
            "cabal",
            "sbt",
            "lein",
            "deno",
            "bundle",
            "composer",
        ),
        GENERIC_BUILD,
    ),
    **dict.fromkeys(
        ("gem", "conda", "mamba", "micromamba"),
        table({"list": READS, "search": READS_NET, "info": READS}, default=GLOBAL),
    ),
    **dict.fromkeys(SYSTEM_PACKAGES, system_packages),
}
