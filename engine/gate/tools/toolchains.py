"""Language toolchains and system package managers: uv, poetry and friends, cargo, go, the
JVM/.NET/Ruby/PHP build tools, gem and conda, and apt, dnf, brew ... (see ``packages`` for what
the levels mean)."""

from __future__ import annotations

from engine.gate.analysis import Invocation
from engine.gate.base import names
from engine.gate.tools.grammar import Handler
from engine.gate.tools.packages import (
    ADDS,
    BUILDS,
    CHANGES,
    GLOBAL,
    LOCKED,
    PUBLISHES,
    READS,
    READS_NET,
    REMOVES,
    RUNS,
    SETTINGS,
    UNKNOWN,
    UPDATES,
    Act,
    announce,
    words_of,
)
from engine.gate.tools.projects import Project, code_from, run_project
from engine.gate.walk import Walker

__all__ = ["TOOLCHAINS"]

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
        options, operands = words_of(inv.args)
        if not operands:
            announce(a, inv, " ".join(options), READS if options else default)
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
            announce(a, inv, sub, act)
            current = a.current
            a.run(inv.shifted(operands[1:], functions=False))
            a.current = current
            return
        announce(a, inv, sub, act)

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
    options, operands = words_of(inv.args)
    sub = operands[0].text if operands else ""
    act = _GO.get(sub, UNKNOWN if operands else READS)
    if sub == "env" and "-w" in options:
        act = SETTINGS
    if sub == "clean" and {"-cache", "-modcache", "-testcache", "-fuzzcache"} & set(options):
        act = Act("high", "deletes Go's caches outside the workspace")
    announce(a, inv, sub, act)
    if sub in ("run", "test", "build", "vet", "generate", "install"):
        code_from(
            a, f"go {sub}", [w for w in operands[1:] if "/" in w.text or w.text.endswith(".go")]
        )
    outputs = [inv.args[i + 1] for i, w in enumerate(inv.args[:-1]) if w.text == "-o"]
    for word in outputs:
        a.write(word, f"go {sub} -o")


def cargo(a: Walker, inv: Invocation) -> None:
    _, operands = words_of(inv.args)
    sub = operands[0].text if operands else ""
    act = _CARGO.get(sub, UNKNOWN if operands else READS)
    announce(a, inv, sub, act)
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
        announce(a, inv, words[0], READS)
    else:
        announce(
            a,
            inv,
            words[0] if words else "",
            Act("high", "installs, removes or changes the system's software", network=True),
        )


GENERIC_BUILD = table({}, default=BUILDS)

TOOLCHAINS: dict[str, Handler] = {
    "uv": table(_UV),
    **dict.fromkeys(("poetry", "pdm", "hatch", "pipenv", "rye"), table(_POETRY)),
    "cargo": cargo,
    "go": go,
    **dict.fromkeys(
        names("mvn mvnw gradle gradlew dotnet swift mix rebar3 stack cabal sbt lein deno bundle"),
        GENERIC_BUILD,
    ),
    **dict.fromkeys(
        ("composer",),
        GENERIC_BUILD,
    ),
    **dict.fromkeys(
        ("gem", "conda", "mamba", "micromamba"),
        table({"list": READS, "search": READS_NET, "info": READS}, default=GLOBAL),
    ),
    **dict.fromkeys(SYSTEM_PACKAGES, system_packages),
}
