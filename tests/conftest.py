"""Every test runs with a configuration of its own: no user config file, no language model from
the developer's environment (a test that wants one sets it). Done before collection, so that
modules which copy ``os.environ`` when imported copy the clean one."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_saved: dict[str, str] = {}
_config_dir = ""


def pytest_configure(config: pytest.Config) -> None:
    global _config_dir
    from engine.layers import ENV_KEYS

    _saved.update(os.environ)
    for name in ENV_KEYS:
        os.environ.pop(name, None)
    _config_dir = tempfile.mkdtemp(prefix="agentd-config-")
    os.environ["AGENTD_CONFIG_DIR"] = _config_dir


def pytest_unconfigure(config: pytest.Config) -> None:
    os.environ.clear()
    os.environ.update(_saved)
    shutil.rmtree(_config_dir, ignore_errors=True)
