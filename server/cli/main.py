"""The `agentd` command line: `serve` the language server, or be a stdio client of one.

`run`, `goals` and `doctor` start `agentd serve` as a child and speak the same JSON-RPC an editor
speaks, so the CLI exercises the real protocol. Heavy modules (rich, pydantic, the engine, pygls)
are imported inside the commands that need them: `agentd serve` start-up is benchmarked.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.cli.config import add_config_command, add_planner_flags, planner_params, show_config

if TYPE_CHECKING:  # imported where used: `agentd serve` must not pay for the client side
    from server.cli.client import Connection, JsonValue, ServerProcess
    from server.cli.prompt import Answer, Approver
    from server.cli.render import Renderer

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments found after parsing (exit 2, message on stderr)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentd", description="Plan, gate, execute, verify and trace agent goals."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    transport = serve.add_mutually_exclusive_group()
    transport.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP (one session per connection)"
    )
    transport.add_argument("--ws", metavar="HOST:PORT", help="serve WebSocket connections")
    serve.add_argument("--log-file", metavar="FILE", help="write the server log here")
    serve.add_argument("--log-level", default="WARNING", metavar="LEVEL", help="default WARNING")
    serve.add_argument(
        "--stall-timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="close a connection whose client reads nothing for this long (default 60)",
    )

    def client_command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--workspace", "-w", metavar="DIR", help="workspace root (default: .)")
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
        sub.add_argument("--verbose", "-v", action="store_true", help="server logs and output")
        return sub

    run = client_command("run", "run a goal (or explicit --step commands) and show it live")
    run.add_argument("goal", nargs="?", metavar="GOAL", help="goal id or free text")
    run.add_argument(  # one CMD per flag: a greedy list would swallow the GOAL after it
        "--step",
        action="append",
        default=[],
        metavar="CMD",
        help="run this shell command instead of planning; repeat for more, run one after another",
    )
    run.add_argument("--parallel", action="store_true", help="run the --step commands in parallel")
    run.add_argument("--dry-run", action="store_true", help="plan and gate only; run nothing")
    answer = run.add_mutually_exclusive_group()
    answer.add_argument("--yes", "-y", action="store_true", help="allow every approval prompt")
    answer.add_argument("--no", "-n", action="store_true", help="reject every approval prompt")
    run.add_argument("--max-parallel", type=_positive, metavar="N", help="concurrent steps cap")
    run.add_argument("--timeout-ms", type=_positive, metavar="N", help="per-step timeout")
    add_planner_flags(run)

    client_command("goals", "list the goals of the workspace")
    trace = client_command("trace", "show a run's trace and verify its hash chain")
    trace.add_argument("run_id", metavar="RUN_ID", help="run id (or a path to a .jsonl trace)")
    client_command("doctor", "check the server, planner, sandbox and workspace goals")
    add_config_command(commands)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 365 * 24 * 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agentd` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "serve":
            from server.cli.serve import serve

            return serve(
                tcp=args.tcp,
                ws=args.ws,
                log_file=args.log_file,
                log_level=args.log_level,
                stall_timeout_s=args.stall_timeout,
            )
        if args.command == "config":
            return show_config(as_json=args.json)
        for stream in (sys.stdout, sys.stderr):  # a command line in any script, on any locale
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
        workspace = Path(os.path.abspath(args.workspace or "."))  # keep a symlink as typed
        if not workspace.is_dir():
            raise UsageError(f"workspace {str(workspace)!r} is not a directory")
        if args.command == "trace":
            return _trace(workspace, args.run_id, as_json=args.json)
        return asyncio.run(_client(args, workspace))
    except UsageError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_CANCELLED


async def _client(args: argparse.Namespace, workspace: Path) -> int:
    """Start the server, wire its messages to a renderer, run one command, shut it down."""
    from server.cli.client import RpcError, ServerExited, ServerProcess, server_command
    from server.cli.prompt import Approver
    from server.cli.render import Renderer

    approver: Approver | None = None
    if args.command == "run":
        params = _run_params(args, workspace)  # bad usage shows before a server starts
        renderer = _renderer_for(args)
        answer: Answer = "allow" if args.yes else "reject" if args.no else None
        approver = Approver(answer, interactive=sys.stdin.isatty(), renderer=renderer)
    else:
        renderer = Renderer(verbose=args.verbose)

    server = ServerProcess(server_command(), show_stderr=args.verbose)
    try:
        conn = await server.start()
    except OSError as exc:  # the server command itself could not be started
        renderer.close()
        print(f"agentd: cannot start the server {server.argv}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    interrupts = Interrupts(server, renderer)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupts.signal)
    try:
        _wire(conn, renderer, approver)
        await conn.request("initialize", _initialize_params(workspace))
        conn.notify("initialized", {})
        if args.command == "run":
            return await _run_goal(conn, params, renderer, interrupts)
        return await _COMMANDS[args.command](conn, workspace, args.json)
    except asyncio.CancelledError:  # Ctrl-C before or outside a cancellable request
        return EXIT_CANCELLED
    except RpcError as exc:
        renderer.close()
        print(f"agentd: error {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ServerExited as exc:
        renderer.close()
        if interrupts.count > 1:
            return EXIT_CANCELLED
        code = await server.close()
        tail = server.stderr_tail()
        print(f"agentd: the server exited unexpectedly (exit code {code}): {exc}", file=sys.stderr)
        if tail:
            print(tail, file=sys.stderr)
        return EXIT_USAGE
    finally:
        renderer.close()
        loop.remove_signal_handler(signal.SIGINT)
        await server.close()


class Interrupts:
    """Ctrl-C: the first cancels the pending request politely, the second kills the server."""

    def __init__(self, server: ServerProcess, renderer: Renderer) -> None:
        self.server = server
        self.renderer = renderer
        self.count = 0
        self.cancel_request: Callable[[], None] | None = None
        self.main = asyncio.current_task()

    def signal(self) -> None:
        self.count += 1
        if self.count == 1 and self.cancel_request is not None:
            self.renderer.note("agentd: cancelling the run (Ctrl-C again to kill the server)")
            self.cancel_request()
            return
        if self.count > 1:
            self.renderer.note("agentd: killing the server")
        self.server.kill()
        if self.main is not None:
            self.main.cancel()


def _renderer_for(args: argparse.Namespace) -> Renderer:
    from server.cli.render import JsonRenderer, PlainRenderer, RichRenderer

    if args.json:
        return JsonRenderer(verbose=args.verbose)
    if sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        return RichRenderer(verbose=args.verbose)
    return PlainRenderer(verbose=args.verbose)


def _run_params(args: argparse.Namespace, workspace: Path) -> dict[str, JsonValue]:
    if not args.goal and not args.step and not args.replay:
        raise UsageError("run needs a GOAL or at least one --step CMD (or --replay RUN_ID)")
    if args.goal and args.step:  # the goal would be ignored: the steps are the plan
        raise UsageError(
            f"run takes a GOAL or --step commands, not both (got GOAL {args.goal!r}); "
            "quote a command that has spaces: --step 'echo hi'"
        )
    if args.step and (args.replay or args.planner):
        raise UsageError("--step commands are their own plan: --planner and --replay do not apply")
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
    if args.max_parallel:
        params["maxParallel"] = args.max_parallel
    if args.timeout_ms:
        params["stepTimeoutMs"] = args.timeout_ms
    params.update(planner_params(args))
    params["workDoneToken"] = f"agentd-cli-{os.getpid()}"
    return params


def _initialize_params(workspace: Path) -> dict[str, JsonValue]:
    from engine import __version__  # engine/__init__.py is tiny; the engine proper stays unloaded
    from server.cli.client import workspace_folder

    folder = workspace_folder(workspace)
    return {
        "processId": os.getpid(),
        "clientInfo": {"name": "agentd-cli", "version": __version__},
        "rootUri": folder["uri"],
        "rootPath": str(workspace),
        "workspaceFolders": [folder],
        "capabilities": {
            "window": {"workDoneProgress": True, "showMessage": {}},
            "workspace": {"workspaceFolders": True, "configuration": True},
            "experimental": {"agent": {"requestPermission": True}},
        },
    }


def _wire(conn: Connection, renderer: Renderer, approver: Approver | None) -> None:
    """What the CLI does with each server-to-client message (the same set an editor handles)."""

    async def null(_: JsonValue) -> JsonValue:
        return None

    async def configuration(params: JsonValue) -> JsonValue:
        return [None for _ in (params or {}).get("items") or []]  # defaults for every section

    def log(params: JsonValue) -> None:
        renderer.log(f"server: {(params or {}).get('message', '')}")

    def show(params: JsonValue) -> None:  # meant for the user's eyes, unlike the log
        renderer.note(f"agentd server: {(params or {}).get('message', '')}")

    conn.on_request("window/workDoneProgress/create", null)
    conn.on_request("workspace/configuration", configuration)
    conn.on_request("client/registerCapability", null)
    conn.on_notification("window/logMessage", log)
    conn.on_notification("window/showMessage", show)
    conn.on_notification("$/progress", lambda p: renderer.progress((p or {}).get("value") or {}))
    conn.on_notification("agent/stepUpdated", lambda p: renderer.step((p or {}).get("step") or {}))
    conn.on_notification("agent/outputDelta", lambda p: renderer.output(p or {}))
    if approver is not None:
        conn.on_request("agent/requestPermission", approver.request_permission)
        conn.on_request("window/showMessageRequest", approver.show_message_request)


async def _run_goal(
    conn: Connection, params: dict[str, JsonValue], renderer: Renderer, stop: Interrupts
) -> int:
    from server.cli.client import REQUEST_CANCELLED, RpcError

    request_id, answer = conn.send_request("agent/runGoal", params)
    stop.cancel_request = lambda: conn.cancel(request_id)
    try:
        result: dict[str, Any] = await answer
    except RpcError as exc:
        if exc.code == REQUEST_CANCELLED:
            renderer.close()
            renderer.note("agentd: run cancelled")
            return EXIT_CANCELLED
        raise
    finally:
        stop.cancel_request = None
    renderer.finish(result)
    status = result.get("status")
    if status in ("succeeded", "planned"):
        return EXIT_OK
    return EXIT_CANCELLED if status == "cancelled" else EXIT_FAILED


async def _goals(conn: Connection, workspace: Path, as_json: bool) -> int:
    """The goals, and the problem of a broken goals file beside them (exit 1 then)."""
    result = await conn.request("agent/listGoals", {"workspace": str(workspace)})
    problems = result.get("problems") or []
    if as_json:
        print(json.dumps(result, indent=2))
        return EXIT_FAILED if problems else EXIT_OK
    rows = [("ID", "TITLE", "SOURCE")] + [
        (
            str(g.get("id")),
            str(g.get("title")),
            str(g.get("source")) + (" (needs model)" if g.get("needsModel") else ""),
        )
        for g in result.get("goals") or []
    ]
    print(_table(rows))
    for problem in problems:
        print(f"agentd: {problem.get('message')}", file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


async def _doctor(conn: Connection, workspace: Path, as_json: bool) -> int:
    from server.cli.reports import health_report

    health = await conn.request("agent/health", {})
    # the goals file is the workspace's part of the health
    goals: JsonValue = await conn.request("agent/listGoals", {"workspace": str(workspace)})
    problems = goals.get("problems") or []
    goals_problem = "; ".join(str(p.get("message")) for p in problems) or None
    healthy, text = health_report(health, str(workspace), goals, goals_problem)
    if as_json:
        report = {"healthy": healthy, "health": health, "goals": goals, "problem": goals_problem}
        print(json.dumps(report, indent=2))
    else:
        print(text)
    return EXIT_OK if healthy else EXIT_FAILED


def _trace(workspace: Path, run_id: str, *, as_json: bool) -> int:
    """Read the trace file directly (no server needed) and verify its hash chain. Exit 0 for a
    complete, verified trace; 1 broken, cut short or incomplete (no run.finished); 2 missing."""
    from engine.errors import TraceError
    from engine.trace import read_trace, trace_path  # stdlib-only modules: cheap to import
    from server.cli.render import marks_for
    from server.cli.reports import trace_text

    try:
        given = Path(run_id)
        path = given if given.suffix == ".jsonl" else trace_path(workspace, run_id)
        if not path.is_file():
            raise TraceError(f"no trace for {run_id!r} at {path}")
        report = read_trace(path)
    except TraceError as exc:
        print(f"agentd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        summary = {
            "path": str(path),
            "verified": report.verified,
            "truncated": report.truncated,
            "complete": report.complete,
            "problems": report.problems,
            "events": report.records,
        }
        print(json.dumps(summary, indent=2))
    else:
        text = trace_text(
            str(path),
            report.records,
            report.problems,
            truncated=report.truncated,
            complete=report.complete,
            marks=marks_for(sys.stdout),
        )
        print(text)
    return EXIT_OK if report.complete else EXIT_FAILED


_COMMANDS: dict[str, Callable[[Connection, Path, bool], Awaitable[int]]] = {
    "goals": _goals,
    "doctor": _doctor,
}


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


if __name__ == "__main__":
    sys.exit(main())
