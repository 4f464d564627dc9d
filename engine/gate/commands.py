"""The gate's tables: the risk of every known command, the commands that wrap another command,
detach from the step or write files, git's subcommands, and the argument patterns the checks look
for. Extend them here; ``engine.gate.rules`` says which commands get an argument check on top.
"""

from __future__ import annotations

import re

from engine.models import RiskLevel


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _table(level: RiskLevel, phrase: str, names: str) -> dict[str, tuple[RiskLevel, str]]:
    return dict.fromkeys(names.split(), (level, phrase))


# Command name -> (level, what it does). Names with argument checks are in rules.RULES.
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
        "medium",
        "keeps a background job running after the shell exits (in the step's process group)",
        "disown",
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
PYTHON = re.compile(r"(python|pypy)[0-9.]*")
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
    "nohup": (frozenset(), 0),  # keeps the process group: the runner's group kill reaches it
    "busybox": (frozenset(), 0),
    "setsid": (frozenset(), 0),  # a detacher too: see DETACHERS
    "daemonize": (_names("-c -e -E -o -p -l -u"), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "time": (frozenset({"-f", "--format", "-o", "--output"}), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}), 0),
    "xargs": (_names("-I -L -n -P -s -d -E -a --arg-file --delimiter --max-procs"), 0),
}
# wrapper -> options whose value is a file it writes
WRAPPER_OUTPUTS = {"time": ("-o", "--output"), "daemonize": ("-o", "-e", "-p", "-l")}
# Commands that move what they run out of the step's process group or session, beyond the
# runner's group kill: at least high, and the command they run is judged too.
DETACHERS = {
    "setsid": "detaches from the step's process group",
    "daemonize": "detaches from the step's process group",
    "start-stop-daemon": "starts a daemon outside the step's process group",
    "screen": "runs commands in a terminal session outside the step's process group",
    "tmux": "runs commands in a terminal session outside the step's process group",
}
SCREEN_VALUE_LETTERS = "ScehpTts"  # an option cluster ending in one takes a value (-dmS name)
SCREEN_FLAGS = _names("-ls -list -wipe")
TMUX_GLOBAL_VALUE_OPTS = _names("-c -f -L -S -T")  # before the subcommand; -c runs a command
TMUX_VALUE_OPTS = _names("-c -e -n -s -t -x -y -N -w -T -S")  # a value in every subcommand
TMUX_QUIET = _names(  # subcommands that run no command (any other may: new, send-keys, run ...)
    "attach attach-session a at detach detach-client has-session has kill-server kill-session "
    "kill-window kill-pane ls list-sessions list-windows list-panes rename-session "
    "rename-window select-window select-pane switch-client"
)
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

# Well-known secret stores: reading or copying from one is high. `~` stands for any home
# directory ($HOME, /root, /home/<user>); a path may be a glob. Files named like a private key
# are secrets wherever they are (a `.pub` public key is not).
SECRET_STORES = (
    "~/.ssh", "~/.aws", "~/.gnupg", "~/.config/gcloud", "~/.kube", "~/.docker/config.json",
    "~/.netrc", "~/.git-credentials", "/etc/shadow", "/etc/gshadow", "/etc/ssh",
)  # fmt: skip
SECRET_NAMES = ("id_rsa", "id_ed25519", "id_ecdsa", "id_dsa")  # matched as *name*
# commands whose arguments are not files they read (`echo ~/.ssh` only prints the name)
NON_READERS = _names("echo printf cd pushd test [ [[ true false : export unset local declare")
# commands that read whole directory trees: naming ~ or / reads the secret stores inside
BULK_READERS = _names("cp mv rsync scp tar zip 7z cpio grep egrep fgrep rg ag")

# argument patterns the checks look for
RM_EVERYTHING = _names(
    "/ /* ~ ~/ ~/* $HOME $HOME/ $HOME/* ${HOME} ${HOME}/ . ./ * ./* .* .. ../ ../* /. //"
)
DISK_DEVICE = re.compile(r"/dev/(sd|nvme|hd|vd|xvd|mmcblk|disk|dm-|md|loop|mapper/)")
SED_RUNS = re.compile(r"(?:^|[;\n{}0-9$!/])\s*[gpiImM0-9]*[wWe](?:\s|$|;)")
AWK_RUNS = re.compile(r"system\s*\(|\|\s*getline|\|&|print[f]?\b[^;}]*[>|]|getline\s*<")
# a substitution that downloads: `sh -c "$(curl ...)"` runs what it fetched
FETCH_SUB = re.compile(r"\s*(?:sudo\s+)?(?:curl|wget|fetch)\b")

# git subcommands by level; any other subcommand is high, since it may be an alias
GIT_LOW = _names("""status log diff show rev-parse ls-files blame shortlog describe grep ls-tree
    cat-file show-ref version help count-objects for-each-ref merge-base name-rev whatchanged
    cherry var check-ignore check-attr diff-tree diff-files diff-index rev-list show-branch
    reflog""")
GIT_MEDIUM = _names("""add commit checkout switch stash fetch pull merge rebase restore
    cherry-pick revert init clone mv rm apply am format-patch bisect gc notes sparse-checkout
    archive worktree submodule ls-remote maintenance prune repack fsck tag branch remote reset
    mergetool range-diff""")
GIT_LISTING = _names("-a -r -v -vv -l --list --all --remotes --show-current -n")
