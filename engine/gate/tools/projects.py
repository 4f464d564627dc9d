"""Project tools: builders, test runners, linters, formatters and compilers. They run the
project's own code or configuration, so ``medium`` (``low`` for pure checkers that only read);
what matters beyond that is where they write (``-o``, ``--outDir``, a formatter's operands),
what they delete (``pytest --basetemp``), and where they run: a project tool run outside the
workspace (after ``cd``, ``-C``) runs someone else's code, ``high``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, Widening, names
from engine.gate.tools.grammar import Handler
from engine.gate.variables import judge_variable
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word
from engine.models import RiskLevel

__all__ = ["PROJECT_TOOLS", "Project", "project"]

NETWORK: frozenset[Widening] = frozenset({"network"})


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Project:
    """``writes``: options that make it write its operands (``--fix``); ``checks``: options
    that make a formatter only read (``--check``); ``values``: options taking a value (so the
    value is not an operand); ``outputs``/``reads``/``deletes``/``dirs``: options whose value is
    a path written, read, deleted, or the directory it works in; ``operands``: what the
    operands are (``paths``, or ``data`` such as make's targets)."""

    level: RiskLevel
    what: str
    writes: frozenset[str] = frozenset()
    checks: frozenset[str] = frozenset()
    default_writes: bool = False
    values: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    dirs: frozenset[str] = frozenset()
    operands: str = "paths"
    widen: frozenset[Widening] = frozenset()
    code: frozenset[str] = frozenset()  # options whose value is code it runs (make -f)
    code_operands: bool = False  # operands are code it runs (a test runner's test files)


def _split(args: list[Word], spec: Project) -> tuple[list[tuple[str, Word | None]], list[Word]]:
    """(options with their values, operands): a listed option takes the next word unless its
    value is attached (``--out=x``, ``-ox``)."""
    takes = spec.values | spec.outputs | spec.reads | spec.deletes | spec.dirs | spec.code
    options: list[tuple[str, Word | None]] = []
    operands: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.literal or ""
        i += 1
        if text == "--":
            operands += args[i:]
            break
        if not text.startswith("-") or text == "-":
            operands.append(word)
            continue
        name, eq, value = text.partition("=")
        short = next(
            (
                t
                for t in takes
                if len(t) == 2
                and text.startswith(t)
                and len(text) > 2
                and not text.startswith("--")
            ),
            None,
        )
        if name in takes and eq:
            options.append((name, plain_word(value)))
        elif name in takes:
            options.append((name, args[i] if i < len(args) else None))
            i += 1
        elif short is not None:
            options.append((short, plain_word(text[2:])))
        else:
            options.append((name, plain_word(value) if eq else None))
    return options, operands


def project(spec: Project) -> Handler:
    def judge(a: Walker, inv: Invocation) -> None:
        run_project(a, inv, spec, inv.args)

    return judge


def run_project(
    a: Walker, inv: Invocation, spec: Project, args: list[Word], *, announce: bool = True
) -> list[Word]:
    """Judge a project tool's options and operands (``announce``: and the tool itself, at
    the spec's level); returns its operands."""
    options, operands = _split(args, spec)
    names = {name for name, _ in options}
    a.options(names)
    writing = bool(names & spec.writes) or (spec.default_writes and not names & spec.checks)
    level: RiskLevel = "medium" if writing and spec.level == "low" else spec.level
    if announce:
        a.add(
            level,
            f"{inv.name}: {spec.what}",
            held_by=BOTH,
            changes=level != "low",
            widen=spec.widen,
        )
    where = a.outside_cwd()
    directories = [v for n, v in options if n in spec.dirs and v is not None]
    for directory in directories:
        for place in a.places(directory):
            if place.kind != "inside":
                where = f"in {place.shown}"
    if where and spec.level != "low":
        a.add("high", f"{inv.name} runs outside the workspace ({where})", held_by=BOTH)
    for name, value in options:
        if value is None:
            continue
        if name in spec.outputs:
            a.write(value, f"{inv.name} {name}")
        elif name in spec.reads or name in spec.dirs:
            a.read(value, f"{inv.name} {name}")
        elif name in spec.deletes:
            a.delete(value, f"{inv.name} {name}", recursive=True)
        elif name in spec.code:
            code_from(a, f"{inv.name} {name}", [value])
    if spec.code_operands:
        code_from(a, inv.name, operands)
    for word in operands:
        if spec.operands == "data":
            if "=" in word.text and word.text.partition("=")[0].isidentifier():
                key, _, text = word.text.partition("=")
                judge_variable(
                    a, key, plain_word(text, dynamic=word.dynamic), inv.name, shell=False
                )
        elif writing:
            a.write(word, inv.name, verb="rewrites")
        else:
            a.read(word, inv.name)
    return operands


def code_from(a: Walker, what: str, words: list[Word]) -> None:
    """``what`` runs code from ``words``: from outside the workspace, that is someone else's."""
    for word in words:
        for place in a.places(word):
            if place.kind in ("outside", "scratch", "computed"):
                where = "a path computed at run time" if place.kind == "computed" else "outside"
                a.add("high", f"{what} runs code from {place.shown} ({where} the workspace)",
                      held_by=BOTH)  # fmt: skip


_TESTS = "runs the project's tests"
_BUILD = "runs the project's build"
_LINT = "checks the project's code with its configured plugins"

PROJECTS: dict[str, Project] = {
    **dict.fromkeys(
        ("make", "gmake"),
        Project(
            "medium",
            "runs the project's build (its Makefile)",
            operands="data",
            values=_set(
                "-I --include-dir -j --jobs -l --load-average -o "
                "--old-file --assume-old -W --what-if --new-file --assume-new -O "
                "--output-sync -E --eval"
            ),
            dirs=_set("-C --directory"),
            code=_set("-f --file --makefile"),
        ),
    ),
    "cmake": Project(
        "medium",
        _BUILD,
        values=_set("-G -T -A -D -U -C --preset --target -j --parallel --config"),
        outputs=_set("-B"),
        dirs=_set("-S --build"),
    ),
    "ninja": Project(
        "medium", _BUILD, operands="data", values=_set("-f -j -k -l -d -t -w"), dirs=_set("-C")
    ),
    **dict.fromkeys(
        ("meson", "bazel", "bazelisk", "just", "task", "mage", "scons", "waf"),
        Project("medium", _BUILD, operands="data", dirs=_set("-C"), widen=NETWORK),
    ),
    **dict.fromkeys(
        ("pytest", "py.test"),
        Project(
            "medium",
            _TESTS,
            operands="paths",
            values=_set(
                "-k -m -p -c -o -W -n --maxfail --rootdir --confcutdir --durations "
                "--tb --cov --cov-report --log-level --deselect --ignore --ignore-glob "
                "--import-mode --capture -r --override-ini --timeout --dist"
            ),
            outputs=_set(
                "--junitxml --junit-xml --resultlog --result-log --report-log --cov-config"
            ),
            deletes=_set("--basetemp"),
            code_operands=True,
        ),
    ),
    **dict.fromkeys(
        names("jest vitest mocha ava karma jasmine tap phpunit rspec ctest playwright cypress"),
        Project(
            "medium",
            _TESTS,
            operands="data",
            code_operands=True,
            values=_set("-t -c --config"),
            outputs=_set("--outputFile --output-file -o"),
        ),
    ),
    **dict.fromkeys(
        ("tox", "nox"),
        Project(
            "medium",
            "runs the project's test environments",
            operands="data",
            widen=NETWORK,
            values=_set("-e -c -f -s -p"),
        ),
    ),
    **dict.fromkeys(
        names(
            """mypy dmypy pyright basedpyright flake8 pylint pyflakes pycodestyle pydocstyle
            bandit pyre"""
        ),
        Project(
            "medium",
            _LINT,
            values=_set(
                "--config-file -c --rcfile -p --python-version --exclude --select --ignore"
            ),
            outputs=_set("--cache-dir --html-report --junit-xml -o --output-file"),
        ),
    ),
    **dict.fromkeys(
        names("shellcheck hadolint yamllint markdownlint actionlint vale cspell typos"),
        Project("low", "checks files", values=_set("-f -c --config -s -e -x")),
    ),
    "codespell": Project(
        "low",
        "checks spelling",
        writes=_set("-w --write-changes"),
        values=_set("-I -L -S -x --skip --ignore-words"),
    ),
    **dict.fromkeys(
        ("black", "isort", "rustfmt"),
        Project(
            "low",
            "formats code",
            default_writes=True,
            checks=_set("--check --diff --check-only -c -l"),
            values=_set(
                "-l --line-length -t --target-version --config --settings-path --edition --profile"
            ),
        ),
    ),
    **dict.fromkeys(
        ("autopep8", "yapf", "clang-format"),
        Project(
            "low",
            "formats code",
            writes=_set("-i --in-place"),
            values=_set("--style --max-line-length -j --jobs"),
        ),
    ),
    **dict.fromkeys(
        ("gofmt", "shfmt", "goimports"),
        Project("low", "formats code", writes=_set("-w"), values=_set("-r -i -ln")),
    ),
    "prettier": Project(
        "medium",
        "formats code with its configured plugins",
        writes=_set("--write -w"),
        values=_set("--config --plugin --ignore-path --parser --log-level"),
        outputs=_set("--cache-location"),
    ),
    **dict.fromkeys(
        ("eslint", "stylelint", "standard", "xo", "biome", "oxlint"),
        Project(
            "medium",
            _LINT,
            writes=_set("--fix --write --apply"),
            values=_set(
                "-c --config --ext --rulesdir --resolve-plugins-relative-to "
                "--ignore-pattern --max-warnings -f --format --parser-options --plugin "
                "--rule --env --global --report-unused-disable-directives-severity"
            ),
            outputs=_set("-o --output-file --cache-location"),
        ),
    ),
    "rubocop": Project(
        "medium",
        _LINT,
        writes=_set("-a -A --auto-correct --autocorrect --autocorrect-all"),
        values=_set("-c --config -r --require -f"),
    ),
    **dict.fromkeys(
        ("tsc", "vue-tsc"),
        Project(
            "medium",
            "compiles the project's TypeScript",
            values=_set("-p --project --target --module --lib --jsx"),
            outputs=_set("--outDir --outFile --declarationDir --tsBuildInfoFile"),
        ),
    ),
    **dict.fromkeys(
        names("gcc g++ cc c++ clang clang++ rustc zig ghc swiftc kotlinc scalac nvcc go-build"),
        Project(
            "medium",
            "compiles code",
            values=_set(
                "-I -L -l -D -U -x -std -target --target -C "
                "--edition --crate-type --crate-name --emit -include "
                "-isystem -MF -MT -MQ"
            ),
            outputs=_set("-o --out-dir"),
        ),
    ),
    "javac": Project(
        "medium",
        "compiles Java",
        values=_set("-cp -classpath --class-path -sourcepath --release -source -target -encoding"),
        outputs=_set("-d -s -h"),
    ),
    **dict.fromkeys(
        names(
            """esbuild webpack vite rollup parcel babel swc tsup next nuxt astro ng vue-cli-
            service"""
        ),
        Project(
            "medium",
            "builds the project's front-end code",
            operands="data",
            values=_set("-c --config --mode --format --platform --target"),
            outputs=_set("-o --outfile --outdir --out-dir --out-file --output-path --outDir -d"),
        ),
    ),
    "pre-commit": Project(
        "medium",
        "runs the project's hooks",
        operands="data",
        widen=NETWORK,
        values=_set("-c --config --hook-stage --files"),
    ),
    "sphinx-build": Project(
        "medium",
        "builds the documentation",
        operands="paths",
        values=_set("-b -c -D -j -t -d"),
        writes=frozenset(),
    ),
    "mkdocs": Project(
        "medium",
        "builds the documentation",
        operands="data",
        outputs=_set("-d --site-dir"),
        values=_set("-f --config-file"),
    ),
}


def ruff(a: Walker, inv: Invocation) -> None:
    args = inv.args
    command = args[0].literal if args else None
    if command in ("version", "help", "rule", "linter", "config", "--version", "--help", "-V"):
        a.add("low", f"ruff {command}: prints information")
        return
    if command in ("check", "format", "analyze", "clean", "server"):
        a.subcommand(command)
        args = args[1:]
    spec = Project(
        "low",
        {"format": "formats code", "server": "runs the language server"}.get(
            command or "", "checks code"
        ),
        writes=_set("--fix --unsafe-fixes --add-noqa --fix-only"),
        checks=_set("--check --diff --no-fix"),
        default_writes=command == "format",
        values=_set(
            "--select --ignore --extend-select --extend-ignore --per-file-ignores "
            "--target-version --line-length --exclude --extend-exclude --output-format "
            "--stdin-filename --fixable --unfixable --preview --config"
        ),
        outputs=_set("-o --output-file --cache-dir"),
    )
    if command == "clean":
        a.add("medium", "ruff clean: deletes its caches", changes=True, revertible=True)
        return
    run_project(a, inv, spec, args)


def java(a: Walker, inv: Invocation) -> None:
    texts = [w.text for w in inv.args]
    if any(t in ("-version", "--version", "-help", "--help", "-h") for t in texts):
        a.add("low", f"{inv.name}: prints its version or help")
        return
    a.add("high", f"{inv.name}: runs Java code the gate does not read", held_by=BOTH)


PROJECT_TOOLS: dict[str, Handler] = {
    **{name: project(spec) for name, spec in PROJECTS.items()},
    "ruff": ruff,
    **dict.fromkeys(("java", "kotlin", "scala", "groovy"), java),
}
