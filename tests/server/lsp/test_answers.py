"""How the language server answers: params validated by the models (wire names only), engine
errors mapped to their codes, and unexpected failures hidden behind an incident id."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from engine.errors import PlannerError, UnknownGoal
from engine.models import RunGoalParams
from server import wire
from server.lsp.methods import validate
from server.lsp.server import create_server


class Outbox:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.congested = False

    def send(self, body: bytes) -> None:
        self.sent.append(body)

    def send_latest(self, key: object, body: bytes) -> None:
        self.sent.append(body)

    def close(self) -> None:
        pass


def test_python_names_are_not_wire_names() -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, {"goal": "demo.test", "dry_run": True})
    assert caught.value.message == "dry_run: Extra inputs are not permitted"
    assert validate(RunGoalParams, {"goal": "demo.test", "dryRun": True}).dry_run is True


def test_validation_errors_name_nested_fields() -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, {"steps": [{"kind": "writeFile", "path": "a"}]})
    assert caught.value.message == "steps[0].content: Field required"
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, "goal")
    assert caught.value.message.startswith("params:")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"steps": [{"kind": "runCli", "cmd": "echo a\x00b"}]}, "steps[0].cmd: a command cannot"),
        ({"goal": "x", "workspace": "/" + "w" * 5000}, "workspace: String should have at most"),
        ({"goal": "x", "workDoneToken": "t" * 300}, "workDoneToken"),
        ({"goal": "g" * 20_001}, "goal: String should have at most 20000"),
    ],
)
def test_bad_strings_are_invalid_params_that_echo_nothing(params: Any, message: str) -> None:
    with pytest.raises(JsonRpcException) as caught:
        validate(RunGoalParams, params)
    assert caught.value.code == wire.INVALID_PARAMS
    assert caught.value.message.startswith(message)
    assert len(caught.value.message) < 300


async def test_errors_map_to_codes_and_never_show_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = create_server(Outbox())  # type: ignore[arg-type]
    methods = await server.methods()

    async def broken(params: Any) -> Any:
        raise RuntimeError("secret internals: 'list' object has no attribute 'jsonrpc'")

    async def unknown(params: Any) -> Any:
        raise UnknownGoal("x", ["demo.test"])

    async def planner(params: Any) -> Any:
        raise PlannerError("planner openai:m: cannot reach the model server")

    methods.methods.update({"agent/broken": broken, "agent/unknown": unknown, "agent/p": planner})
    with caplog.at_level(logging.ERROR), pytest.raises(JsonRpcException) as caught:
        await server.answer("agent/broken", {})
    assert caught.value.code == wire.INTERNAL_ERROR
    assert "internals" not in caught.value.message and "incident" in caught.value.message
    assert "secret internals" in caplog.text  # the log has the details
    with pytest.raises(JsonRpcException) as caught:
        await server.answer("agent/unknown", {})
    assert caught.value.code == wire.INVALID_PARAMS
    assert caught.value.message.startswith("goal: unknown goal")
    with pytest.raises(JsonRpcException) as caught:
        await server.answer("agent/p", {})
    assert caught.value.code == wire.REQUEST_FAILED
