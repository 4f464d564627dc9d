"""Fixtures of the VS Code tests: the extension built once per session."""

from __future__ import annotations

import pytest

from tests.editors.vscode.harness import build_extension, require_node


@pytest.fixture(scope="session")
def built_extension() -> None:
    """`npm ci` (when needed) and `npm run build` in editors/vscode, once per test session."""
    require_node()
    build_extension()
