"""Every test runs with a configuration of its own: no user config file, no model from the
developer's environment (a test that wants one sets it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from engine.layers import ENV_KEYS


@pytest.fixture(autouse=True, scope="session")
def _own_configuration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    for name in ENV_KEYS:
        os.environ.pop(name, None)
    os.environ["AGENTD_CONFIG_DIR"] = str(tmp_path_factory.mktemp("agentd-config"))
    yield
    os.environ.clear()
    os.environ.update(saved)
