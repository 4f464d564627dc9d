"""Workspaces for the gate's tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.gate.places import SCRATCH
from tests.engine.gate.table import WORKSPACE_FILES

ROOT = Path(__file__).resolve().parents[3]


def _folder() -> Path:
    """A fresh folder that is not shared temporary space: pytest's own are under /tmp, which
    the gate treats as scratch space, so their siblings would not count as "outside" the way a
    real project's do. Under the checkout, unless the checkout itself is there."""
    parent = ROOT / ".pytest_cache" / "gate-workspaces"
    if str(ROOT).startswith(SCRATCH):  # a checkout under /tmp (a CI clone): neither there nor
        parent = Path("/var/cache/agentd-tests/gate-workspaces")  # home (~ holds it then)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="ws-", dir=parent))


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """A workspace holding ``WORKSPACE_FILES`` (shared by a module's tests: read only)."""
    root = _folder()
    for name in WORKSPACE_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def home_tmp() -> Iterator[Path]:
    """Like ``tmp_path``, but outside shared temporary space."""
    root = _folder()
    yield root
    shutil.rmtree(root, ignore_errors=True)
