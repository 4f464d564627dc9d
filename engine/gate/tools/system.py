"""The machine and the network: processes (kill), power and services, system configuration
(hostname, clock, mounts, kernel modules, firewall), disks, users and privileges, scheduled
jobs, containers and clouds, and network clients (curl, wget, ssh, rsync ...).

Changing the machine itself (the disastrous list of the gate's issue: disks, power, users and
privileges, the clock and host name as root) is ``critical``, except where a tool is only asked
to show something (``fdisk -l``, ``systemctl status``, ``hostname``).
"""

from __future__ import annotations

import re

from engine.gate.analysis import Invocation
from engine.gate.base import BOTH, BWRAP, Widening, names
from engine.gate.tools.grammar import Handler, grammar, parse_args
from engine.gate.walk import Walker
from engine.gate.words import Word, plain_word

__all__ = ["SYSTEM_TOOLS"]

NET: frozenset[Widening] = frozenset({"network"})
_SHOWS = names(
    """-l --list -p --print --info --dump print status list show --show --detail --version
    --help query info ls get display"""
)


def _shows_only(inv: Invocation) -> bool:
    texts = [w.text for w in inv.args]
    return (
        bool(texts)
        and all(t in _SHOWS or not t.startswith("-") for t in texts)
        and (texts[0] in _SHOWS)
    )


def disk(a: Walker, inv: Invocation) -> None:
    if _shows_only(inv):
        a.add("low", f"{inv.name}: shows disks or file systems")
    else:
        a.add("critical", f"{inv.name}: formats, wipes, partitions or repairs disks")


def machine(a: Walker, inv: Invocation) -> None:
    """Tools that change the running system: critical unless only showing."""
    if not inv.args or _shows_only(inv):
        a.add("low", f"{inv.name}: shows the system's configuration")
    else:
        a.add("critical", f"{inv.name}: changes the machine's configuration")


def accounts(a: Walker, inv: Invocation) -> None:
    a.add("critical", f"{inv.name}: changes users, passwords or privileges")


def power(a: Walker, inv: Invocation) -> None:
    if inv.name in ("init", "telinit") and not {"0", "6"} & {w.text for w in inv.args}:
        a.add("high", f"{inv.name}: changes the run level", held_by=BWRAP)
        return
    if any(w.text in ("--help", "--version") for w in inv.args):
        a.add("low", f"{inv.name}: prints help")
        return
    a.add("critical", f"{inv.name}: shuts down or restarts the machine")


_SYSTEMCTL_SHOWS = names(
    """status show list-units list-unit-files list-timers list-sockets list-jobs is-active
        is-enabled is-failed cat help --version get-default list-dependencies"""
)
_SYSTEMCTL_POWER = names(
    "poweroff reboot halt kexec suspend hibernate hybrid-sleep rescue emergency soft-reboot"
)


def systemctl(a: Walker, inv: Invocation) -> None:
    verbs = [w.text for w in inv.args if not w.text.startswith("-")]
    verb = verbs[0] if verbs else "list-units"
    a.subcommand(verb)
    if verb in _SYSTEMCTL_POWER:
        a.add("critical", f"systemctl {verb}: shuts down or restarts the machine")
    elif verb in _SYSTEMCTL_SHOWS:
        a.add("low", f"systemctl {verb}: shows services")
    else:
        a.add("high", f"systemctl {verb}: controls system services")


def kill(a: Walker, inv: Invocation) -> None:
    texts = [w.text for w in inv.args]
    if not texts or texts[0] in ("-l", "-L", "--list", "--table"):
        a.add("low", "kill: lists signals")
    elif "-1" in texts[1:] or texts[:2] == ["--", "-1"] or texts == ["-1"]:
        a.add("critical", "kill -1 signals every process")
    else:
        a.add("high", f"{inv.name}: signals processes", held_by=BWRAP)


def clock_and_name(a: Walker, inv: Invocation) -> None:
    texts = [w.text for w in inv.args]
    if inv.name == "date":
        setting = any(t.startswith(("-s", "--set")) for t in texts) or any(
            not t.startswith(("-", "+")) and re.fullmatch(r"[0-9.]{8,}", t) for t in texts
        )
        reads = [inv.args[i + 1] for i, t in enumerate(texts[:-1]) if t in ("-f", "-r")]
        for word in reads:
            a.read(word, f"date {word.text}")
        what = "sets the clock"
    else:  # hostname
        setting = any(t in ("-F", "--file", "-b", "--boot") for t in texts) or any(
            not t.startswith("-") for t in texts
        )
        what = "sets the host name"
    if setting:
        a.add("critical", f"{inv.name}: {what}")
    else:
        a.add("low", f"{inv.name}: prints the {'date' if inv.name == 'date' else 'host name'}")


