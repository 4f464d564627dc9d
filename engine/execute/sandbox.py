"""The sandbox: what a step can touch is decided by the kernel, not by how well we parse shell.

``agent.sandbox`` is ``auto`` (the default: bubblewrap where it works, else Landlock, else none,
and the health report says which), ``bwrap``, ``landlock`` or ``off`` (only on request). What is
available is probed once per process (``support``).

bubblewrap (the boundary): a read-only root; the workspace writable except ``.git/`` and
``.agent/``; a private ``/tmp`` (the run's scratch folder, shared by its steps, where tool caches
go); the home folder read-only with the user's secret stores and agentd's own folders hidden; a
private ``/run``; new PID, network, IPC, UTS and cgroup namespaces with their own ``/proc``; no
capabilities, a new session; the whole namespace dies with the step and with agentd. A step the
gate marked for it gets exactly its widenings: the network (``network``) or a writable ``.git``
(``gitWrite``; hooks, config and info stay read-only: git would run them outside any sandbox).

Landlock (where user namespaces are refused): writes confined to the workspace and the scratch
folder, TCP bind and connect refused where the kernel's ABI has it, no capabilities; what it
cannot do is listed by ``protections`` (see ``engine.execute.landlock``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.userdirs import config_dir, state_dir
from engine.vocab import Widening as Widening

SandboxMode = Literal["auto", "bwrap", "landlock", "off"]
SandboxKind = Literal["bwrap", "landlock", "off"]

# The user's secret stores, hidden from every step (home-relative; a documented, configurable list).
SECRET_STORES = (
    ".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh", ".config/hub",
    ".netrc", ".docker", ".kube", ".npmrc", ".yarnrc", ".pypirc", ".config/pip",
    ".cargo/credentials", ".cargo/credentials.toml", ".git-credentials",
    ".config/git/credentials", ".password-store", ".local/share/keyrings",
    ".terraform.d/credentials.tfrc.json", ".vault-token",
)  # fmt: skip
# Sockets that hand out root or the user's session, wherever they live.
HIDDEN_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
GIT_EXECUTED = ("hooks", "config", "info")  # what git runs or obeys: never writable by a step


def scratch_env(tmp: str) -> dict[str, str]:
    """Tool caches and state go to the run's scratch folder: the home folder is read-only."""
    return {
        "TMPDIR": tmp,
        "XDG_CACHE_HOME": f"{tmp}/.cache",
        "XDG_STATE_HOME": f"{tmp}/.local/state",
        "npm_config_cache": f"{tmp}/.npm",
        "GOCACHE": f"{tmp}/.cache/go-build",
        "PYTHONPYCACHEPREFIX": f"{tmp}/.cache/pycache",
    }


@dataclass(frozen=True, slots=True)
class Support:
    """What this machine offers, probed once."""

    bwrap: str | None  # the bwrap binary when a trial sandbox ran
    bwrap_problem: str  # why not, when it did not
    landlock_abi: int  # 0 without Landlock


