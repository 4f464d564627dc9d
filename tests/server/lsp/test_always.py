""" "Allow always" outlives the server: a second `agentd serve` process reads the rule the first
one saved, and `agentd policy remove` takes it back. Each server is a real child process with
its own AGENTD_CONFIG_DIR, driven over stdio by the CLI's JSON-RPC client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.gate.policy_edit import list_rules, remove_rule
from engine.userdirs import CONFIG_DIR_VAR
from server import wire
from server.cli.client import Connection, JsonValue, ServerProcess
from server.cli.session import initialize_params

# two commands that ask (rm, and a tool the gate does not know); harmless, needs nothing installed
ASKING = "rm -f ./nothing-here && frobnicate-nothing 2>/dev/null || true"


@asynccontextmanager
async def server(
    workspace: Path, answer: Callable[[JsonValue], JsonValue]
) -> AsyncIterator[tuple[Connection, list[JsonValue]]]:
    """A fresh server process whose client answers every permission request with ``answer``;
    yields the connection and the requests it was asked."""
    process = ServerProcess([sys.executable, "-m", "server"])
    conn = await process.start()
    asked: list[JsonValue] = []

    async def permission(params: JsonValue) -> JsonValue:
        asked.append(params)
        return answer(params)

    async def nothing(_: JsonValue) -> JsonValue:
        return None

    conn.on_request(wire.REQUEST_PERMISSION, permission)
    conn.on_request("window/workDoneProgress/create", nothing)
    try:
        # no sandbox: under one, the unknown tool would run contained without asking
        await conn.request("initialize", initialize_params(workspace, {"sandbox": "off"}))
        conn.notify("initialized", {})
        yield conn, asked
    finally:
        await process.close()


def choose(option: str) -> Callable[[JsonValue], JsonValue]:
    return lambda _: {"outcome": "selected", "optionId": option}


async def run_asking(conn: Connection, workspace: Path) -> dict[str, Any]:
    params = {"workspace": str(workspace), "steps": [{"kind": "runCli", "cmd": ASKING}]}
    result: dict[str, Any] = await conn.request(wire.RUN_GOAL, params)
    return result


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_VAR, str(folder))  # the servers started here inherit it
    return folder


async def test_allow_always_survives_a_restart(tmp_path: Path, config: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    async with server(workspace, choose("allow_always")) as (conn, asked):
        first = await run_asking(conn, workspace)
        assert first["results"][0]["status"] == "succeeded" and len(asked) == 1
    rules = list_rules(config / "policy.toml")
    root = str(workspace.resolve())
    assert [r.describe() for r in rules] == [
        f"allow rm in {root}",
        f"allow frobnicate-nothing in {root}",
    ]
    assert all(r.note and "allow always" in r.note for r in rules)

    def refuse(_: JsonValue) -> JsonValue:
        raise AssertionError("the second server should not ask")

    async with server(workspace, refuse) as (conn, asked):
        second = await run_asking(conn, workspace)
        step = second["results"][0]
        assert (step["decision"], step["approvedBy"], step["status"]) == (
            "allow",
            "policy",
            "succeeded",
        )
        assert [n.split(" (")[0] for n in step["reliedOn"]] == [
            f"policy rule 1 of {config / 'policy.toml'}",
            f"policy rule 2 of {config / 'policy.toml'}",
        ]
        health = await conn.request(wire.HEALTH, {})
        assert health["policyRules"] == 2 and health["policyErrors"] == []
    remove_rule(2, config / "policy.toml")  # what `agentd policy remove 2` does
    async with server(workspace, choose("reject_once")) as (conn, asked):
        third = await run_asking(conn, workspace)
        assert third["results"][0]["status"] == "rejected" and len(asked) == 1


async def test_reject_always_survives_a_restart_as_a_deny_rule(
    tmp_path: Path, config: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    async with server(workspace, choose("reject_always")) as (conn, _):
        assert (await run_asking(conn, workspace))["results"][0]["status"] == "rejected"
    async with server(workspace, choose("allow_once")) as (conn, asked):
        step = (await run_asking(conn, workspace))["results"][0]
        assert (step["decision"], step["status"], asked) == ("deny", "denied", [])
        assert any("denies" in reason for reason in step["risk"]["reasons"])
