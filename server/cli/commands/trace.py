"""`agentd trace`: one run in words from its trace, and whether its hash chain holds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from server.cli.parser import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_json, add_workspace, command

if TYPE_CHECKING:
    from server.cli.parser import Subparsers

EXAMPLES = """\
examples:
  agentd trace                     the last run (as do: agentd trace last, agentd trace -1)
  agentd trace -2                  the run before it
  agentd trace RUN_ID --output     a run by id, with whole outputs instead of their tails
  agentd trace PATH.jsonl --records    any trace file, and its records one by one
  agentd trace last --json         the records as JSON, with the verdict on the chain

Exit status: 0 the trace is complete (its hash chain verifies and it ends with run.finished),
1 the chain is broken, its last line cut short or the run never finished, 2 no such trace.
"""


def add(commands: Subparsers) -> None:
    trace = command(
        commands,
        "trace",
        summary="show a run from its trace and verify the trace's hash chain",
        description="Show what each step of a run did, from the run's trace, and check that no "
        "record was changed.",
        examples=EXAMPLES,
    )
    trace.add_argument(
        "run",
        nargs="?",
        default="last",
        metavar="RUN",
        help="last (the default), -N (the Nth newest), a run id, or a path to a .jsonl trace",
    )
    trace.add_argument("--output", action="store_true", help="show whole outputs, not tails")
    trace.add_argument("--records", action="store_true", help="also list every record")
    add_workspace(trace)
    add_json(trace, "the records and the verdict")
    trace.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Read the trace file directly (no server needed) and verify its hash chain."""
    from engine.errors import TraceError
    from engine.trace import read_trace  # a stdlib-and-orjson module: cheap to import
    from server.cli.history import NoSuchRun, resolve
    from server.cli.traceview import trace_view
    from server.cli.words import marks_for
    from server.cli.workspace import workspace_for

    try:
        path = resolve(workspace_for(args.workspace), args.run)
        report = read_trace(path)
    except (NoSuchRun, TraceError) as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        summary = {
            "path": str(path),
            "verified": report.verified,
            "truncated": report.truncated,
            "complete": report.complete,
            "problems": report.problems,
            "keyed": report.keyed,
            "events": report.records,
        }
        print(json.dumps(summary, indent=2))
    else:
        text = trace_view(
            path,
            report.records,
            report.problems,
            truncated=report.truncated,
            complete=report.complete,
            marks=marks_for(sys.stdout),
            full_output=args.output,
            show_records=args.records,
            signature="keyed" if report.keyed else "unkeyed" if report.unkeyed else "unchecked",
        )
        print(text)
    return EXIT_OK if report.complete else EXIT_FAILED
