"""Where a path points: inside the workspace (and where), a harmless sink, scratch space, some
other place, or somewhere only run time knows. Paths are resolved like the kernel does: against
the working directory, component by component, through symbolic links on disk and links the
script itself made, and compared as real paths (a symlinked workspace is its real directory).

Also the path facts the checks ask for: build output and caches, secret stores.
"""

from __future__ import annotations

import glob as globbing
import os
import pwd
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal

from engine.gate.base import names

__all__ = ["DEVICES", "Locator", "Place", "is_build_output", "secret_in"]

Kind = Literal["inside", "outside", "sink", "scratch", "computed"]

SINKS = frozenset(
    {
        "/dev/null",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
        "/dev/zero",
        "/dev/stdin",
        "/dev/random",
        "/dev/urandom",
        "/dev/full",
    }
)
SCRATCH = ("/tmp/", "/var/tmp/", "/dev/shm/")  # shared temporary space (private in the sandbox)
_NOT_FOLLOWED = ("/dev/", "/proc/")  # links there name streams and processes, not files
MAX_LINKS = 16
MAX_GLOB_MATCHES = 256

# Directories and files that builds and tools regenerate: deleting them loses nothing.
BUILD_DIRS = names(
    """build dist out target node_modules __pycache__ .pytest_cache .mypy_cache .ruff_cache
        .tox .nox .venv venv .cache coverage htmlcov .hypothesis .eggs .next .nuxt .parcel-cache
        .turbo .gradle .svelte-kit .angular .docusaurus .dart_tool .stack-work dist-newstyle
        CMakeFiles _build .ipynb_checkpoints .sass-cache .terraform .pnpm-store .eslintcache
        .coverage .pyre .pytype .benchmarks"""
)
BUILD_FILES = (
    "*.pyc",
    "*.pyo",
    "*.o",
    "*.obj",
    "*.class",
    "*.tsbuildinfo",
    "*.egg-info",
    ".DS_Store",
    "*.log",
    ".coverage",
    ".coverage.*",
    "cmake-build-*",
)

# Well-known secret stores: `~` stands for any home directory; a path may be a glob. Files named
# like a private key are secrets wherever they are (a `.pub` public key is not).
SECRET_STORES = (
    "~/.ssh",
    "~/.aws",
    "~/.gnupg",
    "~/.config/gcloud",
    "~/.kube",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.npmrc",
    "~/.pypirc",
    "~/.config/gh",
    "~/.azure",
    "~/.password-store",
    "/proc/*/environ",
    "/proc/*/mem",
    "/proc/*/root",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ssh",
    "/etc/sudoers",
)
SECRET_NAMES = ("id_rsa", "id_ed25519", "id_ecdsa", "id_dsa")  # matched as *name*
DEVICES = re.compile(
    r"/dev/(sd|nvme|hd|vd|xvd|mmcblk|disk|dm-|md|loop|mapper/|sr|nbd|zram|mtd|mem$|kmem$|port$)"
)
_HOME_DIRS = re.compile(r"^(?:~[^/]*|/root|/home(?:/[^/]+)?|/Users(?:/[^/]+)?)(?=/|$)")


@dataclass(frozen=True, slots=True)
class Place:
    """Where one value of a path word points. ``path`` is workspace-relative for ``inside``
    (``.`` for the root), absolute (``~``-based for a home) otherwise."""

    kind: Kind
    path: str
    shown: str  # the path as written, plus where a link took it
    glob: bool = False


