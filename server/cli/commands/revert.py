"""`agentd revert`: put back what a run changed, from the checkpoint taken before it ran; files
changed again since the run are reported, never overwritten."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from server import wire
from server.cli.parser import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_json,
    add_verbose,
    add_workspace,
    command,
)

if TYPE_CHECKING:
    from server.cli.client import Connection, JsonValue
    from server.cli.parser import Subparsers
    from server.cli.session import Interrupts

EXAMPLES = """\
examples:
  agentd revert last           put back the files the last run changed
  agentd revert RUN_ID         a run by id (agentd runs lists them)
  agentd revert -2 --json      the run before the last; the report as JSON

A run that may change files gets a checkpoint before it runs (in .agent/checkpoints/). Files
the run edited, created or deleted are put back as they were; a file changed again since the
run ended is left as it is and named. Dry runs and runs that only read have nothing to revert.

Exit status: 0 every file the run changed is as it was before, 1 some were left as they are
(changed since, or not stored), 2 no such run, no checkpoint, or another error.
"""


def add(commands: Subparsers) -> None:
    revert = command(
        commands,
        "revert",
        summary="put back the files a run changed",
        description="Undo a run's file changes from the checkpoint taken before it ran, "
        "without overwriting what changed since.",
        examples=EXAMPLES,
    )
    revert.add_argument(
        "run",
        metavar="RUN",
        help="last, -N (the Nth newest run) or a run id",
    )
    add_workspace(revert)
    add_json(revert, "the report")
    add_verbose(revert)
    revert.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.history import NoSuchRun, resolve
    from server.cli.render import Renderer
    from server.cli.session import client_main
    from server.cli.workspace import workspace_for

    workspace = workspace_for(args.workspace)
    run_id = args.run
    if run_id == "last" or (run_id.startswith("-") and run_id[1:].isdigit()):
        try:
            run_id = resolve(workspace, run_id).stem
        except NoSuchRun as exc:
            print(f"agentd: {exc}", file=sys.stderr)
            return EXIT_USAGE

    async def body(conn: Connection, _: Interrupts) -> int:
        report = await conn.request(wire.REVERT, {"runId": run_id, "workspace": str(workspace)})
        print(json.dumps(report, indent=2) if args.json else report_text(report))
        clean = not report.get("conflicts") and not report.get("skipped")
        return EXIT_OK if clean else EXIT_FAILED

    return client_main(args, workspace, Renderer(verbose=args.verbose), body)


def report_text(report: JsonValue) -> str:
    """The answer to ``agent/revert`` in words."""
    from server.cli.words import plural

    run_id = report.get("runId")
    restored, conflicts = report.get("restored") or [], report.get("conflicts") or []
    skipped = report.get("skipped") or []
    if not restored and not conflicts and not skipped:
        return f"Run {run_id}: nothing to put back (every file it changed is as it was before)."
    lines = [f"Reverted run {run_id}: {plural(len(restored), 'file')} put back as before."]
    lines += [f"  restored  {path}" for path in restored]
    lines += [f"  changed since the run, left as it is: {path}" for path in conflicts]
    lines += [f"  not stored or not safe to restore, left as it is: {path}" for path in skipped]
    return "\n".join(lines)
