"""`agentd run`: run a goal (or explicit --step commands) through a fresh server and show it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import wire
from server.cli.parser import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_json,
    add_verbose,
    add_workspace,
    command,
    positive,
)
from server.cli.planner import add_planner_flags, planner_params

if TYPE_CHECKING:
    from server.cli.client import Connection, JsonValue
    from server.cli.parser import Subparsers
    from server.cli.render import Renderer
    from server.cli.session import Interrupts

EXAMPLES = """\
examples:
  agentd run swe.test                the project's tests, from any folder inside it
  agentd run swe.lint --dry-run      plan and gate only: each step's risk and decision
  agentd run check --yes             a goal of .agent/goals.toml, allowing every prompt
  agentd run swe.analyze --json      the RunResult as JSON, nothing else on stdout
  agentd run --step 'make -j4' --step 'ls build'      commands, one after another
  agentd run --step 'pytest -q' --step 'ruff check .' --parallel      ... or at once
  agentd run "add a --verbose flag" --dry-run    free text: planned by a language model
  agentd run --replay RUN_ID         a recorded run's plans again, without any model

Exit status: 0 the run succeeded (with --dry-run: planned, and no step would be denied),
1 it failed (with --dry-run: a step would be denied), 2 bad usage or an error from the server,
130 cancelled (Ctrl-C cancels the run and its processes; a second Ctrl-C kills the server).
Steps the gate asks about are put to you on a terminal: y allows once, a always (saved as a
rule in your policy file: see agentd policy), n or Enter rejects, ? explains. --yes / --no answer
every prompt; without a terminal nobody can be asked and such steps are rejected.
"""


def add(commands: Subparsers) -> None:
    run = command(
        commands,
        "run",
        summary="run a goal (or --step commands) and show it live",
        description="Plan a goal into steps, gate each step by risk, run them (in parallel where "
        "they allow) and keep a trace. GOAL is a goal id (see `agentd goals`) or, with a "
        "language model configured, free text.",
        examples=EXAMPLES,
    )
    run.add_argument("goal", nargs="?", metavar="GOAL", help="goal id or free text")
    run.add_argument(  # one CMD per flag: a greedy list would swallow the GOAL after it
        "--step",
        action="append",
        default=[],
        metavar="CMD",
        help="run this shell command instead of planning; repeat for more (one after another)",
    )
    run.add_argument("--parallel", action="store_true", help="run the --step commands at once")
    run.add_argument(
        "--dry-run", action="store_true", help="plan and gate only; run nothing (exit 1 if denied)"
    )
    answer = run.add_mutually_exclusive_group()
    answer.add_argument("--yes", "-y", action="store_true", help="allow every approval prompt")
    answer.add_argument("--no", "-n", action="store_true", help="reject every approval prompt")
    run.add_argument(
        "--mode",
        choices=("readOnly", "default", "trusted"),
        help="readOnly asks before any change; trusted allows what a revert can undo "
        "(default: default)",
    )
    run.add_argument("--max-parallel", type=positive, metavar="N", help="at most N steps at once")
    run.add_argument("--timeout-ms", type=positive, metavar="N", help="time limit of each step")
    run.add_argument(
        "--approval-timeout-ms",
        type=positive,
        metavar="N",
        help="how long a prompt waits for an answer (setting agent.approvalTimeoutMs)",
    )
    add_planner_flags(run)
    add_workspace(run)
    add_json(run, "the RunResult")
    add_verbose(run)
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from server.cli.prompt import Approver
    from server.cli.session import client_main
    from server.cli.workspace import workspace_for

    workspace = workspace_for(args.workspace)
    params = run_params(args, workspace)  # bad usage shows before a server starts
    renderer = renderer_for(args, workspace)
    answer: Any = "allow" if args.yes else "reject" if args.no else None
    approver = Approver(answer, interactive=sys.stdin.isatty(), renderer=renderer)
    run = GoalRun(args, workspace, params, renderer, approver)
    return client_main(args, workspace, renderer, run.body, approver)


def renderer_for(args: argparse.Namespace, workspace: Path) -> Renderer:
    from server.cli.render import JsonRenderer, PlainRenderer

    if args.json:
        return JsonRenderer(verbose=args.verbose, workspace=workspace)
    if sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        from server.cli.live import RichRenderer

        return RichRenderer(verbose=args.verbose, workspace=workspace)
    return PlainRenderer(verbose=args.verbose, workspace=workspace)


def run_params(args: argparse.Namespace, workspace: Path) -> dict[str, JsonValue]:
    if not args.goal and not args.step and not args.replay:
        raise UsageError("run needs a GOAL or at least one --step CMD (or --replay RUN_ID)")
    if args.goal and args.step:  # the goal would be ignored: the steps are the plan
        raise UsageError(
            f"run takes a GOAL or --step commands, not both (got GOAL {args.goal!r}); "
            "quote a command that has spaces: --step 'echo hi'"
        )
    if args.parallel and not args.step:
        raise UsageError("--parallel applies to --step commands; give at least one --step CMD")
    params: dict[str, JsonValue] = {"workspace": str(workspace), "approval": "prompt"}
    if args.goal:
        params["goal"] = args.goal
    if args.step:
        # Explicit ids so that each step can wait for the one before it, like a script.
        params["steps"] = [
            {"id": f"s{i}", "kind": "runCli", "cmd": cmd}
            | ({} if args.parallel or i == 1 else {"after": [f"s{i - 1}"]})
            for i, cmd in enumerate(args.step, start=1)
        ]
    if args.dry_run:
        params["dryRun"] = True
    if args.mode:
        params["mode"] = args.mode
    if args.max_parallel:
        params["maxParallel"] = args.max_parallel
    if args.timeout_ms:
        params["stepTimeoutMs"] = args.timeout_ms
    params.update(planner_params(args))
    params["workDoneToken"] = f"agentd-cli-{os.getpid()}"
    return params


class GoalRun:
    """One `agentd run` against its server: the request, its cancel, the words for its limits."""

    def __init__(
        self,
        args: argparse.Namespace,
        workspace: Path,
        params: dict[str, JsonValue],
        renderer: Renderer,
        approver: Any,
    ) -> None:
        self.args = args
        self.workspace = workspace
        self.params = params
        self.renderer = renderer
        self.approver = approver
        self.health: dict[str, JsonValue] = {}  # asked only when a prompt or a timeout needs it
        self._asked: Any = None  # the future of that one health request
        self.holding: set[Any] = set()  # tasks that hold a timed-out step's line meanwhile
        self._conn: Connection | None = None
        self._plan_limits: dict[str, int] | None = None
        renderer.describe_limit = self.describe_limit
        approver.clock.learn = self.learn_limits

    async def body(self, conn: Connection, stop: Interrupts) -> int:
        from server.cli.client import RpcError
        from server.cli.words import plural

        self._conn = conn
        conn.on_notification(wire.STEP_UPDATED, self._step_updated)  # in place of the plain one
        replay = f"the replay of {self.args.replay}" if self.args.replay else None
        goal = self.args.goal or replay or plural(len(self.args.step), "step")
        self.renderer.phase(f"planning {goal}")
        request_id, answer = conn.send_request(wire.RUN_GOAL, self.params)

        def cancel() -> None:  # by run id once known: the answer is then a full RunResult
            if self.renderer.run_id:
                conn.request_nowait(wire.CANCEL, {"runId": self.renderer.run_id})
            else:
                conn.cancel(request_id)

        stop.cancel_request = cancel
        try:
            result: dict[str, Any] = await answer
        except RpcError as exc:
            if exc.code == wire.REQUEST_CANCELLED:
                return self._cancelled_before_result()
            if "unknown goal" in exc.message:
                raise RpcError(exc.code, exc.message + await self._did_you_mean(conn)) from None
            raise
        finally:
            stop.cancel_request = None
        if self.holding:  # a held timed-out step's line goes out before the summary
            import asyncio

            await asyncio.gather(*self.holding)
        self.renderer.finish(result)
        self._say_saved_rules()
        return exit_code(result)

    def _say_saved_rules(self) -> None:
        """Which rules "always" answers saved to the user's policy file in this run (its trace
        has them): an answer that outlives the command should not go unsaid."""
        from server.cli.history import records

        if not self.renderer.run_id:
            return
        try:
            found = records(Path(self.renderer.trace_path(self.renderer.run_id)))
        except OSError:
            return
        for record in found:
            if record.get("type") == "approval.resolved":
                for rule in record.get("saved") or []:
                    self.renderer.note(f"Saved {rule} (agentd policy list shows your rules)")

    def _step_updated(self, params: JsonValue) -> None:
        """A timed-out step's line names its limit: hold the output until the limit is known."""
        import asyncio

        step = (params or {}).get("step") or {}
        if step.get("status") == "timedOut" and self.describe_limit(str(step.get("id"))) is None:
            release = self.renderer.hold()
            holding = asyncio.ensure_future(self.learn_limits())
            holding.add_done_callback(lambda _: release())
            self.holding.add(holding)  # a task nobody refers to may be collected mid-way
        self.renderer.step(step)

    def _cancelled_before_result(self) -> int:
        self.renderer.close()
        if self.renderer.run_id:
            trace = self.renderer.trace_path(self.renderer.run_id)
            self.renderer.note(f"Run {self.renderer.run_id} was cancelled.\nTrace: {trace}")
        else:
            self.renderer.note("agentd: the run was cancelled before it started")
        return EXIT_CANCELLED

    async def _did_you_mean(self, conn: Connection) -> str:
        import difflib

        listed = await conn.request(wire.LIST_GOALS, {"workspace": str(self.workspace)})
        ids = [str(g.get("id")) for g in listed.get("goals") or []]
        close = difflib.get_close_matches(str(self.args.goal), ids, n=1, cutoff=0.6)
        return f"; did you mean {close[0]!r}?" if close else ""

    async def learn_limits(self) -> None:
        """The time limits in effect (``agent/health``), asked once and only when needed: the
        request costs the server about a tenth of a second, every run would pay it."""
        import asyncio

        if self._asked is None:
            self._asked = asyncio.ensure_future(self._ask_health())
        await asyncio.shield(self._asked)

    async def _ask_health(self) -> None:
        from server.cli.client import RpcError, ServerExited

        assert self._conn is not None
        try:
            self.health = await self._conn.request(wire.HEALTH, {})
        except (RpcError, ServerExited):
            return
        if isinstance(self.health.get("approvalTimeoutMs"), int):
            self.approver.clock.limit_ms = self.health["approvalTimeoutMs"]

    def describe_limit(self, step_id: str) -> str | None:
        """The limit a timed-out step hit and where it is set: its own (goals file), the run's
        (--timeout-ms), or the server's setting."""
        from server.cli.words import STEP_TIMEOUT_SETTING, time_limit

        own = self._own_limits().get(step_id)
        if own:
            return time_limit(own, "the step's own timeoutMs")
        if self.args.timeout_ms:
            return time_limit(self.args.timeout_ms, "--timeout-ms")
        setting = self.health.get("stepTimeoutMs")
        if isinstance(setting, int):
            return time_limit(setting, f"the setting {STEP_TIMEOUT_SETTING} (or --timeout-ms)")
        return None

    def _own_limits(self) -> dict[str, int]:
        """Steps' own timeoutMs, from the plan in the trace (planReady does not carry them)."""
        if self._plan_limits is None:
            from server.cli.history import records

            self._plan_limits = {}
            path = Path(self.renderer.trace_path(self.renderer.run_id))
            try:
                found = records(path) if self.renderer.run_id else []
            except OSError:
                found = []
            for record in found:
                if record.get("type") == "plan.created":
                    for step in record.get("steps") or []:
                        if step.get("timeoutMs"):
                            self._plan_limits[str(step.get("id"))] = int(step["timeoutMs"])
        return self._plan_limits


def exit_code(result: dict[str, Any]) -> int:
    """0 succeeded, or planned with no step denied; 130 cancelled; 1 otherwise."""
    status = result.get("status")
    if status == "planned":
        denied = any(r.get("decision") == "deny" for r in result.get("results") or [])
        return EXIT_FAILED if denied else EXIT_OK
    if status == "succeeded":
        return EXIT_OK
    return EXIT_CANCELLED if status == "cancelled" else EXIT_FAILED
