"""Limits in words when the server's settings decide them: `agentd run` asks `agent/health` only
when a prompt or a timed-out step needs it, and holds that step's line until it knows."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path
from typing import Any

from server.cli.client import Connection
from server.cli.commands.run import GoalRun
from server.cli.prompt import Approver
from server.cli.render import PlainRenderer

TIMED_OUT = {
    "id": "s1",
    "kind": "runCli",
    "cmd": "sleep 99",
    "risk": {"level": "low", "reasons": []},
    "decision": "allow",
    "status": "timedOut",
    "durationMs": 1300,
}


async def test_a_timeout_of_the_setting_names_it_once_the_server_said_it(
    peers: tuple[Connection, Connection], tmp_path: Path
) -> None:
    client, server = peers
    asked: list[Any] = []
    arrived, answered = asyncio.Event(), asyncio.Event()

    async def health(params: Any) -> Any:
        asked.append(params)
        arrived.set()
        await answered.wait()  # the test decides when the server answers
        return {"stepTimeoutMs": 1200, "approvalTimeoutMs": 45_000}

    server.on_request("agent/health", health)
    out = io.StringIO()
    renderer = PlainRenderer(out=out, workspace=tmp_path)
    approver = Approver(None, interactive=False, renderer=renderer)
    args = argparse.Namespace(goal=None, step=["sleep 99"], timeout_ms=None)
    run = GoalRun(args, tmp_path, {}, renderer, approver)
    run._conn = client
    assert asked == []  # nothing asked before anything needs it
    run._step_updated({"runId": "r", "step": TIMED_OUT})
    await arrived.wait()  # the question reached the server, whose answer waits for `answered`
    assert out.getvalue() == ""  # held until the limit is known
    answered.set()
    await asyncio.gather(*run.holding)
    assert out.getvalue() == (
        "x s1 sleep 99 (timed out at the 1.2 s limit of the setting agent.stepTimeoutMs "
        "(or --timeout-ms), 1.3 s)\n"
    )
    assert approver.clock.limit_ms == 45_000  # the prompts' limit came with it
    await run.learn_limits()
    assert len(asked) == 1  # asked once


async def test_the_flag_needs_no_question(
    peers: tuple[Connection, Connection], tmp_path: Path
) -> None:
    client, _ = peers
    out = io.StringIO()
    renderer = PlainRenderer(out=out, workspace=tmp_path)
    args = argparse.Namespace(goal=None, step=["sleep 99"], timeout_ms=300)
    run = GoalRun(
        args, tmp_path, {}, renderer, Approver(None, interactive=False, renderer=renderer)
    )
    run._conn = client
    run._step_updated({"runId": "r", "step": TIMED_OUT})
    assert "timed out at the 300 ms limit of --timeout-ms, 1.3 s" in out.getvalue()
    assert run._asked is None
