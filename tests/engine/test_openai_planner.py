"""The OpenAI planner over real HTTP against a loopback OpenAI-compatible server, and the routing
that keeps goal ids offline."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import EngineConfig
from engine.errors import ModelNotConfigured, UnknownGoal
from engine.models import RunCliStep, WriteFileStep
from engine.plan.base import Planner
from engine.plan.factory import RoutingPlanner, make_planner
from engine.plan.openai import (
    MAX_STEPS,
    OpenAIPlanner,
    PlannerError,
    parse_plan,
)
from engine.plan.stub import StubPlanner
from tests.engine.fake_openai import COMPLETIONS_PATH, FakeOpenAI, Reply

KEY = "sk-test-" + "Zq9Xw8Vu7T" * 4
MODEL = "test-model"
GOAL = "write a greeting to out/hi.txt and show it"
STEPS: list[dict[str, Any]] = [
    {"id": "write", "kind": "writeFile", "path": "out/hi.txt", "content": "hi\n"},
    {"kind": "runCli", "cmd": "cat out/hi.txt", "after": ["write"], "timeoutMs": 5000},
]


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def config(fake: FakeOpenAI | None, **changes: Any) -> EngineConfig:
    base_url = fake.base_url if fake else None
    values: dict[str, Any] = {"planner": "openai", "model": MODEL, "base_url": base_url}
    values.setdefault("api_key", KEY)
    return EngineConfig.model_validate({**values, **changes})


def planner(fake: FakeOpenAI, **options: Any) -> OpenAIPlanner:
    return OpenAIPlanner(model=MODEL, api_key=KEY, base_url=fake.base_url, **options)


async def failure(fake: FakeOpenAI, workspace: Path, *replies: Reply, **options: Any) -> str:
    """The message of the PlannerError the scripted replies lead to; never holds the key."""
    fake.script(*replies)
    with pytest.raises(PlannerError) as caught:
        await planner(fake, **options).plan(GOAL, workspace)
    message = str(caught.value)
    assert message.startswith(f"planner openai:{MODEL}: ")
    assert KEY not in message and KEY[:20] not in message
    return message


# --- planning free text ---------------------------------------------------------------------


async def test_free_text_goes_to_the_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "src").mkdir()
    fake.script(Reply.plan(STEPS))
    chosen = make_planner(config(fake))
    assert isinstance(chosen, Planner) and chosen.name == f"openai:{MODEL}"

    plan = await chosen.plan(GOAL, tmp_path)

    assert plan.planner == f"openai:{MODEL}" and plan.goal == GOAL
    write, show = plan.steps
    assert isinstance(write, WriteFileStep) and write.path == "out/hi.txt"
    assert isinstance(show, RunCliStep) and show.cmd == "cat out/hi.txt"
    assert plan.ids() == ["write", "s2"] and show.after == ["write"] and show.timeout_ms == 5000

    [request] = fake.requests
    assert request.path == COMPLETIONS_PATH
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == MODEL
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert user == {"role": "user", "content": GOAL}
    assert system["role"] == "system"
    prompt = system["content"]
    for expected in ('"steps"', "runCli", "writeFile", "sh -c", "sudo", f"at most {MAX_STEPS}"):
        assert expected in prompt
    assert str(tmp_path) in prompt
    assert "pyproject.toml, src/" in prompt and "Python" in prompt


async def test_workspace_listing_is_capped(fake: FakeOpenAI, tmp_path: Path) -> None:
    for index in range(60):
        (tmp_path / f"f{index:02d}").touch()
    fake.script(Reply.plan(STEPS))
    await planner(fake).plan(GOAL, tmp_path)
    prompt = fake.requests[0].body["messages"][0]["content"]
    assert "f49" in prompt and "f50" not in prompt and "(and 10 more)" in prompt


@pytest.mark.parametrize(
    "content",
    [
        "```json\n" + json.dumps({"steps": STEPS}) + "\n```",
        "Here is the plan:\n```\n" + json.dumps({"steps": STEPS}) + "\n```\nGood luck.",
    ],
    ids=["fenced", "prose-and-fence"],
)
async def test_code_fences_are_stripped(fake: FakeOpenAI, tmp_path: Path, content: str) -> None:
    fake.script(Reply(content=content))
    plan = await planner(fake).plan(GOAL, tmp_path)
    assert [s.line for s in plan.steps] == ["write out/hi.txt", "cat out/hi.txt"]


def test_fences_inside_a_written_file_survive() -> None:
    readme = "# Use\n```sh\nmake\n```\n"
    steps = [{"kind": "writeFile", "path": "README.md", "content": readme}]
    for answer in (json.dumps({"steps": steps}), f"```json\n{json.dumps({'steps': steps})}\n```"):
        [step] = parse_plan(answer, goal="g", planner="openai:m").steps
        assert isinstance(step, WriteFileStep) and step.content == readme


# --- routing, keys and URLs -----------------------------------------------------------------


@pytest.mark.parametrize("goal", ["swe.analyze", "demo.test", "check"])
async def test_goal_ids_are_planned_offline(fake: FakeOpenAI, tmp_path: Path, goal: str) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text('[goals.check]\nsteps = [{ run = "ls" }]\n')
    plan = await make_planner(config(fake)).plan(goal, tmp_path)
    assert plan.planner == "stub" and plan.steps
    assert fake.requests == []


async def test_unknown_goal_id_is_a_typo_not_a_task(fake: FakeOpenAI, tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal, match=r"swe\.analyze"):
        await make_planner(config(fake)).plan("swe.analyse", tmp_path)
    assert fake.requests == []


def test_stub_configuration_gives_the_stub() -> None:
    assert isinstance(make_planner(EngineConfig()), StubPlanner)
    assert isinstance(make_planner(config(None)), RoutingPlanner)


async def test_no_key_is_model_not_configured(fake: FakeOpenAI, tmp_path: Path) -> None:
    chosen = make_planner(config(fake, api_key=None))
    with pytest.raises(ModelNotConfigured) as caught:
        await chosen.plan(GOAL, tmp_path)
    assert "OPENAI_API_KEY" in str(caught.value) and "agent.apiKey" in str(caught.value)
    assert (await chosen.plan("swe.analyze", tmp_path)).planner == "stub"  # ids need no key
    assert fake.requests == []


async def test_key_from_the_environment(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0123456789abcdef")
    fake.script(Reply.plan(STEPS), Reply.plan(STEPS))
    await make_planner(config(fake, api_key=None)).plan(GOAL, tmp_path)
    await make_planner(config(fake)).plan(GOAL, tmp_path)  # the setting wins over the environment
    auth = [r.headers["authorization"] for r in fake.requests]
    assert auth == ["Bearer sk-from-env-0123456789abcdef", f"Bearer {KEY}"]


async def test_without_base_url_the_sdk_default_applies(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)  # the SDK's own default source
    fake.script(Reply.plan(STEPS))
    plan = await make_planner(config(None)).plan(GOAL, tmp_path)
    assert plan.planner == f"openai:{MODEL}" and len(fake.requests) == 1


def test_the_sdk_is_imported_only_when_planning() -> None:
    code = "import sys, engine.plan.factory, engine.run; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_repr_hides_the_key(fake: FakeOpenAI) -> None:
    assert KEY not in repr(planner(fake)) and KEY not in repr(make_planner(config(fake)))


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("I cannot help with that.", "not JSON"),
        ("", "answer is empty"),
        ('[{"kind": "runCli", "cmd": "ls"}]', "not a plan"),
        ('{"plan": []}', "not a plan"),
        ('{"steps": []}', "has no steps"),
        ('{"steps": [{"kind": "shell", "cmd": "ls"}]}', "steps[0]"),
        ('{"steps": [{"kind": "runCli"}]}', "steps[0].cmd"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls", "after": ["x"]}]}', "unknown step id 'x'"),
        ('{"steps": [{"kind": "runCli", "cmd": "ls", "sudo": true}]}', "steps[0].sudo"),
    ],
)
async def test_bad_answers_are_clear_errors(
    fake: FakeOpenAI, tmp_path: Path, content: str, expected: str
) -> None:
    message = await failure(fake, tmp_path, Reply(content=content))
    assert expected in message


async def test_too_many_steps(fake: FakeOpenAI, tmp_path: Path) -> None:
    steps = [{"kind": "runCli", "cmd": f"echo {i}"} for i in range(MAX_STEPS + 1)]
    message = await failure(fake, tmp_path, Reply.plan(steps))
    assert f"{MAX_STEPS + 1} steps; at most {MAX_STEPS}" in message


async def test_cut_off_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    message = await failure(fake, tmp_path, Reply(content='{"steps": [', finish_reason="length"))
    assert "cut off" in message


async def test_refused_key_is_never_echoed(fake: FakeOpenAI, tmp_path: Path) -> None:
    reply = Reply.failure(401, f"Incorrect API key provided: {KEY}.")
    message = await failure(fake, tmp_path, reply)
    assert "HTTP 401: Incorrect API key provided" in message and "OPENAI_API_KEY" in message
    assert len(fake.requests) == 1  # a refused key is not retried


async def test_server_error_is_retried_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    fast = {"retry-after-ms": "10"}
    replies = [Reply.failure(500, "the model is overloaded", fast) for _ in range(2)]
    message = await failure(fake, tmp_path, *replies)
    assert "HTTP 500: the model is overloaded" in message
    assert len(fake.requests) == 2


async def test_a_retry_can_succeed(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.failure(503, "busy", {"retry-after-ms": "10"}), Reply.plan(STEPS))
    plan = await planner(fake).plan(GOAL, tmp_path)
    assert len(plan.steps) == 2 and len(fake.requests) == 2


async def test_unknown_model_hints_at_the_settings(fake: FakeOpenAI, tmp_path: Path) -> None:
    message = await failure(fake, tmp_path, Reply.failure(404, "The model does not exist"))
    assert "HTTP 404" in message and "agent.model" in message


async def test_slow_answer_times_out(fake: FakeOpenAI, tmp_path: Path) -> None:
    reply = Reply(content=json.dumps({"steps": STEPS}), delay=5)
    message = await failure(fake, tmp_path, reply, timeout=0.3, max_retries=0)
    assert f"no answer from {fake.base_url}" in message and "0.3 s" in message


async def test_unreachable_server(tmp_path: Path) -> None:
    with FakeOpenAI() as gone:  # a port that was just free
        url = gone.base_url
    unreachable = OpenAIPlanner(model=MODEL, api_key=KEY, base_url=url, max_retries=0)
    with pytest.raises(PlannerError, match=r"cannot reach the model server at http://127\.0\.0\.1"):
        await unreachable.plan(GOAL, tmp_path)


async def test_base_url_credentials_stay_out_of_messages(tmp_path: Path) -> None:
    with FakeOpenAI() as gone:
        url = gone.base_url.replace("://", "://user:hunter2secret@") + "?api-key=zzsecretzz"
    unreachable = OpenAIPlanner(model=MODEL, api_key=KEY, base_url=url, max_retries=0)
    with pytest.raises(PlannerError) as caught:
        await unreachable.plan(GOAL, tmp_path)
    assert "hunter2secret" not in str(caught.value) and "zzsecretzz" not in str(caught.value)
