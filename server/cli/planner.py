"""The planner options of `agentd run` (`--planner`, `--model`, `--base-url`, `--max-rounds`,
`--replay`): request params that go over the configuration for one run (docs/config.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.cli.parser import UsageError

if TYPE_CHECKING:
    from server.cli.client import JsonValue

PLANNERS = ("auto", "stub", "openai")


def add_planner_flags(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("the planner of this run (over the configuration)")
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
    """The RunGoalParams fields the planner flags set; raises UsageError for a mix that cannot
    work."""
    if args.step and (args.replay or args.planner):
        raise UsageError("--step commands are their own plan: --planner and --replay do not apply")
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
