"""What each failure of the language model gets: a clear message naming the fix (never the key),
and routing that keeps goal ids offline whatever the model's state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from engine.config import EngineConfig
from engine.engine import Engine
from engine.errors import ModelNotConfigured, PlannerError, UnknownGoal
from engine.plan.base import Planner
from engine.plan.factory import RoutingPlanner, make_planner
from engine.plan.openai import OpenAIPlanner
from engine.plan.stub import StubPlanner
from tests.engine.plan.conftest import GOAL, KEY, MODEL, model_config, model_run
from tests.engine.plan.fake_openai import FakeOpenAI, Reply
from tests.engine.runs import FAST


async def error_of(config: EngineConfig, ws: Path) -> str:
    with pytest.raises(PlannerError) as caught:
        await model_run(ws, Engine(config))
    message = str(caught.value)
    assert KEY not in message and KEY[:20] not in message
    return message


async def test_a_refused_key_is_never_echoed(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.failure(401, f"Incorrect API key provided: {KEY}."))
    message = await error_of(model_config(fake, model_retries=2), tmp_path)
    assert "HTTP 401: Incorrect API key provided: [REDACTED]" in message
    assert "OPENAI_API_KEY" in message and len(fake.requests) == 1  # not retried


async def test_an_unknown_model_names_the_setting(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.failure(404, "The model `nope` does not exist"))
    message = await error_of(model_config(fake), tmp_path)
    assert "HTTP 404" in message and "--model" in message and repr(MODEL) in message


@pytest.mark.parametrize(
    "reply",
    [
        Reply.failure(400, "This model's maximum context length is 8192 tokens", code=None),
        Reply.failure(400, "Requested tokens (9000) exceed context window of 4096"),
        Reply.failure(400, "too long", code="context_length_exceeded"),
    ],
    ids=["openai", "llama.cpp", "code"],
)
async def test_a_context_too_long(fake: FakeOpenAI, tmp_path: Path, reply: Reply) -> None:
    fake.script(reply)
    message = await error_of(model_config(fake), tmp_path)
    assert "does not fit the model's context" in message and "contextBytes" in message


async def test_an_unreachable_server(tmp_path: Path) -> None:
    with FakeOpenAI() as gone:  # a port that was just free
        url = gone.base_url
    message = await error_of(model_config(None, base_url=url, model_retries=2), tmp_path)
    assert f"cannot reach the model server at {url}" in message and "OPENAI_BASE_URL" in message


async def test_base_url_credentials_stay_out_of_messages(tmp_path: Path) -> None:
    with FakeOpenAI() as gone:
        url = gone.base_url.replace("://", "://user:hunter2secret@") + "?api-key=zzsecretzz"
    message = await error_of(model_config(None, base_url=url), tmp_path)
    assert "hunter2secret" not in message and "zzsecretzz" not in message


async def test_no_key_for_openai_itself_says_what_to_set(tmp_path: Path) -> None:
    config = FAST.merged(planner="openai")
    with pytest.raises(ModelNotConfigured) as caught:
        await model_run(tmp_path, Engine(config))
    message = str(caught.value)
    assert "no API key is set" in message and "OPENAI_API_KEY" in message
    assert "OPENAI_BASE_URL" in message and "agentd config" in message


async def test_a_local_server_needs_no_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan([{"kind": "runCli", "cmd": "echo local"}]))
    config = FAST.merged(base_url=fake.base_url)  # planner auto, no key
    result = await model_run(tmp_path, Engine(config))
    assert result.planner == "openai:gpt-4o-mini" and result.stdout == "local\n"
    assert fake.requests[0].headers["authorization"] == "Bearer agentd-no-key"


# --- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize("goal", ["swe.analyze", "demo.test", "check"])
async def test_goal_ids_are_planned_offline(fake: FakeOpenAI, tmp_path: Path, goal: str) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text('[goals.check]\nsteps = [{ run = "ls" }]\n')
    plan = await make_planner(model_config(fake)).plan(goal, tmp_path)
    assert plan.planner == "stub" and plan.steps and plan.done
    assert fake.requests == []


async def test_unknown_goal_id_is_a_typo_not_a_task(fake: FakeOpenAI, tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal, match=r"swe\.analyze"):
        await make_planner(model_config(fake)).plan("swe.analyse", tmp_path)
    assert fake.requests == []


def test_which_planner_the_configuration_gives() -> None:
    assert isinstance(make_planner(EngineConfig()), StubPlanner)  # auto, nothing configured
    assert isinstance(
        make_planner(EngineConfig(planner="stub", api_key=SecretStr(KEY))), StubPlanner
    )
    for config in (
        EngineConfig(api_key=SecretStr(KEY)),  # auto with a key
        EngineConfig(base_url="http://127.0.0.1:1/v1"),  # auto with a local server
        EngineConfig(planner="openai"),
    ):
        chosen = make_planner(config)
        assert isinstance(chosen, RoutingPlanner) and isinstance(chosen, Planner)


async def test_no_key_still_plans_goal_ids(tmp_path: Path) -> None:
    chosen = make_planner(FAST.merged(planner="openai"))
    assert (await chosen.plan("swe.analyze", tmp_path)).planner == "stub"
    with pytest.raises(ModelNotConfigured):
        await chosen.plan(GOAL, tmp_path)


def test_the_sdk_is_imported_only_when_planning() -> None:
    code = (
        "import sys, engine.plan.factory, engine.run, engine.engine; engine.engine.Engine(); "
        "print('openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_repr_hides_the_key(fake: FakeOpenAI) -> None:
    planner = OpenAIPlanner(model_config(fake))
    assert KEY not in repr(planner) and KEY not in repr(make_planner(model_config(fake)))
    assert KEY not in repr(model_config(fake))
