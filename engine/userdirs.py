"""The user's own agentd folders: configuration (``policy.toml``, later ``config.toml``) and state
(later a trace key), where the platform keeps them (``~/.config/agentd`` and
``~/.local/state/agentd`` on Linux, honouring ``XDG_CONFIG_HOME`` and ``XDG_STATE_HOME``).

platformdirs is imported on first use: most runs never look.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["config_dir", "policy_file", "state_dir"]

APP = "agentd"


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path(APP, appauthor=False)


def policy_file() -> Path:
    """The user's policy file, which may loosen the gate (see docs/gate.md)."""
    return config_dir() / "policy.toml"
