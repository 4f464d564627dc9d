"""`agentd doctor`: is the server healthy here (version, planner, sandbox, limits, goals file)?"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from server import wire
from server.cli.parser import EXIT_FAILED, EXIT_OK, add_json, add_verbose, add_workspace, command

if TYPE_CHECKING:
    from server.cli.client import Connection, JsonValue
    from server.cli.parser import Subparsers
    from server.cli.session import Interrupts

EXAMPLES = """\
examples:
  agentd doctor                the server's health and the workspace's goals file, in words
  agentd doctor --json         the same as JSON

Exit status: 0 healthy, 1 not (each problem is named).
"""


def add(commands: Subparsers) -> None:
    doctor = command(
        commands,
        "doctor",
        summary="check the server, planner and model endpoint, sandbox and workspace goals",
        description="Start a server as `agentd run` would and report its health.",
        examples=EXAMPLES,
    )
    add_workspace(doctor)
    add_json(doctor, "the report")
    add_verbose(doctor)
    doctor.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.render import Renderer
    from server.cli.reports import health_report
    from server.cli.session import client_main
    from server.cli.workspace import workspace_for

    workspace = workspace_for(args.workspace)

    async def body(conn: Connection, _: Interrupts) -> int:
        health = await conn.request(wire.HEALTH, {"checkModel": True})  # test the endpoint
        # the goals file is the workspace's part of the health
        goals: JsonValue = await conn.request(wire.LIST_GOALS, {"workspace": str(workspace)})
        problems = goals.get("problems") or []
        goals_problem = "; ".join(str(p.get("message")) for p in problems) or None
        healthy, text = health_report(health, str(workspace), goals, goals_problem)
        if args.json:
            report = {
                "healthy": healthy,
                "health": health,
                "goals": goals,
                "problem": goals_problem,
            }
            print(json.dumps(report, indent=2))
        else:
            print(text)
        return EXIT_OK if healthy else EXIT_FAILED

    return client_main(args, workspace, Renderer(verbose=args.verbose), body)
