"""RuleGate, the first-version Gate: risk from tables of known commands plus argument checks,
and the policy's decision. The tables are below, in one place; extend them there.

Choices (documented so they can be argued with):
- a plain command name found in no table is ``high`` ("unrecognised command"): a real program we
  know nothing about; a computed name (``$x``, ``$'\\x72m'``, quotes) or a command line this
  reader cannot parse is ``unknown``; a relative path (``./build.sh``) runs workspace code: medium;
- the whole command's level is the highest of its parts; on a tie ``unknown`` wins over ``high``
  so that a policy which denies unknown risk still applies;
- writes (redirections, ``tee``, ``cp`` ...) outside the workspace are ``critical``, inside it
  ``medium``; into ``.git/`` or anywhere ``engine.paths.write_path_problem`` rejects ``critical``;
- after a ``cd`` out of the workspace relative paths are outside it, and a tool that changes files
  (medium) is at least ``high``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from engine.gate.base import LEVEL_ORDER, Policy, Verdict
from engine.gate.shell import ASSIGNMENT, Analysis, Finding, SimpleCommand, Word
from engine.models import Risk, RiskLevel, RunCliStep, WriteFileStep
from engine.paths import editor_executed, write_path_problem

__all__ = ["COMMAND_LEVELS", "RuleGate", "assess_command", "assess_write"]

MAX_REASONS = 12


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _table(level: RiskLevel, phrase: str, names: str) -> dict[str, tuple[RiskLevel, str]]:
    return dict.fromkeys(names.split(), (level, phrase))


# Command name -> (level, what it does). Names with argument checks are in RULES further down.
COMMAND_LEVELS: dict[str, tuple[RiskLevel, str]] = {
    **_table(
        "low",
        "reads only",
        """echo printf true false : ls pwd cat head tail wc grep egrep
        fgrep rg ag sort uniq cut tr diff cmp comm stat file which type whereis date uname whoami
        id printenv sleep test [ [[ basename dirname realpath readlink du df tree less more nl od
        xxd hexdump strings md5sum sha1sum sha256sum sha512sum cksum column paste join fold fmt
        rev tac seq yes expr jq hostname nproc free uptime ps pgrep lsof locale tput export unset
        set shopt umask ulimit wait jobs read local declare typeset readonly return exit break
        continue shift hash getopts let alias unalias popd dirs for select history help man""",
    ),
    **_table(
        "medium",
        "runs project code or changes the workspace",
        """make cmake ninja meson
        pytest tox nox ruff mypy pyright black isort flake8 pylint tsc eslint prettier jest vitest
        mocha rustc rustfmt gcc g++ cc clang clang++ javac java mvn gradle dotnet swift swiftc
        zig ghc cabal stack mix elixir erlc gofmt goimports golangci-lint patch gzip gunzip zip
        bzip2 xz unxz zstd pre-commit just task bazel""",
    ),
    **_table(
        "high",
        "uses the network",
        """ssh sftp nc ncat netcat telnet ftp socat http https
        xh aria2c ping dig nslookup host""",
    ),
    **_table(
        "high",
        "installs or removes software",
        """apt apt-get aptitude dpkg rpm yum dnf
        pacman zypper apk brew port snap flatpak nix-env""",
    ),
    **_table("high", "signals or controls processes", "pkill killall service launchctl"),
    **_table("high", "runs as another user", "doas su runuser pkexec"),
    **_table(
        "high",
        "controls containers, VMs or clusters",
        """docker podman kubectl helm
        terraform vagrant nerdctl""",
    ),
    **_table("high", "runs a script in the current shell", "source ."),
    **_table("high", "schedules or changes system services", "crontab at batch systemd-run"),
    **_table("high", "opens files or URLs in other programs", "open xdg-open"),
    **_table("high", "downloads and runs a package", "npx pnpx bunx uvx pipx"),
    **_table(
        "critical",
        "formats, wipes or partitions disks",
        """mkfs mke2fs mkswap fdisk sfdisk
        parted wipefs blkdiscard""",
    ),
    **_table("critical", "shuts down or reboots the machine", "shutdown reboot halt poweroff"),
}

DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "xh"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "su"})
_PYTHON = re.compile(r"(python|pypy)[0-9.]*")
INLINE_FLAGS = {  # interpreter -> flags that run code given on the command line
    "python": ("-c",), "node": ("-e", "--eval", "-p", "--print"), "perl": ("-e", "-E"),
    "ruby": ("-e",), "php": ("-r",), "lua": ("-e",),
}  # fmt: skip
PACKAGE_TOOLS = _names(
    "npm yarn pnpm pip pip3 uv poetry pdm cargo go gem bundle composer conda mamba bun deno"
)
PACKAGE_CHANGES = _names(
    "install i add ci update upgrade up uninstall remove rm un sync publish login get link dlx "
    "exec x global"
)
# name -> (options that take a value, positional words before the wrapped command)
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "env": (frozenset({"-u", "--unset", "-C", "--chdir"}), 0),
    "sudo": (_names("-u -g -p -C -D -h -r -t -U -T --user --group --prompt --chdir"), 0),
    "timeout": (frozenset({"-s", "--signal", "-k", "--kill-after"}), 1),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "--class", "--classdata"}), 0),
    "nohup": (frozenset(), 0),
    "busybox": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "time": (frozenset({"-f", "--format", "-o", "--output"}), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}), 0),
    "xargs": (_names("-I -L -n -P -s -d -E -a --arg-file --delimiter --max-procs"), 0),
}
# commands whose arguments are paths they change: xargs-fed arguments make them at least high
PATH_CHANGERS = _names(
    "rm rmdir unlink shred chmod chown chgrp cp mv ln tee touch mkdir truncate dd install"
)
WRITERS: dict[str, tuple[bool, frozenset[str]]] = {  # name -> (only the last operand, value opts)
    "tee": (False, frozenset()),
    "touch": (False, frozenset({"-d", "-t", "-r", "--date", "--reference"})),
    "mkdir": (False, frozenset({"-m", "--mode"})),
    "truncate": (False, frozenset({"-s", "-r", "--size", "--reference"})),
    "mv": (False, frozenset({"-t", "-S", "--target-directory", "--suffix"})),
    "cp": (True, frozenset({"-t", "-S", "--target-directory", "--suffix"})),
    "ln": (True, frozenset({"-t", "-S", "--target-directory", "--suffix"})),
    "install": (
        True,
        _names("-m -o -g -t -S --mode --owner --group --target-directory"),
    ),
}
_RM_EVERYTHING = _names(
    "/ /* ~ ~/ ~/* $HOME $HOME/ $HOME/* ${HOME} ${HOME}/ . ./ * ./* .* .. ../ ../* /. //"
)
_DISK = re.compile(r"/dev/(sd|nvme|hd|vd|xvd|mmcblk|disk|dm-|md|loop|mapper/)")
_SED_RUNS = re.compile(r"(?:^|[;\n{}0-9$!/])\s*[gpiImM0-9]*[wWe](?:\s|$|;)")
_AWK_RUNS = re.compile(r"system\s*\(|\|\s*getline|\|&|print[f]?\b[^;}]*[>|]|getline\s*<")
_FETCH_SUB = re.compile(r"\s*(?:sudo\s+)?(?:curl|wget|fetch)\b")


class RuleGate:
    """The rule-table Gate. Fast (tens of microseconds a command), pure, never raises."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()

    def assess(self, step: RunCliStep | WriteFileStep, workspace: Path) -> Verdict:
        try:
            if isinstance(step, RunCliStep):
                risk = assess_command(step.cmd, workspace)
            else:
                risk = assess_write(step.path, workspace)
        except Exception as exc:  # the gate must never take a run down; unsure means unknown
            risk = Risk(level="unknown", reasons=[f"gate error: {exc!r} (unknown)"])
        return Verdict(risk=risk, decision=self.policy.decide(risk))


def assess_write(rel_path: str, workspace: Path) -> Risk:
    """Risk of writing ``rel_path`` (workspace-relative), following existing symlinks."""
    problem = write_path_problem(rel_path)
    if problem:
        return _risk("critical", problem)
    root = os.path.realpath(workspace)
    real = os.path.realpath(os.path.join(root, rel_path))
    if not real.startswith(root + os.sep):
        return _risk("critical", f"{rel_path!r} resolves to {real}, outside the workspace")
    real_rel = os.path.relpath(real, root)
    problem = write_path_problem(real_rel)
    if problem:
        return _risk("critical", f"{rel_path!r} resolves to {real_rel!r}: {problem}")
    if editor_executed(rel_path) or editor_executed(real_rel):
        return _risk("high", f"write {rel_path}: an editor or CI runs this file")
    return _risk("low", f"write {rel_path} inside the workspace")


def assess_command(cmd: str, workspace: Path) -> Risk:
    """Risk of running ``cmd`` with ``sh -c`` in ``workspace``: the highest of its parts."""
    analysis = Analysis(os.path.normpath(workspace), os.path.realpath(workspace), classify)
    analysis.script(cmd, 0)
    if not analysis.findings:
        return _risk("low", "no command")
    ranked = sorted(analysis.findings, key=_rank, reverse=True)
    reasons = list(dict.fromkeys(f"{text} ({level})" for level, text in ranked))
    return Risk(level=ranked[0][0], reasons=reasons[:MAX_REASONS])


def _risk(level: RiskLevel, reason: str) -> Risk:
    return Risk(level=level, reasons=[f"{reason} ({level})"])


def _rank(finding: Finding) -> tuple[int, bool]:
    return LEVEL_ORDER[finding[0]], finding[0] == "unknown"


# --- per-command rules -------------------------------------------------------------------------

Rule = Callable[[Analysis, list[Word], SimpleCommand, int], None]


def classify(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    """Judge one command (its name is a literal word): wrappers, rules, then the tables."""
    head = argv[0].text
    name = head.rsplit("/", 1)[-1]
    rule = RULES.get(name)
    if rule is None and _PYTHON.fullmatch(name):
        rule = _interpreter
    if rule is not None:
        rule(a, argv, cmd, depth)
    elif name in WRAPPERS:
        _wrapper(a, argv, cmd, depth)
    elif name in COMMAND_LEVELS:
        level, phrase = COMMAND_LEVELS[name]
        a.add(level, f"{name}: {phrase}")
    elif name.startswith("mkfs"):
        a.add("critical", f"{name}: formats a disk")
    elif "/" in head and not head.startswith("/"):
        a.add("medium", f"runs workspace program {head!r}")
    else:
        a.add("high", f"unrecognised command {name!r}")


def _split(
    args: list[Word], value_opts: frozenset[str] = frozenset()
) -> tuple[list[str], list[Word]]:
    """(option texts, operands): options start with '-' until '--'; listed ones take a value."""
    options: list[str] = []
    operands: list[Word] = []
    it = iter(args)
    for word in it:
        text = word.text
        if text == "--":
            operands.extend(it)
        elif text.startswith("-") and len(text) > 1 and not word.dynamic:
            options.append(text)
            if text in value_opts:
                options.append(next(it, Word("")).text)
        else:
            operands.append(word)
    return options, operands


def _values(args: list[Word], names: tuple[str, ...], *, exact: bool = False) -> list[Word]:
    """Values of the given options: ``-o X``, ``--output=X`` and, unless ``exact``, ``-oX`` and
    clusters such as ``-sSLo X``."""
    found: list[Word] = []
    for index, word in enumerate(args):
        text = word.text
        following = args[index + 1 : index + 2]
        for opt in names:
            if text == opt:
                found += following
            elif exact:
                continue
            elif opt.startswith("--"):
                if text.startswith(opt + "="):
                    found.append(Word(text[len(opt) + 1 :], word.dynamic))
            elif match := re.fullmatch(rf"-[a-zA-Z]*?{opt[1]}(.*)", text):
                found += [Word(match[1], word.dynamic)] if match[1] else following
    return found


def _wrapper(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    value_opts, positional = WRAPPERS[name]
    if name == "sudo":
        a.add("high", "sudo: runs as root")
    i = 1
    while i < len(argv):
        text = argv[i].text
        if text == "--":
            i += 1
            break
        if name == "env" and ASSIGNMENT.match(text):
            i += 1
            continue
        if not text.startswith("-") or text == "-":
            break
        if name == "env" and text.startswith(("-S", "--split-string")):
            a.add("unknown", "env -S splits a string into a command")
            return
        if name == "command" and text in ("-v", "-V"):
            a.add("low", "command -v: looks a command up")
            return
        if name == "time" and text in ("-o", "--output") and i + 1 < len(argv):
            a.write_target(argv[i + 1], "time -o")
        i += 2 if text in value_opts else 1
    rest = argv[i + positional :]
    if not rest:
        a.add("low", f"{name}: runs no command")
    elif name == "xargs":
        if rest[0].text.rsplit("/", 1)[-1] in PATH_CHANGERS:
            a.add("high", f"{rest[0].text} with arguments from xargs")
        a.command(rest, cmd, depth)
    else:
        a.command(rest, cmd, depth)


def _rm(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    options, targets = _split(argv[1:])
    recursive = any(
        o in ("--recursive", "-r") or (not o.startswith("--") and ("r" in o or "R" in o))
        for o in options
    )
    label = f"{name} -r" if recursive else name
    if "--no-preserve-root" in options:
        a.add("critical", f"{name} --no-preserve-root")
    if not targets:
        a.add("high", f"{label}: deletes files")
    for word in targets:
        where, rel = a.locate(word)
        if recursive and (word.text in _RM_EVERYTHING or rel == "."):
            a.add("critical", f"{label} on {word.text}")
        elif where == "outside":
            a.add("critical", f"{label} outside the workspace: {word.text}")
        elif where == "computed":
            a.add("unknown", f"{label} on a computed path {word.text!r}")
        elif where == "sink" or write_path_problem(rel):
            a.add("critical", f"{label} on {word.text}: {write_path_problem(rel) or 'a device'}")
        else:
            a.add("high", f"{label} deletes {rel} inside the workspace")


def _chmod(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    operands = [w for w in argv[1:] if not re.fullmatch(r"-[RvcfhHLP]+|--[a-z-]+(=.*)?", w.text)]
    a.add("high", f"{name}: changes permissions or ownership")
    for word in operands[1:]:  # the first operand is the mode or owner
        where, rel = a.locate(word)
        if where == "outside":
            a.add("critical", f"{name} outside the workspace: {word.text}")
        elif where == "computed":
            a.add("unknown", f"{name} on a computed path {word.text!r}")
        elif where == "inside" and write_path_problem(rel):
            a.add("critical", f"{name} on {word.text}: {write_path_problem(rel)}")


def _writer(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    last_only, value_opts = WRITERS[name]
    _, operands = _split(argv[1:], value_opts)
    has_dir_opt = name in ("cp", "ln", "install", "mv")  # touch -t is a time stamp
    targets = _values(argv[1:], ("-t", "--target-directory")) if has_dir_opt else []
    if name == "mv":
        targets += operands  # mv changes its sources too: they disappear
    elif not targets:
        if last_only and len(operands) == 1:
            targets = [Word(".")]  # cp/ln with one operand write into the current directory
        else:
            targets = operands[-1:] if last_only else operands
    if not targets:
        a.add("medium", f"{name}: changes files")
    for word in targets:
        a.write_target(word, name)


def _dd(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    a.add("medium", "dd: copies raw data")
    for word in argv[1:]:
        if word.text.startswith("of="):
            target = Word(word.text[3:], word.dynamic)
            if _DISK.match(target.text):
                a.add("critical", f"dd writes to the disk device {target.text}")
            else:
                a.write_target(target, "dd of=")


def _git(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    i = 1
    where: str | None = None
    while i < len(argv) and argv[i].text.startswith("-"):
        text = argv[i].text
        if text in ("-c", "--config-env") or text.startswith(("--exec-path", "--config-env=")):
            a.add("high", f"git {text}: configuration can make git run any command")
        if text == "-C" and i + 1 < len(argv):
            where = a.locate(argv[i + 1])[0]
        i += 2 if text in ("-c", "-C", "--config-env", "--git-dir", "--work-tree") else 1
    if i >= len(argv):
        a.add("low", "git: prints help")
        return
    sub, args = argv[i], argv[i + 1 :]
    texts = {w.text for w in args}
    if sub.dynamic or sub.quoted:
        a.add("unknown", f"git with a computed subcommand {sub.text!r}")
        return
    level, what = _git_level(sub.text, texts)
    a.add(level, f"git {sub.text}: {what}")
    if where in ("outside", "computed") and level != "low":
        a.add("high", f"git {sub.text} in another repository (-C)")
    for target in _values(args, ("--output", "-o")):
        a.write_target(target, f"git {sub.text} --output")


_GIT_LOW = _names("""status log diff show rev-parse ls-files blame shortlog describe grep ls-tree
    cat-file show-ref version help count-objects for-each-ref merge-base name-rev whatchanged
    cherry var check-ignore check-attr diff-tree diff-files diff-index rev-list show-branch
    reflog""")
_GIT_MEDIUM = _names("""add commit checkout switch stash fetch pull merge rebase restore
    cherry-pick revert init clone mv rm apply am format-patch bisect gc notes sparse-checkout
    archive worktree submodule ls-remote maintenance prune repack fsck tag branch remote reset
    mergetool range-diff""")
_GIT_LISTING = _names("-a -r -v -vv -l --list --all --remotes --show-current -n")


def _git_level(sub: str, args: set[str]) -> tuple[RiskLevel, str]:
    if sub == "push":
        forced = args & {"-f", "--force", "--force-with-lease", "--mirror", "--delete", "-d"}
        return "high", "rewrites the remote (force)" if forced else "publishes to a remote"
    if sub == "clean":
        dry = args & {"-n", "--dry-run"}
        return ("low", "lists untracked files") if dry else ("high", "deletes untracked files")
    if sub == "reset" and "--hard" in args:
        return "high", "discards uncommitted changes"
    if sub == "config":
        reading = args & {"--get", "--get-all", "--get-regexp", "--list", "-l", "get", "list"}
        return ("low", "reads configuration") if reading else ("high", "can set commands git runs")
    if (sub in ("branch", "tag", "remote") and args <= _GIT_LISTING) or (
        sub == "stash" and args & {"list", "show"}
    ):
        return "low", "lists"
    if sub in _GIT_LOW:
        return "low", "reads the repository"
    if sub in _GIT_MEDIUM:
        return "medium", "changes the repository or working tree"
    return "high", "unrecognised git subcommand (may be an alias)"


def _find(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    args = argv[1:]
    starts = []
    for word in args:
        if word.text.startswith(("-", "(", "!")):
            break
        starts.append(word)
    away = [w.text for w in starts if a.locate(w)[0] in ("outside", "computed")]
    texts = [w.text for w in args]
    mark = len(a.findings)
    a.add("low", "find: reads only")
    if "-delete" in texts:
        a.add(
            "critical" if away else "high", f"find -delete {' '.join(away) or 'in the workspace'}"
        )
    for flag in ("-fprint", "-fprint0", "-fprintf", "-fls"):
        for target in _values(args, (flag,), exact=True):
            a.write_target(target, f"find {flag}")
    for index, text in enumerate(texts):
        if text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(index + 1, len(texts)) if texts[j] in (";", "+")), None)
            a.command(args[index + 1 : end], cmd, depth)
    worst = max(LEVEL_ORDER[level] for level, _ in a.findings[mark:])
    if away and worst >= LEVEL_ORDER["medium"] and worst < LEVEL_ORDER["critical"]:
        a.add("critical", f"find changes files outside the workspace: {' '.join(away)}")


def _sed(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    args = argv[1:]
    in_place = any(
        w.text.startswith("--in-place") or re.match(r"-[a-zA-Z]*i", w.text) for w in args
    )
    _, operands = _split(args, frozenset({"-e", "-f", "--expression", "--file", "-l"}))
    scripts = _values(args, ("-e", "--expression"))
    if not scripts and not _values(args, ("-f", "--file")):
        scripts, operands = operands[:1], operands[1:]
    if any(_SED_RUNS.search(w.text) for w in scripts):
        a.add("high", "sed script writes files or runs commands")
    if not in_place:
        a.add("low", "sed: reads only")
    for word in operands if in_place else ():
        a.write_target(word, "sed -i")


def _awk(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    _, operands = _split(argv[1:], frozenset({"-F", "-v", "-f"}))
    if _values(argv[1:], ("-f",)):
        a.add("medium", "awk runs a program file")
    elif operands and _AWK_RUNS.search(operands[0].text):
        a.add("high", "awk program runs commands or writes files")
    else:
        a.add("low", "awk: reads only")


def _interpreter(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    key = "python" if _PYTHON.fullmatch(name) else name
    inline = INLINE_FLAGS.get(key, ())
    args = argv[1:]
    for index, word in enumerate(args):
        text = word.text
        short = key == "python" and re.fullmatch(r"-[a-zA-Z]*c", text)
        if text in inline or short:
            a.add("high", f"{name} {text}: runs inline code")
            return
        if key == "python" and text == "-m" and index + 1 < len(args):
            module = args[index + 1].text
            if module == "pip" and {w.text for w in args[index + 2 :]} & PACKAGE_CHANGES:
                a.add("high", f"{name} -m pip: installs or removes packages")
            else:
                a.add("medium", f"{name} -m {module}: runs project code")
            return
        if not text.startswith("-") or word.dynamic:
            _script_file(a, name, word)
            return
    _stdin_script(a, name, cmd, depth, shell=False)


def _shell(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    args = argv[1:]
    if name == "su":
        a.add("high", "su: runs as another user")
        scripts = _values(args, ("-c", "--command"), exact=True)
        for word in scripts[:1]:
            a.script(word.text, depth + 1)
        return
    has_c = False
    i = 0
    while i < len(args) and args[i].text.startswith(("-", "+")) and len(args[i].text) > 1:
        text = args[i].text
        has_c = has_c or (not text.startswith("--") and "c" in text) or text == "--command"
        i += 2 if text in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file") else 1
    rest = args[i:]
    if has_c and rest:
        if any(_FETCH_SUB.match(sub) for sub in rest[0].subs):
            a.add("critical", f"{name} -c runs a downloaded script")
        a.script(rest[0].text, depth + 1)
    elif has_c:
        a.add("unknown", f"{name} -c without a script")
    elif rest:
        _script_file(a, name, rest[0])
    else:
        _stdin_script(a, name, cmd, depth, shell=True)


def _script_file(a: Analysis, name: str, word: Word) -> None:
    if any(_FETCH_SUB.match(sub) for sub in word.subs):
        a.add("critical", f"{name} runs a downloaded script")
    elif word.dynamic:
        a.add("unknown", f"{name} runs a computed script {word.text!r}")
    else:
        a.add("medium", f"{name} runs {word.text}")


def _stdin_script(a: Analysis, name: str, cmd: SimpleCommand, depth: int, *, shell: bool) -> None:
    """An interpreter with no script reads one from stdin: a pipe, a here-document or a file."""
    for redirect in cmd.redirects:
        if redirect.op in ("<<", "<<-", "<<<"):
            body = redirect.target.heredoc if redirect.op != "<<<" else redirect.target.text
            if shell:
                a.script(body or "", depth + 1)
            else:
                a.add("high", f"{name} runs inline code from a here-document")
            return
    source = cmd.stdin_pipe
    if source is not None and source.name in DOWNLOADERS:
        a.add("critical", f"download piped into {name} ({source.name} | {name})")
    elif source is not None:
        a.add("unknown", f"{name} runs code read from a pipe")
    else:
        a.add("medium", f"{name}: runs an interpreter")


def _package_tool(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    options, operands = _split(argv[1:])
    verbs = [w.text for w in operands[:2]]
    if {"-e", "--eval"} & set(options):
        a.add("high", f"{name} -e: runs inline code")
    elif not verbs and name in ("yarn", "pnpm", "bundle"):
        a.add("high", f"{name}: installs packages")
    elif set(verbs) & PACKAGE_CHANGES:
        a.add("high", f"{name} {' '.join(verbs)}: installs, removes or runs downloaded packages")
    else:
        a.add("medium", f"{name} {' '.join(verbs)}".rstrip() + ": runs project tasks")


def _download(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("high", f"{name}: uses the network")
    names = ("-o", "--output") if name == "curl" else ("-O", "--output-document", "-P", "-o")
    for target in _values(argv[1:], names):
        if target.text != "-":
            a.write_target(target, f"{name} output")


def _remote_copy(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    a.add("high", f"{name}: copies files, possibly over the network")
    _, operands = _split(argv[1:], frozenset({"-e", "-i", "-P", "-F", "-o", "-l", "-S"}))
    dest = operands[-1] if len(operands) > 1 else None
    if dest is not None and not re.match(r"[^/]*:", dest.text):
        a.write_target(dest, name)


def _tar(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    modes: set[str] = set()
    values: dict[str, Word] = {}
    pending: list[str] = []
    longs = {"--file": "f", "--directory": "C", "--extract": "x", "--get": "x", "--create": "c"}
    for index, word in enumerate(argv[1:]):
        text = word.text
        if pending:
            values[pending.pop(0)] = word
        elif text.startswith("--"):
            key, eq, value = text.partition("=")
            letter = longs.get(key, "P" if key == "--absolute-names" else "")
            modes.add(letter)
            if letter in ("f", "C"):
                values.update({letter: Word(value, word.dynamic)} if eq else {})
                pending += [] if eq else [letter]
        elif text.startswith("-") or index == 0:
            letters = text.lstrip("-")
            for pos, ch in enumerate(letters):
                modes.add(ch)
                if ch in "fC" and text.startswith("-") and letters[pos + 1 :]:
                    values[ch] = Word(letters[pos + 1 :], word.dynamic)
                    break
                if ch in "fC":
                    pending.append(ch)
    a.add("medium", "tar: packs or unpacks archives")
    if "P" in modes:
        a.add("high", "tar keeps absolute paths (-P)")
    if "x" in modes:
        a.write_target(values.get("C", Word(".")), "tar -x")
    if modes & {"c", "r", "u"} and "f" in values and values["f"].text != "-":
        a.write_target(values["f"], "tar -c")


def _cd(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    _, operands = _split(argv[1:])
    target = operands[0] if operands else Word("~")
    a.add("low", f"{argv[0].text}: changes directory")
    if target.text.startswith(("~", "$HOME", "${HOME}")):
        a.cwd = "~"  # home: outside any workspace, so relative paths there are outside too
    elif target.dynamic or target.text == "-" or a.cwd is None:
        a.cwd = None
    else:
        a.cwd = os.path.normpath(os.path.join(a.cwd, target.text))


def _misc(a: Analysis, argv: list[Word], cmd: SimpleCommand, depth: int) -> None:
    name = argv[0].text.rsplit("/", 1)[-1]
    texts = [w.text for w in argv[1:]]
    if name == "kill":
        if "-1" in texts[1:] or texts[:2] == ["--", "-1"]:
            a.add("critical", "kill -1 signals every process")
        else:
            a.add("high", "kill: signals processes")
    elif name in ("init", "telinit"):
        halting = bool({"0", "6"} & set(texts))
        a.add("critical" if halting else "high", f"{name}: changes the run level")
    elif name == "systemctl":
        halting = bool({"poweroff", "reboot", "halt", "kexec"} & set(texts))
        a.add("critical" if halting else "high", "systemctl: controls system services")
    elif name in ("eval", "trap"):
        a.add("high" if name == "eval" else "low", f"{name}: runs its argument as shell code")
        words = argv[1:] if name == "eval" else [w for w in argv[1:2] if w.text[:1] != "-"]
        a.script(" ".join(w.text for w in words), depth + 1)
    elif name in ("sort", "unzip"):
        a.add("low" if name == "sort" else "medium", f"{name}: reads or unpacks files")
        for target in _values(argv[1:], ("-o", "--output") if name == "sort" else ("-d",)):
            a.write_target(target, f"{name} output")


RULES: dict[str, Rule] = {
    **dict.fromkeys(("rm", "rmdir", "unlink", "shred"), _rm),
    **dict.fromkeys(("chmod", "chown", "chgrp"), _chmod),
    **dict.fromkeys(WRITERS, _writer),
    **dict.fromkeys(("node", "perl", "ruby", "php", "lua"), _interpreter),
    **dict.fromkeys(SHELLS, _shell),
    **dict.fromkeys(PACKAGE_TOOLS, _package_tool),
    **dict.fromkeys(("curl", "wget"), _download),
    **dict.fromkeys(("rsync", "scp"), _remote_copy),
    **dict.fromkeys(("cd", "pushd"), _cd),
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), _awk),
    **dict.fromkeys(
        ("kill", "init", "telinit", "systemctl", "eval", "trap", "sort", "unzip"), _misc
    ),
    "dd": _dd,
    "git": _git,
    "find": _find,
    "sed": _sed,
    "tar": _tar,
}
