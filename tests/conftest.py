"""Every test runs with agentd's user folders (config, policy, trace key) in a temporary place and
without a language model from the developer's environment (a test that wants one sets it): the
suite never reads or writes the real user's. Set when pytest imports this file, before collection,
so that modules which copy ``os.environ`` when imported copy these."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from engine.layers import ENV_KEYS

_USER = tempfile.mkdtemp(prefix="agentd-tests-user-")
# set, not defaulted: a developer's own AGENTD_CONFIG_DIR must never receive the suite's rules
os.environ["AGENTD_CONFIG_DIR"] = os.path.join(_USER, "config")
os.environ["AGENTD_STATE_DIR"] = os.path.join(_USER, "state")
for _name in ENV_KEYS:  # OPENAI_API_KEY, OPENAI_BASE_URL, AGENTD_MODEL ...
    os.environ.pop(_name, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_USER, ignore_errors=True)
