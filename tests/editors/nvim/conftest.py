"""Every Neovim test runs on Debian's 0.7.2 and on the 0.12 build of the PyPI wheel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.editors.nvim.editor import INSTALL, NVIMS, Editor, editor
from tests.editors.requirements import require


@pytest.fixture(params=sorted(NVIMS))
def nvim_version(request: pytest.FixtureRequest) -> str:
    version: str = request.param
    path = NVIMS[version]
    require(path is not None and path.exists(), f"Neovim {version} is missing: {INSTALL[version]}")
    return version


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace root (its `.agent/` folder is a root marker)."""
    ws = tmp_path / "ws"
    (ws / ".agent").mkdir(parents=True)
    return ws


@pytest.fixture
def nvim(nvim_version: str, workspace: Path, tmp_path: Path) -> Iterator[Editor]:
    path = NVIMS[nvim_version]
    assert path is not None
    with editor(path, nvim_version, workspace, tmp_path / "home") as session:
        yield session
