"""Checkpoints: before a run changes files, what it may change is stored, so the run can be
reverted exactly (edits, creations and deletions), without overwriting what the user changed
since.

The store is a git object store of agentd's own in ``.agent/checkpoints/`` (with its own index,
so unchanged files are not hashed again), never the user's index, stash or refs. A run's scope
is either the paths it names (writeFile targets) or the whole workspace: its tracked and
untracked-but-not-ignored files. ``take`` stores them before the run, ``seal`` after it;
``engine.execute.revert`` puts back every path the run changed that nobody changed since, and
reports the others.

Blocking (it runs git): call it from a worker thread in async code.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import AgentError
from engine.paths import split_write_path

__all__ = ["Checkpoint", "CheckpointError", "has_checkpoint"]

FOLDER = Path(".agent") / "checkpoints"
MAX_FILE_BYTES = 64 << 20  # larger files are not stored (reported as skipped if changed)
# A checkpoint is meant to be cheap: a scope beyond these (a home folder, a huge tree without
# .gitignore files) is refused with a clear error rather than copied.
MAX_SCOPE_FILES = 100_000
MAX_SCOPE_BYTES = 2 << 30
NOT_STORED = (".agent/runs/", ".agent/checkpoints/")
# Content exactly as on disk: no line-ending conversion, filters or keyword expansion.
_ATTRIBUTES = "* -text -filter -ident -diff !working-tree-encoding\n"
_EXCLUDES = "/.agent/runs/\n/.agent/checkpoints/\n"
_SAFE_CONFIG = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "gc.auto=0",
    "-c",
    "core.autocrlf=false",
    "-c",
    "core.safecrlf=false",
    "-c",
    "core.symlinks=true",
    "-c",
    "core.quotepath=false",
)
Entry = tuple[str, str]  # (git mode, object id)


class CheckpointError(AgentError):
    """A checkpoint that cannot be taken, found or reverted; the message says why."""


class Store:
    """agentd's own git object store for one workspace."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(os.path.realpath(workspace))
        self.folder = self.workspace / FOLDER
        self.git_dir = self.folder / "store.git"
        if shutil.which("git") is None:
            raise CheckpointError("checkpoints need git, which is not installed")

    def ensure(self) -> None:
        if (self.git_dir / "HEAD").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".gitignore").write_text("*\n")
        subprocess.run(
            ["git", "init", "-q", "--bare", "--object-format=sha1", str(self.git_dir)],
            check=True,
            capture_output=True,
            env=_env(),
        )
        info = self.git_dir / "info"
        info.mkdir(exist_ok=True)
        (info / "attributes").write_text(_ATTRIBUTES)
        (info / "exclude").write_text(_EXCLUDES)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.ensure()
        with open(self.folder / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def git(self, *args: str, index: Path | None = None, stdin: bytes = b"") -> bytes:
        env = _env(
            GIT_DIR=str(self.git_dir),
            GIT_WORK_TREE=str(self.workspace),
            GIT_INDEX_FILE=str(index or self.folder / "index"),
            GIT_LITERAL_PATHSPECS="1",
        )
        done = subprocess.run(
            ["git", *_SAFE_CONFIG, *args],
            input=stdin,
            capture_output=True,
            env=env,
            cwd=self.workspace,
        )
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise CheckpointError(
                f"git {args[0]} failed in the checkpoint store: "
                f"{detail[0] if detail else done.returncode}"
            )
        return done.stdout

    def files(self) -> list[str]:
        """The workspace's tracked and untracked-not-ignored files (its own git's view when it
        is in a repository; otherwise every file not ignored by .gitignore files)."""
        user = subprocess.run(
            ["git", *_SAFE_CONFIG, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            cwd=self.workspace,
            env=_env(GIT_LITERAL_PATHSPECS="1"),
        )
        if user.returncode == 0:
            listed = user.stdout
        else:  # not in a repository: untracked files, with an empty index of our own
            empty = self.folder / "empty.index"
            empty.unlink(missing_ok=True)
            listed = self.git("ls-files", "-z", "--others", "--exclude-standard", index=empty)
        names = [n.decode("utf-8", "surrogateescape") for n in listed.split(b"\0") if n]
        return sorted({n for n in names if _storable(n)})

    def snapshot(self, paths: Sequence[str], *, replace_all: bool) -> tuple[str, list[str]]:
        """Store ``paths`` (as they are now) into the index and return (tree, skipped): files
        too large to store are left out. ``replace_all``: the index holds exactly them."""
        if len(paths) > MAX_SCOPE_FILES:
            raise CheckpointError(
                f"{len(paths)} files to store, more than a checkpoint takes ({MAX_SCOPE_FILES}); "
                "a .gitignore for build output and data keeps them out"
            )
        present, absent, other, skipped = [], [], [], []
        total = 0
        for path in paths:
            try:
                info = os.lstat(self.workspace / path)
            except OSError:
                absent.append(path)
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
                skipped.append(path)
            elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                present.append(path)
                total += info.st_size
            else:  # a folder or a device where a file was: not stored
                other.append(path)
        if total > MAX_SCOPE_BYTES:
            raise CheckpointError(
                f"{total >> 20} MiB of files to store, more than a checkpoint takes "
                f"({MAX_SCOPE_BYTES >> 20} MiB); a .gitignore for build output and data keeps "
                "them out"
            )
        if replace_all:  # the index holds exactly what is present: list what it holds now
            wanted = set(present)
            stale = [p for p in self.index_paths() if p not in wanted]
            changed = present
        else:  # --remove drops an absent path from the index (a no-op if it was not there)
            stale = other + skipped
            changed = present + absent
        # update-index, not add: explicit paths without pathspec matching, and the stat data
        # in the index spares files that did not change from being read again
        if stale:
            self.git("update-index", "--force-remove", "-z", "--stdin", stdin=_nul(stale))
        if changed:
            self.git(
                "update-index",
                "--add",
                "--remove",
                "--replace",
                "-z",
                "--stdin",
                stdin=_nul(changed),
            )
        tree = self.git("write-tree").decode().strip()
        return tree, skipped

    def index_paths(self) -> list[str]:
        return [
            n.decode("utf-8", "surrogateescape")
            for n in self.git("ls-files", "-z").split(b"\0")
            if n
        ]

    def tree(self, tree: str) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for record in self.git("ls-tree", "-r", "-z", "--full-tree", tree).split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, _, oid = meta.decode().split(" ")
            out[name.decode("utf-8", "surrogateescape")] = (mode, oid)
        return out

    def blob(self, oid: str) -> bytes:
        return self.git("cat-file", "blob", oid)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C", **extra)
    return env


def _nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)


def _storable(path: str) -> bool:
    return (
        not path.endswith("/") and not path.startswith(NOT_STORED) and bool(split_write_path(path))
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One run's checkpoint: its scope, the tree before it and (once sealed) after it."""

    workspace: Path
    run_id: str
    scope: tuple[str, ...] | None  # None: the whole workspace
    before: str
    after: str | None = None
    skipped: tuple[str, ...] = ()

    @classmethod
    def take(cls, workspace: Path, run_id: str, paths: Sequence[str] | None = None) -> Checkpoint:
        """Store what the run ``run_id`` may change: ``paths`` (workspace-relative), or the
        whole workspace when None."""
        _check_run_id(run_id)
        store = Store(workspace)
        with store.locked():
            scope = None if paths is None else tuple(sorted({p for p in paths if _storable(p)}))
            names = store.files() if scope is None else list(scope)
            tree, skipped = store.snapshot(names, replace_all=scope is None)
            point = cls(store.workspace, run_id, scope, tree, None, tuple(skipped))
            point._save(store)
        return point

    def seal(self) -> Checkpoint:
        """Store what the run left (call when it ends); returns the sealed checkpoint."""
        store = Store(self.workspace)
        with store.locked():
            names = store.files() if self.scope is None else list(self.scope)
            tree, skipped = store.snapshot(names, replace_all=self.scope is None)
            sealed = Checkpoint(
                self.workspace,
                self.run_id,
                self.scope,
                self.before,
                tree,
                tuple(sorted({*self.skipped, *skipped})),
            )
            sealed._save(store)
        return sealed

    @classmethod
    def load(cls, workspace: Path, run_id: str) -> Checkpoint:
        _check_run_id(run_id)
        store = Store(workspace)
        path = store.folder / "runs" / f"{run_id}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(
                f"no checkpoint for run {run_id!r} in {store.workspace}"
            ) from None
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"the checkpoint of run {run_id!r} cannot be read: {exc}"
            ) from exc
        scope = data.get("scope")
        return cls(
            store.workspace,
            run_id,
            None if scope is None else tuple(scope),
            data["before"],
            data.get("after"),
            tuple(data.get("skipped", ())),
        )

    def _save(self, store: Store) -> None:
        # refs keep the trees reachable; "before" is written by take, "after" by seal
        name, tree = ("before", self.before) if self.after is None else ("after", self.after)
        store.git("update-ref", f"refs/agentd/{self.run_id}/{name}", tree)
        runs = store.folder / "runs"
        runs.mkdir(exist_ok=True)
        data = {
            "runId": self.run_id,
            "scope": None if self.scope is None else list(self.scope),
            "before": self.before,
            "after": self.after,
            "skipped": list(self.skipped),
        }
        temp = runs / f".{self.run_id}.json.tmp"
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temp, runs / f"{self.run_id}.json")


def has_checkpoint(workspace: Path, run_id: str) -> bool:
    """Whether run ``run_id`` left a checkpoint in ``workspace`` (cheap: no git)."""
    try:
        _check_run_id(run_id)
    except CheckpointError:
        return False
    return (Path(os.path.realpath(workspace)) / FOLDER / "runs" / f"{run_id}.json").is_file()


def _check_run_id(run_id: str) -> None:
    if not run_id or "/" in run_id or run_id.startswith(".") or len(run_id) > 128:
        raise CheckpointError(f"run id {run_id!r} cannot name a checkpoint")
