"""Structured-output dialects: tried in order (json_schema, json_object + schema, plain text), once
per server, and remembered for the session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.engine import Engine
from engine.errors import PlannerError
from engine.plan.answer import answer_schema
from engine.plan.dialects import DIALECTS, ModelSession, is_refusal
from tests.engine.plan.conftest import model_config, model_run
from tests.engine.plan.fake_openai import FakeOpenAI, Reply
from tests.engine.runs import records

STEPS: list[dict[str, Any]] = [{"kind": "runCli", "cmd": "echo planned"}]


async def test_a_server_that_refuses_json_schema_gets_json_object_with_the_schema(
    tmp_path: Path,
) -> None:
    with FakeOpenAI(refuse={"json_schema"}) as llama:  # as llama-cpp-python answers
        llama.script(Reply.plan(STEPS), Reply.plan(STEPS))
        engine = Engine(model_config(llama))
        first = await model_run(tmp_path, engine)
        second = await model_run(tmp_path, engine)  # the session remembers: one request

    assert first.status == second.status == "succeeded"
    assert [r.dialect for r in llama.requests] == ["json_schema", "json_object", "json_object"]
    assert llama.requests[1].body["response_format"] == {
        "type": "json_object",
        "schema": answer_schema(first_round=True, grammar=True),
    }
    schema = llama.requests[1].body["response_format"]["schema"]
    assert schema["properties"]["steps"]["minItems"] == 1  # the first round plans something
    assert '"minLength": 1' in json.dumps(schema)  # a grammar fills no required string with ""
    answered = records(tmp_path, first, "model.answered")
    assert [(a["dialect"], a["outcome"]) for a in answered] == [
        ("json_schema", "refused"),
        ("json_object", "plan"),
    ]
    assert "response_format.type" in answered[0]["error"]
    assert engine.model_session.dialect(llama.base_url) == "json_object"


async def test_plain_text_is_the_last_resort(tmp_path: Path) -> None:
    with FakeOpenAI(refuse={"json_schema", "json_object"}) as server:
        fenced = "```json\n" + str(Reply.plan(STEPS).content) + "\n```"
        server.script(Reply(content=fenced))
        result = await model_run(tmp_path, Engine(model_config(server)))
    assert result.status == "succeeded"
    last = server.requests[-1]
    assert last.dialect == "text" and "response_format" not in last.body
    system = last.body["messages"][0]["content"]
    assert "follows this JSON Schema" in system and '"additionalProperties":false' in system
    asked = records(tmp_path, result, "model.requested")
    assert [a["dialect"] for a in asked] == list(DIALECTS)
    assert "system" in asked[2]  # the system prompt changed with the dialect: traced again


async def test_dialects_are_remembered_per_server(tmp_path: Path) -> None:
    with FakeOpenAI(refuse={"json_schema"}) as llama, FakeOpenAI() as openai_like:
        llama.script(Reply.plan(STEPS), Reply.plan(STEPS))
        openai_like.script(Reply.plan(STEPS))
        engine = Engine(model_config(llama))
        await model_run(tmp_path, engine)
        engine.configure(model_config(openai_like))
        await model_run(tmp_path, engine)
        engine.configure(model_config(llama))
        await model_run(tmp_path, engine)
    assert [r.dialect for r in openai_like.requests] == ["json_schema"]
    assert [r.dialect for r in llama.requests] == ["json_schema", "json_object", "json_object"]


async def test_a_server_error_about_something_else_is_not_a_refusal(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        server.script(Reply.failure(400, "messages: field required"))
        with pytest.raises(PlannerError, match="HTTP 400: messages: field required"):
            await model_run(tmp_path, Engine(model_config(server)))
        assert [r.dialect for r in server.requests] == ["json_schema"]


@pytest.mark.parametrize(
    ("status", "message", "refusal"),
    [
        (500, "response_format.type: Input should be 'text' or 'json_object'", True),
        (400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported", True),
        (422, "json_schema is not supported by this backend", True),
        (500, "CUDA out of memory", False),
        (429, "response_format rate limit", False),  # a rate limit is not about the format
        (401, "bad key", False),
    ],
)
def test_what_counts_as_a_refusal(status: int, message: str, refusal: bool) -> None:
    assert is_refusal(status, message) is refusal


def test_the_session_starts_with_what_a_server_spoke() -> None:
    session = ModelSession()
    assert session.dialects("http://a/v1") == DIALECTS
    session.refused("http://a/v1", "json_schema")
    assert session.dialects("http://a/v1") == ("json_object", "text")
    session.spoke("http://a/v1", "text")
    assert session.dialects("http://a/v1") == ("text",)
    assert session.dialects("http://b/v1") == DIALECTS
