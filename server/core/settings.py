"""The ``agent`` settings -> EngineConfig, from initializationOptions and didChangeConfiguration.

The settings go on top of the configuration the engine started with (the user's config file and
the environment, engine.layers), and a request's own params go on top of them (Engine.run_config).

Which object is ours: ``{"agent": {...}}`` is that section, and an ``agent`` key that is not an
object is invalid; an object without ``agent`` is a bare section only if it holds a known key
(editors that push every section they have must not reset ours), else it is ignored. Settings
replace the previous ones as a whole, because editors send the full section: a key the editor no
longer sends falls back to the file, the environment or the default. Keys are the camelCase wire
names only; unknown keys (``max_parallel`` too) are ignored, with a logged hint when they are a
field's Python name.
Invalid settings are logged and shown as a warning and the previous configuration stays.
``apiKey`` is accepted but never logged or echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config import EngineConfig

log = logging.getLogger(__name__)

SECTION = "agent"


def wire_names() -> dict[str, str]:
    """The settings' camelCase keys -> EngineConfig field names (the engine's own map)."""
    from engine.config import FIELD_BY_WIRE_NAME

    return FIELD_BY_WIRE_NAME


def settings_section(raw: Any) -> dict[str, Any] | None:
    """Our section of a settings object; None when it is not ours. Raises ValueError when its
    ``agent`` key is not an object."""
    if not isinstance(raw, dict):
        return None
    if SECTION in raw:
        inner = raw[SECTION]
        if not isinstance(inner, dict):
            raise ValueError(f"`{SECTION}` must be an object, got {_json_type(inner)}")
        return inner
    if raw.keys() & wire_names().keys():
        return raw
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"  # all that JSON has left


def config_from_settings(base: EngineConfig, section: dict[str, Any]) -> EngineConfig:
    """``base`` with the section's known keys validated on top; raises ValueError naming fields."""
    from pydantic import ValidationError

    from engine.config import EngineConfig
    from engine.errors import describe_validation_error

    names = wire_names()
    known = {key: value for key, value in section.items() if key in names}
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
        self, configure: Callable[[EngineConfig], None], warn: Callable[[str], None]
    ) -> None:
        self._configure = configure
        self._warn = warn  # shown to the user (the editor's message area)
        self._base: EngineConfig | None = None  # what the engine started with: file and env
        self.api_key_from_settings = False  # the key in effect is the editor's `apiKey`

    def apply(self, raw: Any, current: EngineConfig, *, origin: str) -> bool:
        """Validate ``raw`` settings and configure the engine; False when they are not ours
        (logged at debug) or invalid (a warning, and the previous configuration stays)."""
        if self._base is None:
            self._base = current
        try:
            section = settings_section(raw)
            if section is None:
                keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
                log.debug(
                    "ignoring settings from %s without an `%s` section: %s", origin, SECTION, keys
                )
                return False
            config = config_from_settings(self._base, section)
        except ValueError as exc:
            message = (
                f"agentd: invalid `{SECTION}` settings from {origin} ({exc}); "
                "keeping the previous configuration"
            )
            log.warning("%s", message)
            self._warn(message)
            return False
        self._configure(config)
        self.api_key_from_settings = section.get("apiKey") is not None
        log.info("configuration from %s: %s", origin, describe(config))
        return True