def another_user(a: Walker, inv: Invocation) -> None:
    a.add(
        "high",
        f"{inv.name}: runs as another user (in a sandbox it cannot gain privileges)",
        held_by=BOTH,
    )
    parsed = parse_args(
        inv.args,
        grammar(
            "lmpfPs",
            "cgGsuw",
            "--login --preserve-environment --pty --fast",
            "--command --group --supp-group --shell --whitelist-environment --user",
        ),
    )
    for word in parsed.values("-c", "--command"):
        if word.literal is None:
            a.add("unknown", f"{inv.name} -c runs a command computed at run time")
        else:
            a.script(word.literal, f"{inv.name} -c")
    if inv.name in ("pkexec", "runuser", "sg") and parsed.operands:
        current = a.current
        a.run(
            inv.shifted(
                parsed.operands[1:] if inv.name == "sg" else parsed.operands, functions=False
            )
        )
        a.current = current


def scheduler(a: Walker, inv: Invocation) -> None:
    texts = [w.text for w in inv.args]
    if inv.name in ("atq",) or (inv.name == "crontab" and texts in (["-l"], ["-l", "-u"])):
        a.add("low", f"{inv.name}: lists scheduled jobs")
    else:
        a.add(
            "high",
            f"{inv.name}: schedules commands that run outside the step (and any sandbox), later",
        )


def outside_programs(a: Walker, inv: Invocation) -> None:
    a.add(
        "high",
        f"{inv.name}: hands work to programs outside the step (containers, clusters, "
        "cloud services or the desktop)",
        widen=NET,
    )


CURL = grammar(
    "fsSLkIivGgjJnNqRZ#:0123456MlZ",
    "oOdFHXuAeEbcDKmrTwxyYzhPt",
    any_long=True,
    means={
        "-o": "write",
        "--output": "write",
        "-c": "write",
        "--cookie-jar": "write",
        "-D": "write",
        "--dump-header": "write",
        "--trace": "write",
        "--trace-ascii": "write",
        "--libcurl": "write",
        "--etag-save": "write",
        "--output-dir": "write",
        "-K": "read",
        "--config": "read",
        "-T": "read",
        "--upload-file": "read",
        "--netrc-file": "read",
        "-b": "read",
        "--cookie": "read",
    },
    operands="data*",
)
WGET = grammar(
    "bcdEFhHkKlLmNnpqrSv46xO",
    "OoaAPeiIlQtTwDUYRX",
    any_long=True,
    means={
        "-O": "write",
        "--output-document": "write",
        "-o": "write",
        "--output-file": "write",
        "-a": "write",
        "--append-output": "write",
        "-P": "write",
        "--directory-prefix": "write",
        "-i": "read",
        "--input-file": "read",
        "--post-file": "read",
        "--config": "read",
        "--save-cookies": "write",
        "--load-cookies": "read",
        "-e": "run",
        "--execute": "run",
    },
    operands="data*",
)


def download(a: Walker, inv: Invocation) -> None:
    from engine.gate.tools.grammar import judge_meaning

    a.add("high", f"{inv.name}: uses the network", widen=NET)
    g = CURL if inv.name == "curl" else WGET
    parsed = parse_args(inv.args, g)
    a.options(parsed.names)
    for option in parsed.unknown:
        a.add("high", f"{inv.name}: option {option} not understood", held_by=BOTH)
    for name, value in parsed.options:
        meaning = g.means.get(name)
        if meaning == "run":
            a.add("high", f"wget {name}: runs a wgetrc command", held_by=BOTH)
        elif meaning is not None and (value is None or value.text != "-"):
            judge_meaning(a, inv, meaning, value, f"{inv.name} {name}")
    for name, value in parsed.options:
        if (
            name
            in ("-d", "--data", "--data-binary", "--data-raw", "-F", "--form", "--data-urlencode")
            and value is not None
        ):
            file = value.text.partition("@")[2]
            if file and file != "-":
                a.read(plain_word(file), f"{inv.name} {name}")
    saves_here = inv.name == "wget" and not parsed.has("-O", "--output-document", "--spider")
    if saves_here or (
        parsed.has("-O", "--remote-name", "--remote-name-all") and inv.name == "curl"
    ):
        a.write(plain_word("."), inv.name, verb="saves downloads into")
    if parsed.has("-n", "--netrc") and inv.name == "curl":
        a.read(plain_word("~/.netrc"), "curl --netrc")


def remote(a: Walker, inv: Invocation) -> None:
    """ssh and friends: the network, and local files copied from or to."""
    a.add("high", f"{inv.name}: connects to another machine", widen=NET)
    texts = [w.text for w in inv.args]
    if any("ProxyCommand" in t or "LocalCommand" in t or "PermitLocalCommand" in t for t in texts):
        a.add("high", f"{inv.name}: -o ProxyCommand runs a local command", held_by=BOTH)
    if inv.name in ("scp", "rsync", "sftp"):
        operands = [w for w in inv.args if not w.text.startswith("-")]
        *sources, destination = operands or [plain_word("")]
        for word in sources:
            if not _remote_path(word):
                a.read(word, inv.name, bulk=True)
        if operands[1:] and not _remote_path(destination):
            a.write(destination, inv.name, verb="copies into")
        if inv.name == "rsync" and any(
            t.startswith(("-e", "--rsh", "--rsync-path")) for t in texts
        ):
            a.add("high", "rsync -e: runs a command to connect", held_by=BOTH)


