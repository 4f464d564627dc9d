"""Checkpoints and revert, on real files and real git: a run that edits, creates and deletes
files is reverted exactly; a file the user changed since is reported, not overwritten; the
user's own index, refs and stash are never touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.execute import checkpoint
from engine.execute.checkpoint import Checkpoint, CheckpointError
from engine.execute.revert import revert


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def snapshot(root: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every file under ``root`` (but .git and .agent) with its content and mode."""
    found: dict[str, tuple[bytes | str, int]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".agent")]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            full = Path(folder, name)
            rel = str(full.relative_to(root))
            if full.is_symlink():
                found[rel] = (os.readlink(full), 0o120000)
            else:
                found[rel] = (full.read_bytes(), full.stat().st_mode & 0o777)
    return found


def folders(root: Path) -> set[str]:
    return {
        str(Path(f).relative_to(root))
        for f, _, _ in os.walk(root)
        if ".git" not in Path(f).parts and ".agent" not in Path(f).parts
    }


@pytest.fixture(params=["git", "plain"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A project with tracked, untracked and ignored files (in a git repository or not)."""
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "main.py").write_text("print('hi')\n")
    (ws / "README.md").write_text("readme\n")
    (ws / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    (ws / "run.sh").write_text("#!/bin/sh\n")
    (ws / "run.sh").chmod(0o755)
    (ws / "notes.txt").write_text("untracked notes\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.o").write_bytes(b"\0obj")
    (ws / ".gitignore").write_text("build/\n")
    (ws / ".gitattributes").write_text("* text=auto eol=lf\n")
    (ws / "link").symlink_to("README.md")
    if request.param == "git":
        git(ws, "init", "-q")
        git(ws, "add", "src", "README.md", "crlf.txt", "run.sh", ".gitignore", "link")
        git(ws, "commit", "-qm", "init")
        git(ws, "stash", "list")
    return ws


def act_as_a_run(ws: Path) -> None:
    """What a run might do: edit, create, delete, change modes and links."""
    (ws / "README.md").write_text("changed by the run\n")
    (ws / "crlf.txt").write_bytes(b"lf only\n")
    (ws / "src" / "main.py").unlink()
    (ws / "new" / "deep").mkdir(parents=True)
    (ws / "new" / "deep" / "file.txt").write_text("created\n")
    (ws / "src" / "extra.py").write_text("x = 1\n")
    (ws / "notes.txt").write_text("edited notes\n")
    (ws / "run.sh").chmod(0o644)
    (ws / "link").unlink()
    (ws / "link").symlink_to("src")
    (ws / "build" / "out.o").write_bytes(b"rebuilt")  # ignored: not the run's to revert


def test_a_run_is_reverted_exactly(workspace: Path) -> None:
    before, before_folders = snapshot(workspace), folders(workspace)
    point = Checkpoint.take(workspace, "run-1")
    act_as_a_run(workspace)
    point.seal()
    report = revert(workspace, "run-1")
    after = snapshot(workspace)
    assert after.pop("build/out.o") == (b"rebuilt", 0o644)  # ignored build output stays
    before.pop("build/out.o")
    assert after == before
    assert folders(workspace) == before_folders  # new/deep is gone again
    assert set(report.restored) == {"README.md", "crlf.txt", "src/main.py", "new/deep/file.txt",
                                    "src/extra.py", "notes.txt", "run.sh", "link"}  # fmt: skip
    assert report.conflicts == () and report.skipped == ()


def test_files_the_user_changed_since_are_reported_not_overwritten(workspace: Path) -> None:
    point = Checkpoint.take(workspace, "run-2")
    act_as_a_run(workspace)
    point.seal()
    (workspace / "README.md").write_text("the user's own edit\n")
    (workspace / "new" / "deep" / "file.txt").unlink()
    (workspace / "src" / "main.py").write_text("the user wrote this\n")
    report = revert(workspace, "run-2")
    assert set(report.conflicts) == {"README.md", "src/main.py"}
    assert (workspace / "README.md").read_text() == "the user's own edit\n"
    assert (workspace / "src" / "main.py").read_text() == "the user wrote this\n"
    assert "new/deep/file.txt" not in report.restored  # already as before: nothing to do
    assert (workspace / "crlf.txt").read_bytes() == b"one\r\ntwo\r\n"
    assert "crlf.txt" in report.restored


@pytest.mark.parametrize("workspace", ["git"], indirect=True)  # a user's repository
def test_the_users_git_is_never_touched(workspace: Path) -> None:
    (workspace / "README.md").write_text("staged\n")
    git(workspace, "add", "README.md")
    git(workspace, "stash", "push", "-q", "-m", "mine")
    index = (workspace / ".git" / "index").read_bytes()
    refs, stash = git(workspace, "for-each-ref"), git(workspace, "stash", "list")
    status = git(workspace, "status", "--porcelain")
    point = Checkpoint.take(workspace, "run-3")
    act_as_a_run(workspace)
    point.seal()
    revert(workspace, "run-3")
    assert (workspace / ".git" / "index").read_bytes() == index
    assert git(workspace, "for-each-ref") == refs and git(workspace, "stash", "list") == stash
    assert git(workspace, "status", "--porcelain") == status
    assert "checkpoints" not in status and ".agent" not in status


def test_a_checkpoint_of_named_paths(workspace: Path) -> None:
    point = Checkpoint.take(workspace, "run-4", ["out/new.txt", "README.md"])
    (workspace / "out").mkdir()
    (workspace / "out" / "new.txt").write_text("written\n")
    (workspace / "README.md").write_text("overwritten\n")
    (workspace / "notes.txt").write_text("outside the scope\n")
    point.seal()
    report = revert(workspace, "run-4")
    assert set(report.restored) == {"out/new.txt", "README.md"}
    assert not (workspace / "out").exists()
    assert (workspace / "README.md").read_text() == "readme\n"
    assert (workspace / "notes.txt").read_text() == "outside the scope\n"


def test_a_link_planted_by_the_run_is_not_written_through(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    point = Checkpoint.take(workspace, "run-5")
    main = (workspace / "src" / "main.py").read_text()
    for name in os.listdir(workspace / "src"):
        (workspace / "src" / name).unlink()
    (workspace / "src").rmdir()
    (workspace / "src").symlink_to(outside)
    point.seal()
    report = revert(workspace, "run-5")
    assert list(outside.iterdir()) == []  # nothing written through the link
    assert "src/main.py" in report.skipped or "src" in report.restored
    if "src" in report.restored:
        assert (workspace / "src" / "main.py").read_text() == main


def test_large_files_are_skipped_not_lost(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint, "MAX_FILE_BYTES", 10)
    (workspace / "big.bin").write_bytes(b"x" * 100)
    point = Checkpoint.take(workspace, "run-6")
    assert "big.bin" in point.skipped
    (workspace / "big.bin").write_bytes(b"y" * 100)
    point.seal()
    report = revert(workspace, "run-6")
    assert "big.bin" in report.skipped
    assert (workspace / "big.bin").read_bytes() == b"y" * 100


def test_a_second_checkpoint_starts_from_the_stored_index(workspace: Path) -> None:
    Checkpoint.take(workspace, "run-7").seal()
    index = workspace / ".agent" / "checkpoints" / "index"
    assert index.is_file()
    (workspace / "README.md").write_text("between runs\n")
    point = Checkpoint.take(workspace, "run-8")
    (workspace / "README.md").write_text("run 8\n")
    point.seal()
    assert revert(workspace, "run-8").restored == ("README.md",)
    assert (workspace / "README.md").read_text() == "between runs\n"
    assert (workspace / ".agent" / "checkpoints" / ".gitignore").read_text() == "*\n"


def test_clear_errors(workspace: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint for run 'nope'"):
        revert(workspace, "nope")
    Checkpoint.take(workspace, "unsealed")
    with pytest.raises(CheckpointError, match="never finished its checkpoint"):
        revert(workspace, "unsealed")
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(CheckpointError, match="cannot name a checkpoint"):
            Checkpoint.take(workspace, bad)
