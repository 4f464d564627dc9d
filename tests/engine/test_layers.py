"""The configuration's layers: defaults < config file < environment < editor settings < request;
where each value came from; what each bad value gets (named and left out; the rest applies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import DEFAULT_MODEL, EngineConfig
from engine.engine import Engine
from engine.layers import ENV_KEYS, config_file, load_layers
from engine.models import RunGoalParams
from server.core.settings import config_from_settings

KEY = "sk-file-" + "Q1w2E3r4T5" * 3


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_defaults_with_nothing_configured(tmp_path: Path) -> None:
    layers = load_layers(env={}, file=tmp_path / "config.toml")
    assert layers.config == EngineConfig() and not layers.file_found and layers.problems == []
    assert layers.config.model_planner == "stub" and layers.config.planner_label == "stub"
    assert layers.source("model") == "default"


def test_the_file_is_in_the_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTD_CONFIG_DIR", str(tmp_path))
    assert config_file() == tmp_path / "config.toml"
    write(tmp_path / "config.toml", 'model = "from-the-file"\n')
    assert load_layers(env={}).config.model == "from-the-file"


def test_file_then_environment(tmp_path: Path) -> None:
    file = write(
        tmp_path / "config.toml",
        'planner = "openai"\nmodel = "file-model"\nmaxRounds = 5\nbaseUrl = "http://file/v1"\n',
    )
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
        "AGENTD_MAX_ROUNDS": "7",
        "AGENTD_STEP_TIMEOUT_MS": "1000",
        "OPENAI_API_KEY": "sk-env-key-0123456789",
        "AGENTD_CONFIG_DIR": "/ignored/here",
    }
    layers = load_layers(env=env, file=file)
    config = layers.config
    assert (config.planner, config.model, config.max_rounds) == ("openai", "file-model", 7)
    assert config.base_url == "http://127.0.0.1:8080/v1" and config.step_timeout_ms == 1000
    assert config.api_key is not None and config.api_key.get_secret_value() == env["OPENAI_API_KEY"]
    assert layers.source("model") == f"config file {file}"
    assert layers.source("maxRounds") == "environment AGENTD_MAX_ROUNDS"
    assert layers.source("apiKey") == "environment OPENAI_API_KEY"
    assert layers.source("sandbox") == "default"
    assert "sk-env-key" not in repr(layers) and "sk-env-key" not in str(layers.sources)


def test_a_list_from_the_environment() -> None:
    env = {"AGENTD_ENV_ALLOW": "JAVA_OPTS, MY_TOOL_*"}
    layers = load_layers(env=env, file=Path("/nonexistent/config.toml"))
    assert layers.config.env_allow == ["JAVA_OPTS", "MY_TOOL_*"] and layers.problems == []


def test_agentd_base_url_wins_over_openai_base_url() -> None:
    env = {"OPENAI_BASE_URL": "http://a/v1", "AGENTD_BASE_URL": "http://b/v1"}
    layers = load_layers(env=env, file=Path("/nonexistent/config.toml"))
    assert layers.config.base_url == "http://b/v1"
    assert layers.source("baseUrl") == "environment AGENTD_BASE_URL"


def test_a_key_or_a_server_makes_auto_plan_with_the_model() -> None:
    nowhere = Path("/nonexistent/config.toml")
    with_key = load_layers(env={"OPENAI_API_KEY": "sk-abcdefghijklmnop"}, file=nowhere).config
    assert (
        with_key.model_planner == "openai" and with_key.planner_label == f"openai:{DEFAULT_MODEL}"
    )
    local = load_layers(env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, file=nowhere).config
    assert local.model_planner == "openai"
    told = load_layers(
        env={"OPENAI_API_KEY": "sk-abcdefghijklmnop", "AGENTD_PLANNER": "stub"}, file=nowhere
    ).config
    assert told.model_planner == "stub"


def test_bad_values_are_named_and_the_rest_applies(tmp_path: Path) -> None:
    file = write(
        tmp_path / "config.toml",
        'model = "kept"\nmaxRounds = 0\nmax_parallel = 2\nmodle = "x"\nsandbox = "box"\n',
    )
    env = {"AGENTD_MAX_PARALLEL": "many", "AGENTD_MODEL_RETRIES": "1", "OPENAI_BASE_URL": "ftp://x"}
    layers = load_layers(env=env, file=file)
    assert layers.config.model == "kept" and layers.config.model_retries == 1
    assert layers.config.max_rounds == 3 and layers.config.max_parallel == 8
    problems = "\n".join(layers.problems)
    assert f"config file {file}: maxRounds: Input should be greater than or equal to 1" in problems
    assert f"{file}: unknown key 'max_parallel' (the key is 'maxParallel'); ignored" in problems
    assert f"{file}: unknown key 'modle'; ignored" in problems
    assert "sandbox: Input should be" in problems
    assert (
        "environment AGENTD_MAX_PARALLEL: maxParallel: Input should be a valid integer" in problems
    )
    assert "environment OPENAI_BASE_URL: baseUrl: String should match pattern" in problems
    assert len(layers.problems) == 6


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model = ", "not valid TOML"),
        ("\udcff", "not valid TOML"),
    ],
)
def test_a_broken_file_is_a_problem_not_a_crash(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "config.toml"
    file.write_bytes(text.encode("utf-8", "surrogateescape"))
    layers = load_layers(env={"AGENTD_MODEL": "still-applies"}, file=file)
    assert layers.config.model == "still-applies"
    assert len(layers.problems) == 1 and problem in layers.problems[0]


def test_a_folder_in_place_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    layers = load_layers(env={}, file=tmp_path / "config.toml")
    assert layers.problems == [f"{tmp_path / 'config.toml'}: not a regular file"]


def test_a_key_in_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", f'apiKey = "{KEY}"\nmodel = "m"\n', mode=0o644)
    layers = load_layers(env={}, file=file)
    assert layers.config.api_key is None and layers.config.model == "m"
    assert "apiKey ignored: other users may read this file (chmod 600" in layers.problems[0]
    assert KEY not in layers.problems[0]
    file.chmod(0o600)
    private = load_layers(env={}, file=file)
    assert private.config.api_key is not None and private.problems == []
    assert private.source("apiKey") == f"config file {file}"


def test_every_setting_has_an_environment_variable() -> None:
    assert ENV_KEYS["OPENAI_API_KEY"] == "apiKey" and "AGENTD_API_KEY" not in ENV_KEYS
    assert ENV_KEYS["AGENTD_PLANNING_BUDGET_MS"] == "planningBudgetMs"
    keys = set(ENV_KEYS.values())
    assert keys == {info.alias for info in EngineConfig.model_fields.values()}


def test_editor_settings_and_requests_go_on_top(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", 'model = "file"\nmaxRounds = 4\n')
    base = load_layers(env={"AGENTD_MAX_PARALLEL": "3"}, file=file).config
    edited = config_from_settings(base, {"model": "editor"})
    assert (edited.model, edited.max_rounds, edited.max_parallel) == ("editor", 4, 3)
    engine = Engine(edited)
    request = RunGoalParams(goal="x", model="request", max_rounds=2, planner="stub")
    run_config = engine.run_config(request)
    assert (run_config.model, run_config.max_rounds, run_config.planner) == ("request", 2, "stub")
    assert engine.run_config(RunGoalParams(goal="x")) is edited
    replay = engine.run_config(RunGoalParams(planner="replay", run_id="r1"))
    assert replay.planner == "auto"  # replay is not a configuration, only a request
