"""`agentd goals`: the goals a run can be given here (built-in, and the workspace's own)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server import wire
from server.cli.parser import EXIT_FAILED, EXIT_OK, add_json, add_verbose, add_workspace, command

if TYPE_CHECKING:
    from server.cli.client import Connection
    from server.cli.parser import Subparsers
    from server.cli.session import Interrupts

EXAMPLES = """\
examples:
  agentd goals                 the goals, with where each comes from
  agentd goals --json          the same as JSON (with the goals file's problem, if any)
  agentd goals --ids           one id a line, read without a server (what completion uses)

Exit status: 0, or 1 when .agent/goals.toml is broken (its problem goes to stderr; the
built-in goals are listed all the same).
"""


def add(commands: Subparsers) -> None:
    goals = command(
        commands,
        "goals",
        summary="list the goals of the workspace",
        description="List the built-in goals and the workspace's own (.agent/goals.toml).",
        examples=EXAMPLES,
    )
    goals.add_argument("--ids", action="store_true", help="print only the ids, one a line")
    add_workspace(goals)
    add_json(goals, "the goals")
    add_verbose(goals)
    goals.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.render import Renderer
    from server.cli.session import client_main
    from server.cli.words import table
    from server.cli.workspace import workspace_for

    workspace = workspace_for(args.workspace)
    if args.ids:
        return _ids(workspace)

    async def body(conn: Connection, _: Interrupts) -> int:
        result = await conn.request(wire.LIST_GOALS, {"workspace": str(workspace)})
        problems = result.get("problems") or []
        if args.json:
            print(json.dumps(result, indent=2))
            return EXIT_FAILED if problems else EXIT_OK
        rows = [("ID", "TITLE", "SOURCE")] + [
            (
                str(g.get("id")),
                str(g.get("title")),
                str(g.get("source")) + (" (needs a language model)" if g.get("needsModel") else ""),
            )
            for g in result.get("goals") or []
        ]
        print(table(rows))
        for problem in problems:
            print(f"agentd: {problem.get('message')}", file=sys.stderr)
        return EXIT_FAILED if problems else EXIT_OK

    return client_main(args, workspace, Renderer(verbose=args.verbose), body)


def _ids(workspace: Path) -> int:
    """Goal ids straight from the engine's goal catalogue: a server costs a second, and shell
    completion runs this on every Tab."""
    from engine.errors import GoalsFileError
    from engine.plan.goals import BUILTIN_GOALS, load_workspace_goals

    ids = list(BUILTIN_GOALS)
    code = EXIT_OK
    try:
        ids += list(load_workspace_goals(workspace))
    except GoalsFileError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        code = EXIT_FAILED
    print("\n".join(ids))
    return code
