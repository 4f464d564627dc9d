"""Where agentd keeps the user's own files, outside every workspace: configuration (``config.toml``,
``policy.toml``) and state (such as the trace key). ``AGENTD_CONFIG_DIR`` and ``AGENTD_STATE_DIR``
override the platform's places (``~/.config/agentd`` and ``~/.local/state/agentd`` on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR_VAR = "AGENTD_CONFIG_DIR"
STATE_DIR_VAR = "AGENTD_STATE_DIR"


def config_dir() -> Path:
    """The user's agentd configuration folder (it may not exist yet)."""
    override = os.environ.get(CONFIG_DIR_VAR)
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path("agentd", appauthor=False)


def state_dir() -> Path:
    """The user's agentd state folder (it may not exist yet)."""
    override = os.environ.get(STATE_DIR_VAR)
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path("agentd", appauthor=False)


def policy_file() -> Path:
    """The user's policy file, which may loosen the gate (see docs/gate.md)."""
    return config_dir() / "policy.toml"