def _remote_path(word: Word) -> bool:
    return re.match(r"^[^/]*:", word.text) is not None


def rsync(a: Walker, inv: Invocation) -> None:
    operands = [w for w in inv.args if not w.text.startswith("-")]
    if any(re.match(r"^[^/]*:", w.text) for w in operands):
        remote(a, inv)
        return
    a.add("medium", "rsync: copies files")
    texts = [w.text for w in inv.args]
    if any(t.startswith(("-e", "--rsh", "--rsync-path")) for t in texts):
        a.add("high", "rsync -e: runs a command", held_by=BOTH)
    for word in operands[:-1]:
        a.read(word, "rsync", bulk=True)
    if operands[1:]:
        deleting = any(t.startswith("--delete") or t == "--remove-source-files" for t in texts)
        if deleting:
            a.delete(operands[-1], "rsync --delete", recursive=True)
        a.write(operands[-1], "rsync", verb="copies into")


def network_only(a: Walker, inv: Invocation) -> None:
    a.add("high", f"{inv.name}: uses the network", widen=NET)


def permissions(a: Walker, inv: Invocation) -> None:
    if inv.name == "setcap":
        a.add("critical", "setcap: gives a program privileges")
        return
    a.add("high", f"{inv.name}: changes file attributes or access lists", held_by=BOTH)
    for word in [w for w in inv.args if not w.text.startswith(("-", "+"))][1:]:
        a.change(word, inv.name)


def log_reader(a: Walker, inv: Invocation) -> None:
    a.add("medium", f"{inv.name}: reads the system's logs")


def opener(a: Walker, inv: Invocation) -> None:
    a.add("high", f"{inv.name}: opens files or URLs in other programs, outside the step")


DISK_TOOLS = names(
    """mke2fs mkswap mkdosfs mkntfs mkexfatfs mkfs fdisk sfdisk cfdisk gdisk sgdisk cgdisk
        parted partprobe wipefs blkdiscard badblocks hdparm nvme cryptsetup pvcreate pvremove
        pvresize vgcreate vgremove vgreduce vgextend lvcreate lvremove lvresize lvextend
        lvreduce mdadm zpool zfs btrfs tune2fs resize2fs e2fsck fsck xfs_repair debugfs dmsetup
        kpartx sg_format flashrom e4defrag fstrim"""
)
MACHINE_TOOLS = names(
    """mount umount swapon swapoff losetup modprobe insmod rmmod depmod kexec ldconfig
        update-grub grub-install efibootmgr update-initramfs dracut mkinitcpio setenforce chcon
        restorecon semanage setsebool apparmor_parser update-alternatives dpkg-reconfigure
        locale-gen update-locale loadkeys setfont iptables ip6tables nft ufw firewall-cmd
        ifconfig route ip tc brctl ethtool iw nmcli rfkill hostnamectl timedatectl hwclock
        sysctl localectl"""
)
ACCOUNT_TOOLS = names(
    """useradd usermod userdel groupadd groupmod groupdel passwd gpasswd adduser deluser
        addgroup delgroup chsh chfn chage chpasswd newusers vipw vigr visudo pwconv grpconv"""
)

SYSTEM_TOOLS: dict[str, Handler] = {
    **dict.fromkeys(DISK_TOOLS, disk),
    **dict.fromkeys(MACHINE_TOOLS, machine),
    **dict.fromkeys(ACCOUNT_TOOLS, accounts),
    **dict.fromkeys(("shutdown", "reboot", "halt", "poweroff", "init", "telinit"), power),
    "systemctl": systemctl,
    **dict.fromkeys(("service", "rc-service", "launchctl", "initctl"), systemctl),
    **dict.fromkeys(("kill", "pkill", "killall", "killall5", "skill"), kill),
    **dict.fromkeys(("date", "hostname"), clock_and_name),
    **dict.fromkeys(("su", "runuser", "pkexec", "sg", "newgrp"), another_user),
    **dict.fromkeys(("crontab", "at", "batch", "atq", "atrm"), scheduler),
    **dict.fromkeys(
        names(
            """docker podman nerdctl kubectl helm terraform tofu vagrant ansible ansible-
            playbook pulumi aws gcloud az gh glab heroku flyctl vercel netlify firebase
            virsh qemu-system-x86_64 lxc incus minikube kind docker-compose dbus-send
            busctl gdbus notify-send"""
        ),
        outside_programs,
    ),
    **dict.fromkeys(("curl", "wget"), download),
    **dict.fromkeys(("ssh", "scp", "sftp", "mosh"), remote),
    "rsync": rsync,
    **dict.fromkeys(
        names(
            """nc ncat netcat socat telnet ftp tftp ping ping6 traceroute tracepath mtr dig
            nslookup host whois arping nmap aria2c http https xh websocat lynx w3m links
            fetch git-lfs ngrok"""
        ),
        network_only,
    ),
    **dict.fromkeys(("chattr", "setfacl", "setcap"), permissions),
    **dict.fromkeys(("journalctl", "dmesg"), log_reader),
    **dict.fromkeys(
        names("open xdg-open gio sensible-browser x-www-browser gnome-open kde-open wslview"),
        opener,
    ),
}