@dataclass(slots=True)
class Locator:
    """Resolves paths for one analysis (its links and disk look-ups are remembered)."""

    root: str  # the workspace's real path
    home: str = field(default_factory=lambda: os.path.expanduser("~"))
    links: dict[str, str | None] = field(default_factory=dict)  # made by the script -> target
    _disk_links: dict[str, bool] = field(default_factory=dict)

    def place(
        self, value: str, cwd: str | None, *, glob: bool = False, follow_last: bool = True
    ) -> Place:
        """Where ``value`` points from the directory ``cwd`` (None: computed)."""
        if value in SINKS or value.startswith("/dev/fd/"):
            return Place("sink", value, value)
        walked = self.walk(value, cwd, follow_last=follow_last)
        if walked is None:
            return Place("computed", value, value, glob)
        full, crossed = walked
        shown = f"{value} (a link to {full})" if crossed else value
        return self.classify(full, shown, glob)

    def classify(self, full: str, shown: str, glob: bool = False) -> Place:
        if full in SINKS or full.startswith("/dev/fd/"):
            return Place("sink", full, shown)
        if full == self.root:
            return Place("inside", ".", shown, glob)
        if full.startswith(self.root + "/"):
            return Place("inside", full[len(self.root) + 1 :], shown, glob)
        if self.root.startswith(full.rstrip("/") + "/"):  # holds the workspace: never scratch
            return Place("outside", full, f"{shown} (it holds the workspace)", glob)
        if full.startswith(SCRATCH) and full.rstrip("/") + "/" not in SCRATCH:
            return Place("scratch", full, shown, glob)
        return Place("outside", full, shown, glob)

    def glob_matches(self, value: str, cwd: str | None, *, follow_last: bool) -> list[Place]:
        """Places the files a glob matches on disk really are, where links lead elsewhere
        (`rm -rf */` follows a link to a directory); empty when no match crosses a link."""
        walked = self.walk(value, cwd, follow_last=False)
        if walked is None or walked[0].startswith("~"):
            return []
        found: list[Place] = []
        for index, match in enumerate(globbing.iglob(walked[0])):
            if index >= MAX_GLOB_MATCHES:
                break
            real = os.path.realpath(match) if follow_last else _real_parent(match)
            if real != os.path.abspath(match):
                found.append(self.classify(real, f"{value} (matches {match}, a link to {real})"))
        return found

    def walk(self, text: str, cwd: str | None, *, follow_last: bool) -> tuple[str, bool] | None:
        """(absolute path, crossed a link), walking component by component so that `..` after a
        link climbs from the link's target, as the kernel does. None when it depends on a
        computed directory."""
        path = self.expand_home(text)
        if path is None:
            return None
        if not path.startswith(("/", "~")):
            if cwd is None:
                return None
            path = f"{cwd.rstrip('/')}/{path}"
        current, *pending = path.split("/")
        crossed, hops = False, 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                current = current.rpartition("/")[0] if "/" in current else current
            elif part not in ("", "."):
                current = f"{current}/{part}"
                last = not pending
                if (last and not follow_last) or not self._is_link(current):
                    continue
                target, hops, crossed = self._link_target(current), hops + 1, True
                if target is None or hops > MAX_LINKS:
                    return None
                current, *rest = target.split("/")
                pending = rest + pending
        return current or "/", crossed

    def expand_home(self, text: str) -> str | None:
        """``text`` with a leading ``~`` or ``~user`` replaced by that home; None for ``~-``."""
        if not text.startswith("~"):
            return text
        head, sep, rest = text.partition("/")
        if head == "~":
            home = self.home
        elif head == "~+":
            return "." + sep + rest
        elif head == "~-":
            return None
        else:
            try:
                home = pwd.getpwnam(head[1:]).pw_dir
            except (KeyError, UnicodeEncodeError):
                home = f"/home/{head[1:]}"  # no such user: some place outside, all the same
        return home + sep + rest if home != "/" else "/" + rest

    def _is_link(self, path: str) -> bool:
        if path in self.links:
            return True
        if not path.startswith("/") or path.startswith(_NOT_FOLLOWED):
            return False
        if f"{self.root}/".startswith(f"{path}/"):
            return False  # the root and its parents: already a real path
        known = self._disk_links.get(path)
        if known is None:
            known = self._disk_links[path] = os.path.islink(path)
        return known

    def _link_target(self, path: str) -> str | None:
        if path in self.links:
            return self.links[path]
        try:
            target = os.readlink(path)
        except (OSError, ValueError):
            return None
        return target if target.startswith("/") else f"{path.rpartition('/')[0]}/{target}"

    def home_based(self, full: str) -> str:
        """``full`` with a home directory (this user's, /root, /home/<user>) written ``~``."""
        for home in _homes(self.home):
            if home not in ("", "/") and f"{full}/".startswith(f"{home}/"):
                return "~" + full[len(home) :]
        return _HOME_DIRS.sub("~", full)


@lru_cache(maxsize=8)
def _homes(home: str) -> frozenset[str]:
    return frozenset({os.path.normpath(home), os.path.realpath(home)})


def _real_parent(path: str) -> str:
    head, _, tail = path.rpartition("/")
    return f"{os.path.realpath(head or '/')}/{tail}"


def is_build_output(rel: str) -> bool:
    """True for a workspace-relative path in build output or a cache (regenerated by tools)."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return False
    if any(p in BUILD_DIRS for p in parts):
        return True
    return any(fnmatchcase(parts[-1], pattern) for pattern in BUILD_FILES)


def _either_matches(store_part: str, path_part: str) -> bool:
    """A part of a store's path (``*`` for any process) against a part of a path (which may be
    a glob itself, ``~/.ss?``)."""
    return fnmatchcase(store_part, path_part) or fnmatchcase(path_part, store_part)


def secret_in(path: str, *, bulk: bool) -> tuple[str, bool] | None:
    """(secret store, whole) when ``path`` (absolute or ``~``-based; may be a glob) is in one,
    or names a private key; with ``bulk`` (a reader of whole trees), also (store, False) when
    ``path`` holds one."""
    parts = path.rstrip("/").split("/")
    if parts[0] in ("", "~"):
        for store in SECRET_STORES:
            want = store.split("/")
            if (bulk or len(parts) >= len(want)) and all(map(_either_matches, want, parts)):
                return store, len(parts) >= len(want)
    name = parts[-1]
    if not name.endswith(".pub") and any(key in name for key in SECRET_NAMES):
        return name, True
    return None
