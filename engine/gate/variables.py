"""Environment variables a step sets: which are known to be harmless, which make programs load
or run other code (or send traffic elsewhere), and which change how the shell itself works."""

from __future__ import annotations

import re

from engine.gate.analysis import Analysis
from engine.gate.base import BOTH, names
from engine.gate.words import Word

__all__ = ["judge_variable"]

# Read by programs, harmless whatever the value: setting them needs no thought.
SAFE = names(
    """CI NODE_ENV RUST_BACKTRACE RUST_LOG LANG LANGUAGE TZ TERM NO_COLOR FORCE_COLOR CLICOLOR
        COLUMNS LINES PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE PYTHONHASHSEED PYTHONWARNINGS
        PYTHONIOENCODING PYTHONUTF8 PYTHONFAULTHANDLER PYTHONDEVMODE
        PIP_DISABLE_PIP_VERSION_CHECK PIP_NO_INPUT PIP_QUIET DEBIAN_FRONTEND GOOS GOARCH
        CGO_ENABLED GO111MODULE DEBUG VERBOSE LOG_LEVEL ENVIRONMENT NODE_NO_WARNINGS
        NPM_CONFIG_YES NPM_CONFIG_FUND NPM_CONFIG_AUDIT NPM_CONFIG_UPDATE_NOTIFIER
        CARGO_TERM_COLOR CARGO_INCREMENTAL CARGO_TARGET_DIR RUST_TEST_THREADS JOBS
        PYTEST_XDIST_AUTO_NUM_WORKERS COVERAGE_FILE HYPOTHESIS_PROFILE TESTING UV_NO_PROGRESS
        UV_FROZEN UV_OFFLINE POETRY_VIRTUALENVS_IN_PROJECT GIT_TERMINAL_PROMPT GIT_AUTHOR_NAME
        GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE
        GIT_COMMITTER_DATE SOURCE_DATE_EPOCH"""
)
SAFE_PREFIXES = ("LC_",)

# Make a program (or a shell started later) load or run code from elsewhere.
RUNS_CODE = names(
    """BASH_ENV ENV PROMPT_COMMAND PS4 LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT PYTHONSTARTUP
        PYTHONPATH PYTHONHOME PYTHONUSERBASE PERL5OPT PERL5LIB PERLLIB RUBYOPT RUBYLIB
        NODE_OPTIONS NODE_PATH JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS MAVEN_OPTS
        GRADLE_OPTS EDITOR VISUAL PAGER MANPAGER LESSOPEN LESSCLOSE SSH_ASKPASS SUDO_ASKPASS
        BROWSER RUSTC_WRAPPER RUSTC RUSTFLAGS RUSTDOCFLAGS CC CXX CPP LD AR MAKEFLAGS MAKE
        MFLAGS SHELL GOFLAGS GOTOOLCHAIN PYTEST_ADDOPTS PYTEST_PLUGINS TOX_OVERRIDE
        PIP_CONFIG_FILE NPM_CONFIG_USERCONFIG XDG_CONFIG_HOME XDG_DATA_HOME HOME ZDOTDIR INPUTRC
        TMPDIR"""
)
RUNS_CODE_PREFIXES = (
    "GIT_",
    "LD_",
    "DYLD_",
    "BASH_FUNC_",
    "NPM_CONFIG_",
    "npm_config_",
    "PIP_",
    "UV_",
    "POETRY_",
    "CARGO_",
    "YARN_",
    "PNPM_",
)
# Hold a command line that programs run with a shell: judged as a script too.
COMMAND_LINES = names(
    """GIT_SSH_COMMAND PROMPT_COMMAND EDITOR VISUAL PAGER GIT_PAGER GIT_EDITOR MANPAGER
    GIT_SEQUENCE_EDITOR SUDO_EDITOR"""
)
# Send network traffic through another host.
PROXIES = re.compile(r"(?i)(https?|ftp|all|no)_proxy")
# Change how this shell itself finds and runs commands or splits words.
SHELL_SPECIAL = {
    "PATH": "decides which programs later commands run",
    "CDPATH": "decides where later `cd` commands go",
    "IFS": "changes how later words are split",
    "GLOBIGNORE": "changes what later globs match",
    "SHELLOPTS": "changes shell options of later shells",
    "BASHOPTS": "changes shell options of later shells",
    "HISTFILE": "decides which file history commands write",
}


def judge_variable(a: Analysis, name: str, value: Word, tool: str | None, *, shell: bool) -> None:
    """Judge ``name=value`` given to ``tool``'s environment (``tool`` None: exported by the
    script), or set in the shell itself (``shell``: only variables the shell or programs it
    starts already look at matter)."""
    shown = f"{name}={value.text}"
    where = f" for {tool}" if tool else ""
    if name in SHELL_SPECIAL:
        a.add("high", f"{shown} {SHELL_SPECIAL[name]}", held_by=BOTH)
    elif name in SAFE or name.startswith(SAFE_PREFIXES):
        return
    elif name in RUNS_CODE or name.startswith(RUNS_CODE_PREFIXES):
        a.add(
            "high",
            f"{shown}{where}: this variable makes programs load or run other code or configuration",
            held_by=BOTH,
        )
        if name in COMMAND_LINES and value.literal is not None:
            a.script(value.literal, f"${name}")
    elif PROXIES.fullmatch(name):
        a.add("high", f"{shown}{where}: sends network traffic through another host", held_by=BOTH)
    elif not shell and not name.islower():
        a.add("medium", f"{shown}{where}: a variable the gate does not know")
