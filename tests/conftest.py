"""For the whole suite: agentd's user files (the policy file that "allow always" writes) go to a
temporary folder, never the real user's; servers and CLIs the tests start inherit it."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from engine.userdirs import CONFIG_DIR_VAR

_made: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    folder = tempfile.mkdtemp(prefix="agentd-config-")
    _made.append(folder)
    os.environ[CONFIG_DIR_VAR] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
