"""`agentd config`: the configuration in effect, and where each value came from.

It reads the same layers the server it would start reads (the user's config file and this
environment; engine.layers), so it needs no server. The API key is shown as set or not set, and
where it came from; never the key.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from server.cli.parser import EXIT_FAILED, EXIT_OK, add_json, command

if TYPE_CHECKING:
    from engine.layers import Layers
    from server.cli.parser import Subparsers

EXAMPLES = """\
examples:
  agentd config                every setting, its value, and where it came from
  agentd config --json         the same as JSON

Settings come from the defaults, then ~/.config/agentd/config.toml, then the environment
(OPENAI_API_KEY, OPENAI_BASE_URL, AGENTD_<NAME>), then an editor's settings, then the flags of
one `agentd run` (docs/config.md). Exit status: 0, or 1 when the config file or the environment
holds a value that cannot be used (it is named, and left out).
"""


def add(commands: Subparsers) -> None:
    config = command(
        commands,
        "config",
        summary="show the configuration in effect and where each value comes from",
        description="Show every setting in effect for this folder's runs: its value and where it "
        "came from (a default, the config file, an environment variable). Never the API key.",
        examples=EXAMPLES,
    )
    add_json(config, "the settings")
    config.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from engine.layers import load_layers

    layers = load_layers()
    rows = _rows(layers)
    if args.json:
        report = {
            "file": str(layers.file),
            "fileFound": layers.file_found,
            "planner": layers.config.planner_label,
            "settings": {key: {"value": value, "from": source} for key, value, source in rows},
            "problems": layers.problems,
        }
        print(json.dumps(report, indent=2))
    else:
        print(_text(layers, rows))
    return EXIT_FAILED if layers.problems else EXIT_OK


def _rows(layers: Layers) -> list[tuple[str, Any, str]]:
    """(key, value as shown, where it came from) for every setting, in the documented order."""
    from engine.config import WIRE_NAME_BY_FIELD

    config = layers.config
    values = config.model_dump(mode="json", by_alias=True)
    rows: list[tuple[str, Any, str]] = []
    for field in type(config).model_fields:
        key = WIRE_NAME_BY_FIELD[field]
        source = layers.source(key)
        if key == "apiKey":
            value: Any = "set" if config.api_key is not None else "not set"
        elif key == "planner" and config.planner == "auto":
            value = f"auto ({config.model_planner})"
            if source == "default" and config.model_planner == "openai":
                why = "an API key is set" if config.api_key is not None else "a base URL is set"
                source = f"default; openai since {why}"
        else:
            value = values[key]
        rows.append((key, value, source))
    return rows


def _text(layers: Layers, rows: list[tuple[str, Any, str]]) -> str:
    found = "" if layers.file_found else " (not found)"
    lines = [
        f"config file: {layers.file}{found}",
        f"free text goes to: {_planner_words(layers)}",
        "",
    ]
    shown = [(key, "null" if value is None else str(value), source) for key, value, source in rows]
    widths = [max(len(row[i]) for row in shown) for i in range(2)]
    for key, value, source in shown:
        lines.append(f"  {key.ljust(widths[0])}  {value.ljust(widths[1])}  from {source}")
    lines.extend(f"problem: {p}" for p in layers.problems)
    return "\n".join(lines)


def _planner_words(layers: Layers) -> str:
    config = layers.config
    if config.model_planner == "stub":
        return (
            "no language model (goal ids only); export OPENAI_API_KEY, or OPENAI_BASE_URL for "
            "a local server, to plan free text"
        )
    from engine.plan.client import ModelClient

    endpoint = ModelClient(model=config.model, api_key=None, base_url=config.base_url).endpoint
    return f"{config.planner_label} at {endpoint}"
