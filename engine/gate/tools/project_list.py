"""The known project tools and their grammars: builders, test runners, linters, formatters and
compilers (the machinery that reads them is ``projects.py``)."""

from __future__ import annotations

from engine.gate.base import names
from engine.gate.tools.grammar import Handler
from engine.gate.tools.projects import NETWORK, Project, java, project, project_words as _set, ruff

__all__ = ["PROJECTS", "PROJECT_TOOLS"]

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


PROJECT_TOOLS: dict[str, Handler] = {
    **{name: project(spec) for name, spec in PROJECTS.items()},
    "ruff": ruff,
    **dict.fromkeys(("java", "kotlin", "scala", "groovy"), java),
}