@functools.cache
def support() -> Support:
    from engine.execute.landlock import abi_version

    found = shutil.which("bwrap")
    if found is None:
        return Support(None, "bwrap is not installed", abi_version())
    trial = [found, *_base_args(Path("/"), None), "--", "/bin/true"]
    try:
        done = subprocess.run(trial, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Support(None, f"bwrap could not run: {exc}", abi_version())
    if done.returncode != 0:
        problem = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        return Support(None, f"bwrap cannot make a sandbox here: {problem}", abi_version())
    return Support(found, "", abi_version())


def in_effect(mode: SandboxMode, found: Support | None = None) -> SandboxKind:
    """The sandbox that ``mode`` gives on this machine."""
    found = found or support()
    if mode == "off":
        return "off"
    if mode in ("auto", "bwrap") and found.bwrap is not None:
        return "bwrap"
    if mode in ("auto", "landlock") and found.landlock_abi > 0:
        return "landlock"
    return "off"


def unavailable(mode: SandboxMode, found: Support | None = None) -> str | None:
    """Why an explicitly requested sandbox cannot be had here (None when it can)."""
    found = found or support()
    if mode == "bwrap" and found.bwrap is None:
        return found.bwrap_problem
    if mode == "landlock" and found.landlock_abi == 0:
        return "this kernel has no Landlock (Linux 5.13 or later, enabled in the LSM list)"
    return None


@dataclass(frozen=True, slots=True)
class Protection:
    name: str
    active: bool
    note: str = ""


def protections(kind: SandboxKind, found: Support | None = None) -> list[Protection]:
    """What a step is protected from under ``kind``: for health reports and `agentd doctor`."""
    found = found or support()
    bwrap, landlock = kind == "bwrap", kind == "landlock"
    tcp = landlock and found.landlock_abi >= 4
    scoped = landlock and found.landlock_abi >= 6
    return [
        Protection("writes only in the workspace and a private /tmp", bwrap or landlock),
        Protection(".git and .agent read-only", bwrap, "" if bwrap else "needs bwrap"),
        Protection("secret stores in home hidden", bwrap, "" if bwrap else "needs bwrap"),
        Protection(
            "no network unless approved",
            bwrap or tcp,
            "TCP only (Landlock ABI >= 4)" if tcp else "" if bwrap else "needs bwrap or Landlock 4",
        ),
        Protection(
            "agentd and other processes out of reach",
            bwrap or scoped,
            "own PID namespace" if bwrap else "Landlock scoping" if scoped else "needs bwrap",
        ),
        Protection("processes die with their step and with agentd", bwrap),
        Protection("a cleared environment (allow-list)", True),
        Protection("no capabilities", bwrap or landlock),
        Protection(
            "per-step limits on CPU, memory and processes",
            True,
            "root is exempt from the process limit" if os.getuid() == 0 else "",
        ),
    ]


# -- bubblewrap -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """How one step is sandboxed."""

    kind: SandboxKind
    workspace: Path
    scratch: Path  # the run's private /tmp on the host
    widenings: frozenset[Widening] = frozenset()
    hidden: tuple[str, ...] = SECRET_STORES  # home-relative paths to hide


def bwrap_argv(binary: str, plan: Plan, command: list[str]) -> list[str]:
    return [binary, *_base_args(plan.workspace, plan), "--", *command]


def _base_args(workspace: Path, plan: Plan | None) -> list[str]:
    """The profile (with ``plan`` None: the start-up trial)."""
    args = [
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run",
        "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
    ]  # fmt: skip
    if plan is None:
        return args
    if "network" in plan.widenings:
        args.append("--share-net")
    args += ["--bind", str(plan.scratch), "/tmp"]
    args += _hidden(plan.hidden)
    args += _workspace(workspace, "gitWrite" in plan.widenings)
    args += ["--chdir", str(workspace)]
    return args


def _hidden(home_relative: Iterable[str]) -> list[str]:
    """An empty folder over each secret store that exists, /dev/null over each such file, and
    over agentd's own configuration and state (the API key, the trace key)."""
    home = Path.home()
    paths = [home / rel for rel in home_relative] + [config_dir(), state_dir()]
    paths += [Path(p) for p in HIDDEN_SOCKETS]
    args = []
    for path in paths:
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


def _workspace(workspace: Path, git_write: bool) -> list[str]:
    args = ["--bind", str(workspace), str(workspace)]
    git, agent = workspace / ".git", workspace / ".agent"
    if git.is_dir():
        if git_write:
            args += [
                flag
                for part in GIT_EXECUTED
                if (git / part).exists()
                for flag in ("--ro-bind", str(git / part), str(git / part))
            ]
        else:
            args += ["--ro-bind", str(git), str(git)]
    if agent.is_dir():
        args += ["--ro-bind", str(agent), str(agent)]
    return args


# -- the run's scratch folder -----------------------------------------------------------------


def new_scratch(run_id: str) -> Path:
    """A private folder for the run's steps (their /tmp), outside every workspace."""
    base = Path(tempfile.gettempdir()) / f"agentd-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid != os.getuid():
        raise OSError(f"{base} is not ours")
    scratch = base / run_id
    scratch.mkdir(mode=0o700)
    return scratch


def remove_scratch(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-step resource limits (0: none), in force before the step's command runs, so every
    process of the step inherits them: under bwrap by ``prlimit`` (util-linux) inside the
    sandbox, under Landlock as the child starts, unsandboxed on the shell right after its exec
    (``prlimit(2)``, long before it has read its command)."""

    cpu_seconds: int = 3600
    memory_bytes: int = 8 << 30
    processes: int = 4096

    def pairs(self) -> list[tuple[int, int]]:
        limits = (
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_AS, self.memory_bytes),
            (resource.RLIMIT_NPROC, self.processes),
        )
        return [(which, value) for which, value in limits if value]

    def apply(self, pid: int) -> None:
        for which, value in self.pairs():
            with contextlib.suppress(ProcessLookupError):  # it has already ended
                resource.prlimit(pid, which, (value, value))

    def argv(self) -> list[str]:
        """The ``prlimit`` command that sets them (empty when there is none to set)."""
        flags = {resource.RLIMIT_CPU: "--cpu", resource.RLIMIT_AS: "--as",
                 resource.RLIMIT_NPROC: "--nproc"}  # fmt: skip
        found = shutil.which("prlimit")
        pairs = self.pairs()
        if found is None or not pairs:
            return []
        return [found, *(f"{flags[which]}={value}" for which, value in pairs), "--"]
