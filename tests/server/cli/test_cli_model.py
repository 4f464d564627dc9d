"""The CLI with a language model: `agentd run "free text"` with only OPENAI_API_KEY and
OPENAI_BASE_URL set (a loopback fake stands in for the server), the planner flags, `--replay`,
`agentd config` and `agentd doctor`'s endpoint check; the key is never printed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.plan.fake_openai import FakeOpenAI, Reply
from tests.server.cli.cli_helpers import ENV, agentd

KEY = "sk-cli-" + "C1iK3y0000" * 4
STEPS: list[dict[str, Any]] = [
    {"kind": "writeFile", "id": "w", "path": "out/hi.txt", "content": "hi\n"},
    {"kind": "runCli", "id": "show", "cmd": "cat out/hi.txt", "after": ["w"]},
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=["gpt-4o-mini"]) as server:
        yield server


def env_for(fake: FakeOpenAI | None, **extra: str) -> dict[str, str]:
    env = ENV | {"OPENAI_API_KEY": KEY} | extra
    if fake is not None:
        env["OPENAI_BASE_URL"] = fake.base_url
    return env


def test_free_text_with_only_the_environment(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, summary="wrote and showed it"))
    done = agentd("run", "greet me in a file", cwd=tmp_path, env=env_for(fake))
    assert done.returncode == 0, done.stderr
    assert "cat out/hi.txt" in done.stdout and (tmp_path / "out" / "hi.txt").read_text() == "hi\n"
    [request] = fake.completions
    assert request.body["model"] == "gpt-4o-mini"  # the documented default
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in done.stdout + done.stderr


def test_json_result_carries_usage_and_summary(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, summary="wrote and showed it"))
    done = agentd("run", "greet me in a file", "--json", cwd=tmp_path, env=env_for(fake))
    result = json.loads(done.stdout)
    assert result["planner"] == "openai:gpt-4o-mini" and result["status"] == "succeeded"
    assert result["summary"] == "wrote and showed it" and result["usage"]["calls"] == 1


def test_without_a_model_it_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if not k.startswith("OPENAI_")}
    done = agentd("run", "add a --verbose flag", cwd=tmp_path, env=env)
    assert done.returncode == 2 and done.stdout == ""
    for hint in ("Export OPENAI_API_KEY", "OPENAI_BASE_URL", "config.toml", "agentd config"):
        assert hint in done.stderr


def test_the_planner_flags(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS, done=False), Reply.plan(STEPS, done=False))
    args = ["--model", "flag-model", "--base-url", fake.base_url, "--max-rounds", "1", "--json"]
    env = {k: v for k, v in ENV.items() if not k.startswith("OPENAI_")}  # no key: a local server
    done = agentd("run", "greet me", *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["planner"] == "openai:flag-model"
    assert [r.body["model"] for r in fake.completions] == ["flag-model"]  # one round only
    offline = agentd("run", "greet me", "--planner", "stub", cwd=tmp_path, env=env_for(fake))
    assert offline.returncode == 2 and "needs a language model" in offline.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--max-rounds", "0"], "expected a whole number from 1 to 20"),
        (["x", "--planner", "gpt"], "invalid choice: 'gpt'"),
        (["--step", "ls", "--replay", "r1"], "--planner and --replay do not apply"),
        (["--step", "ls", "--planner", "stub"], "--planner and --replay do not apply"),
    ],
)
def test_bad_planner_flags(tmp_path: Path, args: list[str], message: str) -> None:
    done = agentd("run", *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_replay_from_the_command_line(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply.plan(STEPS))
    planned = agentd("run", "greet me", "--dry-run", "--json", cwd=tmp_path, env=env_for(fake))
    run_id = json.loads(planned.stdout)["runId"]
    env = {k: v for k, v in ENV.items() if not k.startswith("OPENAI_")}  # no model at all
    done = agentd("run", "--replay", run_id, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["planner"], result["goal"], result["stdout"]) == ("replay", "greet me", "hi\n")
    assert len(fake.completions) == 1


def test_config_shows_values_and_where_they_came_from(tmp_path: Path) -> None:
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text('model = "from-file"\nmaxRounds = 2\n')
    env = env_for(None, AGENTD_CONFIG_DIR=str(config_dir), AGENTD_MAX_ROUNDS="4")
    done = agentd("config", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ")}
    assert lines["model"].split()[1:] == [
        "from-file",
        "from",
        "config",
        "file",
        str(config_dir / "config.toml"),
    ]
    assert lines["maxRounds"].split()[1:] == ["4", "from", "environment", "AGENTD_MAX_ROUNDS"]
    assert lines["apiKey"].split()[1:] == ["set", "from", "environment", "OPENAI_API_KEY"]
    assert "auto (openai)" in lines["planner"] and "an API key is set" in lines["planner"]
    assert "free text goes to: openai:from-file at https://api.openai.com/v1" in done.stdout
    assert KEY not in done.stdout + done.stderr

    report = json.loads(agentd("config", "--json", cwd=tmp_path, env=env).stdout)
    assert report["settings"]["apiKey"] == {"value": "set", "from": "environment OPENAI_API_KEY"}
    assert report["settings"]["maxParallel"] == {"value": 8, "from": "default"}
    assert report["fileFound"] is True and report["problems"] == []


def test_config_names_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("modle = 'x'\n")
    env = {k: v for k, v in ENV.items() if not k.startswith("OPENAI_")}
    done = agentd(
        "config",
        cwd=tmp_path,
        env=env | {"AGENTD_CONFIG_DIR": str(tmp_path), "AGENTD_MAX_ROUNDS": "x"},
    )
    assert done.returncode == 1
    assert "problem: " in done.stdout and "unknown key 'modle'" in done.stdout
    assert "AGENTD_MAX_ROUNDS: maxRounds: Input should be a valid integer" in done.stdout
    assert "free text goes to: no language model" in done.stdout


def test_doctor_tests_the_endpoint(fake: FakeOpenAI, tmp_path: Path) -> None:
    done = agentd("doctor", cwd=tmp_path, env=env_for(fake))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"    endpoint: {fake.base_url}\n" in done.stdout and "    reachable: yes\n" in done.stdout
    )
    assert KEY not in done.stdout + done.stderr
    with FakeOpenAI() as gone:
        url = gone.base_url
    down = agentd("doctor", cwd=tmp_path, env=env_for(None, OPENAI_BASE_URL=url))
    assert down.returncode == 1 and "NOT healthy" in down.stdout
    assert f"problem: language model: cannot reach the model server at {url}" in down.stdout


def test_the_environment_of_the_tests_is_clean() -> None:
    assert "OPENAI_API_KEY" not in os.environ and "OPENAI_BASE_URL" not in os.environ
