"""Resolving the workspace root from a path or a file:// URI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import WorkspaceError
from engine.workspace import check_workspace, resolve_workspace


def test_a_path_or_uri_gives_the_absolute_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert resolve_workspace(str(tmp_path)) == tmp_path
    assert resolve_workspace(tmp_path.as_uri()) == tmp_path
    assert str(resolve_workspace(f"{tmp_path}/./sub//..")) == str(tmp_path)  # normalised
    assert resolve_workspace(None, tmp_path) == tmp_path


def test_a_symlinked_workspace_keeps_the_path_the_client_gave(tmp_path: Path) -> None:
    """Diagnostics must name the files the client opened, not their real paths."""
    real = tmp_path / "ws"
    real.mkdir()
    link = tmp_path / "ws-link"
    os.symlink(real, link)
    assert resolve_workspace(str(link)) == link
    assert resolve_workspace(link.as_uri()) == link
    assert resolve_workspace(None, link) == link


def test_a_relative_default_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace(None, Path(".")) == tmp_path


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("relative/path", "must be an absolute path"),
        ("file://elsewhere/tmp", "only local file URIs"),
        ("/no/such/directory", "is not an existing directory"),
    ],
)
def test_bad_workspaces_are_refused(value: str, message: str) -> None:
    with pytest.raises(WorkspaceError, match=message):
        resolve_workspace(value)


def test_no_workspace_at_all_is_refused() -> None:
    with pytest.raises(WorkspaceError, match="no workspace given"):
        resolve_workspace(None)


@pytest.mark.parametrize("where", ["/", "/etc", "/usr/local/src", "/tmp", "/home", "/var/lib/x"])
def test_system_directories_are_never_workspaces(where: str) -> None:
    with pytest.raises(WorkspaceError, match="a system directory"):
        check_workspace(Path(where), [Path("/")])


def test_the_home_folder_itself_is_not_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(WorkspaceError, match="your home folder itself"):
        check_workspace(tmp_path, [tmp_path])
    (tmp_path / "project").mkdir()
    check_workspace(tmp_path / "project", [tmp_path])  # inside home: fine


def test_a_workspace_must_lie_in_the_sessions_folders(tmp_path: Path) -> None:
    opened, other = tmp_path / "opened", tmp_path / "other"
    (opened / "sub").mkdir(parents=True)
    other.mkdir()
    check_workspace(opened, [opened])
    check_workspace(opened / "sub", [opened])
    (tmp_path / "link").symlink_to(other)
    for outside in (other, tmp_path / "link", opened / ".." / "other"):
        with pytest.raises(WorkspaceError, match="not inside the session's workspace folders"):
            check_workspace(outside, [opened])
    with pytest.raises(WorkspaceError, match="the session has no workspace folder"):
        check_workspace(opened, [])
