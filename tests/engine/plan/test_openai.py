"""The language-model planner through real runs, against a loopback OpenAI-compatible server: what
the server receives (model, dialect, schema, auth) and what the run ends with, for every case of
issue 9's "Done when": a good plan, dependencies, a repair round, a hopeless answer, 429 then
success, 500 until giving up, a slow server and a timeout, a cancelled call, rounds until done."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.engine import Engine
from engine.errors import PlannerError
from engine.events import PlanReady
from engine.models import RunGoalParams
from engine.plan.answer import SCHEMA_NAME, answer_schema
from tests.engine.plan.conftest import GOAL, KEY, MODEL, Recorder, model_config, model_run
from tests.engine.plan.fake_openai import COMPLETIONS_PATH, FakeOpenAI, Reply
from tests.engine.runs import records

STEPS: list[dict[str, Any]] = [
    {"kind": "writeFile", "id": "write", "path": "out/hi.txt", "content": "hi\n"},
    {"kind": "runCli", "cmd": "cat out/hi.txt", "after": ["write"], "timeoutMs": 5000},
]
FAST_RETRY = {"retry-after-ms": "10"}


async def planning_error(fake: FakeOpenAI, ws: Path, *replies: Reply, **config: Any) -> str:
    """The PlannerError message the scripted replies lead to (it never holds the key)."""
    fake.script(*replies)
    with pytest.raises(PlannerError) as caught:
        await model_run(ws, Engine(model_config(fake, **config)))
    message = str(caught.value)
    assert message.startswith(f"planner openai:{MODEL}: ")
    assert KEY not in message and KEY[:20] not in message
    return message


async def test_a_good_plan_with_dependencies(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    fake.script(Reply.plan(STEPS, summary="greets"))

    result = await model_run(tmp_path, Engine(model_config(fake)))

    assert result.planner == f"openai:{MODEL}" and result.status == "succeeded"
    assert result.steps == ["write out/hi.txt", "cat out/hi.txt"]
    assert result.stdout == "hi\n"  # the cat ran after the write it depends on
    assert result.summary == "greets"
    assert result.usage is not None and result.usage.wire() == {
        "rounds": 1,
        "calls": 1,
        "promptTokens": 100,
        "completionTokens": 20,
        "totalTokens": 120,
    }
    [request] = fake.requests
    assert request.path == COMPLETIONS_PATH
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == MODEL
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "schema": answer_schema(first_round=True),
            "strict": True,
        },
    }
    assert request.body["max_tokens"] == 4096  # not OpenAI itself: max_tokens
    system, user = request.body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    for rule in ('"steps"', "runCli", "writeFile", '"after"', "parallel", "sh -c", "approval"):
        assert rule in system["content"]
    assert user["content"].startswith(f"Goal: {GOAL}\n")
    assert str(tmp_path) not in user["content"] and "pyproject.toml" in user["content"]

    [asked] = records(tmp_path, result, "model.requested")
    assert (asked["round"], asked["attempt"], asked["dialect"]) == (1, 1, "json_schema")
    assert asked["endpoint"] == fake.base_url and asked["system"] == system["content"]
    assert asked["messages"] == [user] and asked["messageCount"] == 2
    [answered] = records(tmp_path, result, "model.answered")
    assert answered["outcome"] == "plan" and answered["usage"]["totalTokens"] == 120
    [planned] = records(tmp_path, result, "plan.created")
    assert (planned["round"], planned["done"], planned["summary"]) == (1, True, "greets")
    [finished] = records(tmp_path, result, "run.finished")
    assert finished["usage"]["calls"] == 1 and finished["summary"] == "greets"


async def test_an_invalid_answer_gets_one_repair_round(fake: FakeOpenAI, tmp_path: Path) -> None:
    bad = Reply(content='{"steps": [{"kind": "runCli", "cmd": "ls", "after": ["nope"]}]}')
    fake.script(bad, Reply.plan(STEPS))
    result = await model_run(tmp_path, Engine(model_config(fake)))
    assert result.status == "succeeded" and result.usage and result.usage.calls == 2
    _, second = fake.requests
    *_, assistant, repair = second.body["messages"]
    assert assistant == {"role": "assistant", "content": bad.content}
    assert repair["role"] == "user" and "unknown step id 'nope'" in repair["content"]
    outcomes = [r["outcome"] for r in records(tmp_path, result, "model.answered")]
    assert outcomes == ["invalid", "plan"]
    asked = records(tmp_path, result, "model.requested")
    assert "system" not in asked[1] and [m["role"] for m in asked[1]["messages"]] == ["user"]


async def test_a_hopeless_answer_is_a_clear_error(fake: FakeOpenAI, tmp_path: Path) -> None:
    message = await planning_error(
        fake, tmp_path, Reply(content="Sure! Step one: ..."), Reply(content='{"plan": 1}')
    )
    assert "not a valid plan, even after a repair" in message and "not a plan" in message
    assert len(fake.requests) == 2


async def test_429_then_success(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.failure(429, "slow down", FAST_RETRY), Reply.plan(STEPS))
    result = await model_run(tmp_path, Engine(model_config(fake, model_retries=2)))
    assert result.status == "succeeded" and len(fake.requests) == 2
    outcomes = [r["outcome"] for r in records(tmp_path, result, "model.answered")]
    assert outcomes == ["failed", "plan"]


async def test_500_until_giving_up(fake: FakeOpenAI, tmp_path: Path) -> None:
    replies = [Reply.failure(500, "the model is overloaded", FAST_RETRY) for _ in range(3)]
    message = await planning_error(fake, tmp_path, *replies, model_retries=2)
    assert "HTTP 500: the model is overloaded" in message
    assert len(fake.requests) == 3  # the first try and two retries


async def test_a_quota_429_is_not_retried(fake: FakeOpenAI, tmp_path: Path) -> None:
    quota = Reply.failure(429, "You exceeded your quota", FAST_RETRY, code="insufficient_quota")
    message = await planning_error(fake, tmp_path, quota, model_retries=2)
    assert "quota is used up" in message and len(fake.requests) == 1


async def test_a_slow_server_times_out(fake: FakeOpenAI, tmp_path: Path) -> None:
    slow = Reply.plan(STEPS, delay=30)
    message = await planning_error(fake, tmp_path, slow, model_timeout_ms=300, model_retries=2)
    assert f"no answer from {fake.base_url} within 0.3 s" in message
    assert "modelTimeoutMs" in message and len(fake.requests) == 1  # a timeout is not retried


async def test_the_planning_budget_cuts_a_request_off(fake: FakeOpenAI, tmp_path: Path) -> None:
    slow = Reply.plan(STEPS, delay=30)
    message = await planning_error(fake, tmp_path, slow, planning_budget_ms=300)
    assert "planningBudgetMs" in message


async def test_a_slow_server_that_answers_in_time(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, delay=0.3))
    result = await model_run(tmp_path, Engine(model_config(fake)))
    assert result.status == "succeeded"


async def test_cancelling_a_run_during_the_model_call(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, delay=30))
    engine = Engine(model_config(fake))
    handle = engine.start(RunGoalParams(goal=GOAL), workspace=tmp_path)
    assert await asyncio.to_thread(fake.wait_for, 1)  # the request is at the server
    assert handle.cancel()
    result = await handle.result()
    assert result.status == "cancelled" and result.results == []
    [answered] = records(tmp_path, result, "model.answered")
    assert answered["outcome"] == "cancelled"
    assert records(tmp_path, result, "run.finished")[0]["status"] == "cancelled"


async def test_rounds_until_the_model_says_done(fake: FakeOpenAI, tmp_path: Path) -> None:
    first = [{"kind": "runCli", "id": "look", "cmd": "echo round one"}]
    second = [{"kind": "runCli", "id": "look", "cmd": "echo round two"}]
    fake.script(
        Reply.plan(first, done=False, summary="look first"),
        Reply.plan(second, done=False, summary="then act"),
        Reply.plan([], done=True, summary="greeted"),
    )
    recorder = Recorder()
    result = await model_run(tmp_path, Engine(model_config(fake)), recorder)

    assert [r.id for r in result.results] == ["look", "r2.look"]
    assert result.stdout == "round one\n\nround two\n" and result.status == "succeeded"
    assert result.summary == "greeted" and result.bits.t == 0.9
    assert result.usage is not None and (result.usage.rounds, result.usage.calls) == (3, 3)
    assert result.usage.total_tokens == 360
    second_request = fake.requests[1].body["messages"]
    assert [m["role"] for m in second_request] == ["system", "user", "assistant", "user"]
    outcomes = second_request[-1]["content"]
    assert "- look (echo round one): succeeded, exit code 0" in outcomes
    assert "round one" in outcomes
    ready = [e for e in recorder.events if isinstance(e, PlanReady)]
    assert [(e.round, [s.id for s in e.steps]) for e in ready] == [(1, ["look"]), (2, ["r2.look"])]
    planned = records(tmp_path, result, "plan.created")
    assert [(p["round"], p["done"], len(p["steps"])) for p in planned] == [
        (1, False, 1),
        (2, False, 1),
        (3, True, 0),
    ]


async def test_max_rounds_stops_a_model_that_never_says_done(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    again = [{"kind": "runCli", "cmd": "echo again"}]
    fake.script(*(Reply.plan(again, done=False, summary="more") for _ in range(5)))
    result = await model_run(tmp_path, Engine(model_config(fake, max_rounds=2)))
    assert len(fake.requests) == 2 and len(result.results) == 2
    assert result.summary == "more (stopped after round 2 of maxRounds 2)"


async def test_a_request_may_ask_for_more_rounds(fake: FakeOpenAI, tmp_path: Path) -> None:
    again = [{"kind": "runCli", "cmd": "echo again"}]
    fake.script(*(Reply.plan(again, done=False) for _ in range(5)))
    engine = Engine(model_config(fake, max_rounds=1))
    result = await model_run(tmp_path, engine, maxRounds=3)
    assert len(fake.requests) == 3 and len(result.results) == 3


async def test_the_token_budget_ends_the_rounds(fake: FakeOpenAI, tmp_path: Path) -> None:
    costly = {"prompt_tokens": 1500, "completion_tokens": 100, "total_tokens": 1600}
    again = [{"kind": "runCli", "cmd": "echo again"}]
    fake.script(*(Reply.plan(again, done=False, usage=costly) for _ in range(3)))
    result = await model_run(tmp_path, Engine(model_config(fake, token_budget=1000)))
    assert len(fake.requests) == 1 and result.status == "succeeded"
    assert result.summary == "stopped: the token budget (tokenBudget 1000) is spent"


async def test_missing_usage_is_unknown_not_zero(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, usage=None))
    result = await model_run(tmp_path, Engine(model_config(fake)))
    assert result.usage is not None and result.usage.calls == 1
    assert result.usage.total_tokens is None and result.usage.prompt_tokens is None
    assert records(tmp_path, result, "model.answered")[0]["usage"] is None


async def test_a_denied_step_is_reported_to_the_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    # Denied by the gate (a write into .git/); harmless even if it ran: a file in a temp tree.
    hook = [{"kind": "writeFile", "id": "hook", "path": ".git/hooks/pre-commit", "content": "x"}]
    fake.script(Reply.plan(hook, done=False), Reply.plan([], summary="cannot"))
    result = await model_run(tmp_path, Engine(model_config(fake)))
    assert [r.status for r in result.results] == ["denied"] and result.status == "failed"
    outcomes = fake.requests[1].body["messages"][-1]["content"]
    assert "- hook (write .git/hooks/pre-commit): denied by the gate, not run" in outcomes
    assert ".git" in outcomes and not (tmp_path / ".git").exists()


async def test_a_failing_later_round_fails_the_run_with_its_reason(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(
        Reply.plan([{"kind": "runCli", "cmd": "echo first"}], done=False),
        Reply.failure(401, "Incorrect API key provided"),
    )
    result = await model_run(tmp_path, Engine(model_config(fake)))
    assert result.status == "failed" and [r.status for r in result.results] == ["succeeded"]
    assert result.error is not None and "HTTP 401" in result.error
    assert records(tmp_path, result, "run.finished")[0]["error"] == result.error


async def test_a_dry_run_plans_one_round(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, done=False))
    result = await model_run(tmp_path, Engine(model_config(fake)), dryRun=True)
    assert result.status == "planned" and len(result.results) == 2
    assert len(fake.requests) == 1 and not (tmp_path / "out").exists()
