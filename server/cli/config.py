"""The CLI's planner options: `agentd run --planner/--model/--base-url/--max-rounds/--replay`, and
`agentd config`, which shows the configuration in effect and where each value came from.

`agentd config` reads the same layers the server it would start reads (the user's config file and
this environment; engine.layers), so it needs no server. The API key is shown as set or not set,
and where it came from; never the key.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.layers import Layers
    from server.cli.client import JsonValue

__all__ = ["add_config_command", "add_planner_flags", "planner_params", "show_config"]

EXIT_OK, EXIT_PROBLEMS = 0, 1
PLANNERS = ("auto", "stub", "openai")


def add_planner_flags(run: argparse.ArgumentParser) -> None:
    """The planner options of `agentd run` (they go over the configuration for this run)."""
    group = run.add_argument_group("planner (over the configuration; see `agentd config`)")
    group.add_argument("--planner", choices=PLANNERS, help="who plans free text")
    group.add_argument("--model", metavar="NAME", help="the language model")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1",
    )
    group.add_argument("--max-rounds", type=_rounds, metavar="N", help="planning rounds (1-20)")
    group.add_argument(
        "--replay", metavar="RUN_ID", help="run the recorded plan of an earlier run (no model)"
    )


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 20, got {text!r}")
    return value


def planner_params(args: argparse.Namespace) -> dict[str, JsonValue]:
    """The RunGoalParams fields the planner flags set."""
    params: dict[str, JsonValue] = {}
    if args.replay:
        params["planner"] = "replay"
        params["runId"] = args.replay
    elif args.planner:
        params["planner"] = args.planner
    for flag, field in (("model", "model"), ("base_url", "baseUrl"), ("max_rounds", "maxRounds")):
        value = getattr(args, flag)
        if value is not None:
            params[field] = value
    return params


def add_config_command(commands: Any) -> None:
    """`agentd config [--json]` (``commands`` is the parser's subparsers action)."""
    config = commands.add_parser(
        "config", help="show the configuration in effect and where each value comes from"
    )
    config.add_argument("--json", action="store_true", help="print it as JSON")


def show_config(*, as_json: bool) -> int:
    """Print the configuration; exit 1 when the file or the environment has a problem."""
    from engine.layers import load_layers

    layers = load_layers()
    rows = _rows(layers)
    if as_json:
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
    return EXIT_PROBLEMS if layers.problems else EXIT_OK


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
                source = "default; openai since " + (
                    "an API key is set" if config.api_key is not None else "a base URL is set"
                )
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
