"""The language-model docs are tests: the README's OpenAI and local-server examples run for real
(a loopback fake stands in for both servers, so nothing leaves the machine), docs/config.md's
example file loads without a problem, and every setting is documented with its true default in
docs/config.md and in docs/protocol.md's configuration table, with its environment variable."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.config import WIRE_NAME_BY_FIELD, EngineConfig
from engine.layers import ENV_KEYS, load_layers
from tests.engine.plan.fake_openai import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIG_MD = (ROOT / "docs" / "config.md").read_text()
PROTOCOL_MD = (ROOT / "docs" / "protocol.md").read_text()
BIN = Path(sys.executable).parent


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def table(text: str) -> dict[str, tuple[str, str]]:
    """key -> (default, meaning) of every `| `key` | default | meaning |` row."""
    rows = re.findall(r"^\| `(\w+)` \| (`[^`]*`) \| (.*) \|$", text, flags=re.M)
    return {key: (default.strip("`"), meaning) for key, default, meaning in rows}


def documented_default(field: str) -> str:
    value: Any = EngineConfig.model_fields[field].get_default(call_default_factory=True)
    return json.dumps(value)


@pytest.mark.parametrize("doc", ["docs/config.md", "docs/protocol.md"])
def test_every_setting_is_documented_with_its_default(doc: str) -> None:
    text = CONFIG_MD if doc == "docs/config.md" else section(PROTOCOL_MD, "## Configuration")
    rows = table(text)
    for field, key in WIRE_NAME_BY_FIELD.items():
        assert key in rows, f"{doc} does not document {key}"
        assert rows[key][0] == documented_default(field), f"{doc}: {key}'s default"
    assert set(rows) == set(WIRE_NAME_BY_FIELD.values())


def test_every_environment_variable_is_documented() -> None:
    env_section = section(CONFIG_MD, "## The environment")
    for name in ENV_KEYS:
        assert f"`{name}`" in env_section, name


def test_the_example_config_file_loads_cleanly(tmp_path: Path) -> None:
    [example] = blocks(CONFIG_MD, "toml")
    file = tmp_path / "config.toml"
    file.write_text(example)
    layers = load_layers(env={}, file=file)
    assert layers.problems == []
    assert layers.config.base_url == "http://127.0.0.1:8080/v1"
    assert layers.config.model_planner == "openai"


def commands(block: str, base_url: str) -> tuple[dict[str, str], list[list[str]]]:
    """The ``export``s (the URL pointed at the fake) and the ``agentd`` lines of a README block."""
    env: dict[str, str] = {}
    runs = []
    for line in block.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("export "):
            name, value = line.removeprefix("export ").split("=", 1)
            env[name] = base_url if name == "OPENAI_BASE_URL" else value
        elif line.startswith("agentd "):
            runs.append(shlex.split(line)[1:])
    return env, runs


@pytest.mark.parametrize("example", ["OpenAI", "A local server"])
def test_the_readme_model_examples_work(example: str, tmp_path: Path) -> None:
    text = section(README, "### A language model (optional)")
    [block] = blocks(text.split(f"**{example}.**", 1)[1], "sh")[:1]
    steps = [{"kind": "runCli", "id": "look", "cmd": "ls"}]
    with FakeOpenAI() as fake:
        fake.script(*(Reply.plan(steps, summary="looked") for _ in range(4)))
        env, runs = commands(block, fake.base_url)
        assert runs, "the example runs agentd"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        base = clean | {"PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '')}"} | env
        # The OpenAI example talks to OpenAI itself: here the fake stands in for it.
        base.setdefault("OPENAI_BASE_URL", fake.base_url)
        for args in runs:
            done = subprocess.run(
                [str(BIN / "agentd"), *args, "--json"],
                cwd=tmp_path,
                env=base,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
            result = json.loads(done.stdout)
            assert result["planner"].startswith("openai:") and result["steps"] == ["ls"]
        asked = [r.body["model"] for r in fake.completions]
    flags = [a[a.index("--model") + 1] if "--model" in a else "gpt-4o-mini" for a in runs]
    assert asked == flags
