"""`agentd runs`: the workspace's recent runs, newest first, read from their traces."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from server.cli.parser import EXIT_OK, add_json, add_workspace, command, positive

if TYPE_CHECKING:
    from server.cli.parser import Subparsers

EXAMPLES = """\
examples:
  agentd runs                  the last 20 runs: id, goal, status, steps, when, duration
  agentd runs --all --json     every run, as JSON (traces as absolute paths)
  agentd trace last            one run in detail (also: agentd trace -2, agentd trace RUN_ID)
"""


def add(commands: Subparsers) -> None:
    runs = command(
        commands,
        "runs",
        summary="list the recent runs of the workspace",
        description="List the runs whose traces are in the workspace's .agent/runs/.",
        examples=EXAMPLES,
    )
    many = runs.add_mutually_exclusive_group()
    many.add_argument(
        "--limit", "-n", type=positive, default=20, metavar="N", help="the N newest (default 20)"
    )
    many.add_argument("--all", action="store_true", help="every run")
    runs.add_argument("--ids", action="store_true", help="print only the run ids, one a line")
    add_workspace(runs)
    add_json(runs, "the runs")
    runs.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.history import ago, list_runs
    from server.cli.words import duration, table
    from server.cli.workspace import RUNS_DIR, workspace_for

    workspace = workspace_for(args.workspace)
    runs = list_runs(workspace, None if args.all else args.limit)
    if args.json:
        print(json.dumps([run.wire() for run in runs], indent=2))
    elif args.ids:
        print("\n".join(run.run_id for run in runs))
    elif not runs:
        print(f"No runs yet in {workspace} (their traces go to {workspace / RUNS_DIR}).")
    else:
        rows = [("RUN", "GOAL", "STATUS", "STEPS", "STARTED", "TOOK")]
        for run in runs:
            status = "did not finish" if run.status is None else run.status
            rows.append(
                (
                    run.run_id,
                    run.goal,
                    "dry run" if status == "planned" else status,
                    f"{run.succeeded} of {run.steps} succeeded",
                    ago(run.started),
                    "" if run.duration_ms is None else duration(run.duration_ms),
                )
            )
        print(table(rows))
    return EXIT_OK
