"""The lower layers of the configuration: the user's config file, then the environment.

``load_layers()`` is what a server starts from (the editor's settings and a request's params go on
top, in server.core.settings and Engine.start). It never fails: a key that is wrong in the file or
the environment is left out and named in ``problems`` (shown by ``agentd config`` and
``agentd doctor``), and every other key still applies. ``sources`` says where each value came
from; the API key itself is never part of it.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.config import FIELD_BY_WIRE_NAME, WIRE_NAME_BY_FIELD, EngineConfig
from engine.errors import describe_validation_error

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "CONFIG_FILE",
    "ENV_KEYS",
    "Layers",
    "config_file",
    "load_layers",
]

CONFIG_FILE = "config.toml"
API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
MAX_FILE_BYTES = 256 * 1024


def _env_name(wire: str) -> str:
    snake = "".join(f"_{c}" if c.isupper() else c for c in wire).upper()
    return f"AGENTD_{snake}"


# Environment variable -> setting key. The OPENAI_* names are the SDK's own; AGENTD_BASE_URL
# comes after OPENAI_BASE_URL, so it wins when both are set. The key has only OPENAI_API_KEY.
ENV_KEYS: dict[str, str] = {
    API_KEY_ENV: "apiKey",
    BASE_URL_ENV: "baseUrl",
    **{_env_name(wire): wire for wire in FIELD_BY_WIRE_NAME if wire != "apiKey"},
}


def config_file() -> Path:
    """``<config dir>/config.toml`` (``AGENTD_CONFIG_DIR`` moves the folder)."""
    from engine.userdirs import config_dir

    return config_dir() / CONFIG_FILE


@dataclass(slots=True)
class Layers:
    """The configuration from the defaults, the file and the environment, and where each value
    came from (setting key -> ``config file`` / ``environment OPENAI_BASE_URL``; defaults are not
    listed)."""

    config: EngineConfig
    file: Path
    file_found: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def source(self, key: str) -> str:
        """Where the value of setting ``key`` came from, in words."""
        return self.sources.get(key, "default")

    def apply(self, values: Mapping[str, Any], origin: str, *, strings: bool = False) -> None:
        """Put ``values`` (setting key -> value, or -> string with ``strings``) on top, one key at
        a time: a bad value is a problem named after its origin and leaves the key as it was."""
        for key, value in values.items():
            try:
                self.config = _merge_one(self.config, key, value, strings=strings)
            except ValidationError as exc:
                self.problems.append(f"{origin}: {describe_validation_error(exc, camel=True)}")
                continue
            self.sources[key] = origin


def _merge_one(config: EngineConfig, key: str, value: Any, *, strings: bool) -> EngineConfig:
    if strings:  # "5" -> 5, "true" -> True: parsed by the field's own type
        field = FIELD_BY_WIRE_NAME[key]
        if isinstance(getattr(config, field), list):  # a list: "A,B_*" -> ["A", "B_*"]
            value = [item.strip() for item in value.split(",") if item.strip()]
        else:
            value = getattr(EngineConfig.model_validate_strings({key: value}), field)
    return config.merged(**{key: value})


def load_layers(
    env: Mapping[str, str] | None = None,
    file: Path | None = None,
    base: EngineConfig | None = None,
) -> Layers:
    """The defaults (or ``base``), then ``file`` (default ``config_file()``), then ``env``."""
    env = os.environ if env is None else env
    path = file if file is not None else config_file()
    layers = Layers(config=base or EngineConfig(), file=path)
    values = _read_file(path, layers)
    if values:
        layers.apply(values, f"config file {path}")
    from_env: dict[str, str] = {}
    names: dict[str, str] = {}
    for name, key in ENV_KEYS.items():
        value = env.get(name, "").strip()
        if value:
            from_env[key] = value
            names[key] = name
    for key, value in from_env.items():
        layers.apply({key: value}, f"environment {names[key]}", strings=True)
    return layers


def _read_file(path: Path, layers: Layers) -> dict[str, Any]:
    """The file's known keys; what is wrong with it goes to ``layers.problems``."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        layers.problems.append(f"{path}: cannot read it: {exc.strerror or exc}")
        return {}
    layers.file_found = True
    if not stat.S_ISREG(info.st_mode):
        layers.problems.append(f"{path}: not a regular file")
        return {}
    if info.st_size > MAX_FILE_BYTES:
        layers.problems.append(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        layers.problems.append(f"{path}: not valid TOML: {exc}")
        return {}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in FIELD_BY_WIRE_NAME:
            hint = WIRE_NAME_BY_FIELD.get(key)
            said = f" (the key is {hint!r})" if hint else ""
            layers.problems.append(f"{path}: unknown key {key!r}{said}; ignored")
        elif key == "apiKey" and info.st_mode & 0o077:
            layers.problems.append(
                f"{path}: apiKey ignored: other users may read this file "
                f"(chmod 600 {path}, or export {API_KEY_ENV} instead)"
            )
        else:
            values[key] = value
    return values
