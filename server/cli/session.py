"""A CLI command's session with its own `agentd serve` child: start it, `initialize` like an editor
(with the settings the command line gave), answer its requests, run the command, shut it down, and
turn every failure into one line in words and an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from server import wire
from server.cli.parser import EXIT_CANCELLED, EXIT_USAGE

if TYPE_CHECKING:
    from server.cli.client import Connection, JsonValue, ServerProcess
    from server.cli.prompt import Approver
    from server.cli.render import Renderer

Body = Callable[["Connection"], Awaitable[int]]

# Command-line flags that are settings of the `agent` section: the flag's dest -> the setting.
# They travel as initializationOptions, exactly as an editor sends its settings.
SETTING_FLAGS = {"approval_timeout_ms": "approvalTimeoutMs"}

# What a message from the server calls a method, as the command that does the same here.
_COMMAND_FOR_METHOD = {
    wire.LIST_GOALS: "`agentd goals`",
    wire.HEALTH: "`agentd doctor`",
    wire.TRACE: "`agentd trace`",
    wire.RUN_GOAL: "`agentd run`",
    wire.PLAN: "`agentd run --dry-run`",
    wire.REVERT: "`agentd revert`",
}


def settings(args: argparse.Namespace) -> dict[str, JsonValue]:
    """The ``agent`` settings the command line sets (none by default: the server's own)."""
    return {
        name: getattr(args, dest)
        for dest, name in SETTING_FLAGS.items()
        if getattr(args, dest, None) is not None
    }


def human_error(message: str) -> str:
    """A server's error message for a person: no method name in front, commands for methods."""
    message = re.sub(r"^agent/\w+: ", "", message)
    message = re.sub(r"^(goal|workspace|runId): ", "", message)  # the message names it anyway
    for method, command in _COMMAND_FOR_METHOD.items():
        message = message.replace(method, command)
    return message.replace("the server log has the details", "--verbose shows the server's log")


class Interrupts:
    """Ctrl-C: the first cancels the run politely, the second kills the server."""

    def __init__(self, server: ServerProcess, renderer: Renderer) -> None:
        self.server = server
        self.renderer = renderer
        self.count = 0
        self.cancel_request: Callable[[], None] | None = None
        self.approver: Approver | None = None
        self.main = asyncio.current_task()

    def signal(self) -> None:
        self.count += 1
        if self.approver is not None:
            self.approver.cancelling = True
        if self.count == 1 and self.cancel_request is not None:
            self.renderer.note("agentd: cancelling the run (Ctrl-C again to kill the server)")
            self.cancel_request()
            return
        if self.count > 1:
            self.renderer.note("agentd: killing the server")
        self.server.kill()
        if self.main is not None:
            self.main.cancel()


def client_main(
    args: argparse.Namespace,
    workspace: Path,
    renderer: Renderer,
    body: Callable[[Connection, Interrupts], Awaitable[int]],
    approver: Approver | None = None,
) -> int:
    """Run ``body`` against a fresh server; the exit code."""
    for stream in (sys.stdout, sys.stderr):  # a command line in any script, on any locale
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        return asyncio.run(_session(args, workspace, renderer, body, approver))
    except KeyboardInterrupt:
        return EXIT_CANCELLED


async def _session(
    args: argparse.Namespace,
    workspace: Path,
    renderer: Renderer,
    body: Callable[[Connection, Interrupts], Awaitable[int]],
    approver: Approver | None,
) -> int:
    from server.cli.client import RpcError, ServerExited, ServerProcess, server_command

    verbose = bool(getattr(args, "verbose", False))
    server = ServerProcess(server_command(), show_stderr=verbose)
    try:
        conn = await server.start()
    except OSError as exc:  # the server command itself could not be started
        renderer.close()
        print(f"agentd: cannot start the server {server.argv}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    interrupts = Interrupts(server, renderer)
    interrupts.approver = approver
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupts.signal)
    try:
        _wire(conn, renderer, approver, settings(args))
        await conn.request("initialize", initialize_params(workspace, settings(args)))
        conn.notify("initialized", {})
        return await body(conn, interrupts)
    except asyncio.CancelledError:  # Ctrl-C before or outside a cancellable request
        return EXIT_CANCELLED
    except RpcError as exc:
        renderer.close()
        print(f"agentd: {human_error(exc.message)}", file=sys.stderr)
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
        with contextlib.suppress(asyncio.CancelledError):
            await server.close()


def initialize_params(workspace: Path, agent: dict[str, JsonValue]) -> dict[str, JsonValue]:
    from engine import __version__  # engine/__init__.py is tiny; the engine proper stays unloaded
    from server.cli.client import workspace_folder

    folder = workspace_folder(workspace)
    params: dict[str, JsonValue] = {
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
    if agent:
        params["initializationOptions"] = {"agent": agent}
    return params


def _wire(
    conn: Connection, renderer: Renderer, approver: Approver | None, agent: dict[str, JsonValue]
) -> None:
    """What the CLI does with each server-to-client message (the same set an editor handles)."""

    async def null(_: JsonValue) -> JsonValue:
        return None

    async def configuration(params: JsonValue) -> JsonValue:
        # The command line's settings for our section; the server's defaults for any other.
        items = (params or {}).get("items") or []
        return [agent if item.get("section") == "agent" and agent else None for item in items]

    def log(params: JsonValue) -> None:
        renderer.log(f"server: {(params or {}).get('message', '')}")

    def show(params: JsonValue) -> None:  # meant for the user's eyes, unlike the log
        renderer.note(f"agentd: {human_error(str((params or {}).get('message', '')))}")

    conn.on_request("window/workDoneProgress/create", null)
    conn.on_request("workspace/configuration", configuration)
    conn.on_request("client/registerCapability", null)
    conn.on_notification("window/logMessage", log)
    conn.on_notification("window/showMessage", show)
    conn.on_notification("$/progress", lambda p: renderer.progress((p or {}).get("value") or {}))
    conn.on_notification(wire.RUN_STARTED, lambda p: renderer.run_started(p or {}))
    conn.on_notification(wire.PLAN_READY, lambda p: renderer.plan(p or {}))
    conn.on_notification(wire.STEP_UPDATED, lambda p: renderer.step((p or {}).get("step") or {}))
    conn.on_notification(wire.OUTPUT_DELTA, lambda p: renderer.output(p or {}))
    if approver is not None:
        conn.on_request(wire.REQUEST_PERMISSION, approver.request_permission)
        conn.on_request("window/showMessageRequest", approver.show_message_request)
