"""Confined atomic writes: every escape refused, nothing outside the workspace ever changes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from engine.execute.files import WriteRefused, write_file_confined


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry under ``root``: (mode, inode, content or link target)."""
    entries: dict[str, tuple[int, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                body: bytes | str = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                body = path.read_bytes()
            else:
                body = b""
            entries[str(path.relative_to(root))] = (st.st_mode, st.st_ino, body)
    return entries


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A directory next to the workspace, with a file in it, that must never change."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "victim.txt").write_text("original\n")
    before = snapshot(out)
    yield out
    assert snapshot(out) == before


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if ".agentd-" in p.name]


def test_writes_nested_file_creating_directories(ws: Path, outside: Path) -> None:
    written = write_file_confined(ws, "out/deep/er/hello.txt", "h\u00e9llo \U0001f600\n")
    assert written == ws / "out/deep/er/hello.txt"
    assert written.is_absolute()
    assert written.read_text(encoding="utf-8") == "h\u00e9llo \U0001f600\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert no_temp_files(ws)


def test_dot_components_are_normalised(ws: Path, outside: Path) -> None:
    assert write_file_confined(ws, "./a/./b.txt", "x") == ws / "a/b.txt"


def test_overwrite_keeps_mode_and_replaces_atomically(ws: Path, outside: Path) -> None:
    target = ws / "run.sh"
    target.write_text("old\n")
    target.chmod(0o750)
    old_inode = target.stat().st_ino
    write_file_confined(ws, "run.sh", "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert target.stat().st_ino != old_inode  # renamed over, not rewritten in place
    assert no_temp_files(ws)


def test_setuid_bit_is_not_carried_over(ws: Path, outside: Path) -> None:
    target = ws / "tool"
    target.write_text("old")
    target.chmod(0o4755)
    write_file_confined(ws, "tool", "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    "rel_path",
    [
        "",
        "../outside/victim.txt",
        "a/../../outside/victim.txt",
        "..",
        "/etc/passwd",
        "a\x00b",
        "a\\..\\b",
        ".git/config",
        ".GIT/config",
        "sub/.git/hooks/pre-commit",
        ".bashrc",
        "sub/.zshrc",
        ".agent/runs/x",
        ".",
    ],
)
def test_lexically_bad_paths_are_refused(ws: Path, outside: Path, rel_path: str) -> None:
    with pytest.raises(WriteRefused) as info:
        write_file_confined(ws, rel_path, "pwned")
    assert info.value.reason
    assert info.value.rel_path == rel_path
    assert list(ws.iterdir()) == []


@pytest.mark.parametrize("depth", [0, 1, 2])
@pytest.mark.parametrize("kind", ["live_dir", "live_file", "dangling", "dir_in_ws"])
def test_symlink_at_any_depth_is_refused(ws: Path, outside: Path, depth: int, kind: str) -> None:
    parent = ws.joinpath(*["d"] * depth)
    parent.mkdir(parents=True, exist_ok=True)
    (ws / "inner").mkdir()
    link = parent / "link"
    target = {
        "live_dir": outside,
        "live_file": outside / "victim.txt",
        "dangling": outside / "missing" / "x",
        "dir_in_ws": ws / "inner",
    }[kind]
    link.symlink_to(target)
    rel_dir = "/".join(["d"] * depth + ["link"])
    for rel in (rel_dir, f"{rel_dir}/victim.txt", f"{rel_dir}/new/file.txt"):
        with pytest.raises(WriteRefused, match=r"symbolic link|not a directory"):
            write_file_confined(ws, rel, "pwned")
    assert link.is_symlink()
    assert list((ws / "inner").iterdir()) == []
    assert not (outside / "missing").exists()
    assert no_temp_files(ws)


def test_hard_link_is_refused(ws: Path, outside: Path) -> None:
    os.link(outside / "victim.txt", ws / "linked.txt")
    with pytest.raises(WriteRefused, match="hard link"):
        write_file_confined(ws, "linked.txt", "pwned")
    assert (ws / "linked.txt").read_text() == "original\n"


def test_non_regular_targets_are_refused(ws: Path, outside: Path) -> None:
    (ws / "adir").mkdir()
    os.mkfifo(ws / "fifo")
    for rel in ("adir", "fifo"):
        with pytest.raises(WriteRefused, match="not a regular file"):
            write_file_confined(ws, rel, "x")
    (ws / "afile").write_text("keep")
    with pytest.raises(WriteRefused, match="not a directory"):
        write_file_confined(ws, "afile/child.txt", "x")
    assert (ws / "afile").read_text() == "keep"


def test_lone_surrogate_content_is_refused(ws: Path, outside: Path) -> None:
    with pytest.raises(WriteRefused, match="Unicode"):
        write_file_confined(ws, "a.txt", "bad \ud800")
    assert not (ws / "a.txt").exists()


def test_failed_write_leaves_old_content_and_no_temp_file(ws: Path, outside: Path) -> None:
    target = ws / "keep.txt"
    target.write_text("old\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with mock.patch("engine.execute.files.os.fsync", broken_fsync), pytest.raises(OSError):
        write_file_confined(ws, "keep.txt", "new\n")
    assert target.read_text() == "old\n"
    assert no_temp_files(ws)


def test_failed_rename_leaves_no_temp_file(ws: Path, outside: Path) -> None:
    def broken_replace(*args: object, **kwargs: object) -> None:
        raise OSError(5, "I/O error")

    with mock.patch("engine.execute.files.os.replace", broken_replace), pytest.raises(OSError):
        write_file_confined(ws, "sub/new.txt", "new\n")
    assert not (ws / "sub/new.txt").exists()
    assert no_temp_files(ws)


def test_no_file_descriptor_is_leaked(ws: Path, outside: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for i in range(50):
        write_file_confined(ws, f"a/b/f{i}.txt", "x")
        with pytest.raises(WriteRefused):
            write_file_confined(ws, "a/b", "x")
    assert len(os.listdir("/proc/self/fd")) == before


def test_workspace_given_through_a_symlink_is_allowed(tmp_path: Path, outside: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    write_file_confined(alias, "x.txt", "ok")
    assert (real / "x.txt").read_text() == "ok"
