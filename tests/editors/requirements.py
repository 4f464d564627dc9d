"""Skip a test whose tool is missing, except in CI (AGENTD_CI=1), where nothing may be skipped."""

import os

import pytest


def require(available: bool, reason: str) -> None:
    if available:
        return
    if os.environ.get("AGENTD_CI") == "1":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
