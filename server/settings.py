"""The ``agent`` settings -> EngineConfig, from initializationOptions and didChangeConfiguration.

Settings replace the previous ones as a whole (a key the editor no longer sends falls back to its
default), because editors send the full section. Keys are the camelCase wire names only; unknown
keys (``max_parallel`` too) are ignored, with a logged hint when they are a field's Python name.
Invalid settings are logged and shown as a warning and the previous configuration stays.
``apiKey`` is accepted but never logged or echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol.types import MessageType, ShowMessageParams

if TYPE_CHECKING:
    from engine.config import EngineConfig

log = logging.getLogger(__name__)

SECTION = "agent"


def settings_section(raw: Any) -> dict[str, Any] | None:
    """``{"agent": {...}}`` or a bare settings object -> the section; None when there is none."""
    if not isinstance(raw, dict):
        return None
    inner = raw.get(SECTION)
    if isinstance(inner, dict):
        return inner
    return raw


def config_from_settings(base: EngineConfig, section: dict[str, Any]) -> EngineConfig:
    """``base`` with the section's known keys validated on top; raises ValueError naming fields."""
    from pydantic import ValidationError

    from engine.config import EngineConfig
    from engine.errors import describe_validation_error

    wire_names = {info.alias or name: name for name, info in EngineConfig.model_fields.items()}
    known = {key: value for key, value in section.items() if key in wire_names}
    for key in section.keys() - known.keys():
        if (field := EngineConfig.model_fields.get(key)) is not None:
            log.warning("ignoring setting %r: settings use camelCase names (%r)", key, field.alias)
    try:
        return base.merged(**known)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc, camel=True)) from None


def describe(config: EngineConfig) -> str:
    """A one-line summary for the log; ``api_key`` is excluded from dumps by the model itself."""
    shown = config.model_dump(mode="json", by_alias=True)
    shown["apiKey"] = "(set)" if config.api_key is not None else "(not set)"
    return ", ".join(f"{key}={value}" for key, value in shown.items())


class Settings:
    """Holds the session's base configuration and applies settings to the engine."""

    def __init__(
        self,
        configure: Callable[[EngineConfig], None],
        show_message: Callable[[ShowMessageParams], None],
    ) -> None:
        self._configure = configure
        self._show_message = show_message
        self._base: EngineConfig | None = None  # what the engine started with: the defaults

    def apply(self, raw: Any, current: EngineConfig, *, origin: str) -> bool:
        """Validate ``raw`` settings and configure the engine; False (and a warning) if invalid."""
        section = settings_section(raw)
        if section is None:
            return False
        if self._base is None:
            self._base = current
        try:
            config = config_from_settings(self._base, section)
        except ValueError as exc:
            message = (
                f"agentd: invalid `{SECTION}` settings from {origin} ({exc}); "
                "keeping the previous configuration"
            )
            log.warning("%s", message)
            self._show_message(ShowMessageParams(type=MessageType.Warning, message=message))
            return False
        self._configure(config)
        log.info("configuration from %s: %s", origin, describe(config))
        return True
