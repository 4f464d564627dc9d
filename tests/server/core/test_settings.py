"""The `agent` settings section: which object is ours, wire names only, errors that hide values."""

from __future__ import annotations

import pytest

from engine.config import EngineConfig
from server.core.settings import config_from_settings, settings_section


def test_settings_section_shapes() -> None:
    assert settings_section({"agent": {"maxParallel": 2}}) == {"maxParallel": 2}
    assert settings_section({"maxParallel": 2}) == {"maxParallel": 2}
    assert settings_section({"python": {"x": 1}}) is None
    assert settings_section(None) is None
    assert settings_section([1]) is None
    with pytest.raises(ValueError, match="must be an object"):
        settings_section({"agent": []})


def test_settings_errors_use_wire_names_and_hide_values() -> None:
    base = EngineConfig()
    with pytest.raises(ValueError) as caught:
        config_from_settings(base, {"stepTimeoutMs": -5, "apiKey": 12345})
    assert "stepTimeoutMs" in str(caught.value)
    assert "12345" not in str(caught.value)
    merged = config_from_settings(base, {"model": "m", "unknownKey": 1})
    assert merged.model == "m"


def test_python_names_are_not_setting_names() -> None:
    merged = config_from_settings(EngineConfig(), {"max_parallel": 3, "stepTimeoutMs": 5000})
    assert (merged.max_parallel, merged.step_timeout_ms) == (8, 5000)
