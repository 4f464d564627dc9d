"""Limits: a plan's size, a plan of any shape, absurd JSON, and each step's CPU and memory. One big
plan never stalls the other requests of the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from pygls.exceptions import JsonRpcInvalidParams

from tests.server.agent_client import (
    AgentClient,
    call,
    capabilities,
    config,
    initialize,
    step,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
SETTINGS = {"agent": {"maxSteps": 30000, "stepCpuSeconds": 1, "stepMemoryBytes": 256 << 20}}


@pytest_lsp.fixture(config=config(), scope="module")
async def limited(
    lsp_client: AgentClient, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[None]:
    caps = capabilities("neovim")
    await initialize(lsp_client, caps, tmp_path_factory.mktemp("limits"), SETTINGS)
    yield
    await lsp_client.shutdown_session()


def chain(count: int, *, reverse: bool) -> list[dict[str, Any]]:
    """``count`` steps, each after the next one: the deepest dependency graph there is."""
    steps = [
        step(f"echo {i}", id=f"s{i}", after=[f"s{i + 1}"] if i + 1 < count else [])
        for i in range(count)
    ]
    return steps[::-1] if reverse else steps


async def test_a_long_chain_in_reverse_is_planned(limited: AgentClient, tmp_path: Path) -> None:
    params = {"workspace": str(tmp_path), "steps": chain(3000, reverse=True)}
    result = await call(limited, "agent/plan", params)  # was -32603 RecursionError
    assert result["status"] == "planned" and len(result["results"]) == 3000


async def test_a_plan_past_the_limit_is_refused(client: AgentClient, tmp_path: Path) -> None:
    params = {"workspace": str(tmp_path), "steps": [step("true")] * 1001}
    with pytest.raises(
        JsonRpcInvalidParams, match=r"1001 steps are more than the 1000 .*agent\.maxSteps"
    ):
        await call(client, "agent/plan", params)


async def test_a_big_plan_does_not_stall_other_requests(
    limited: AgentClient, tmp_path: Path
) -> None:
    steps = [step(f"echo {i}") for i in range(20000)]  # distinct: every one is gated
    big = asyncio.ensure_future(
        call(limited, "agent/plan", {"workspace": str(tmp_path), "steps": steps})
    )
    health = await call(limited, "agent/health", {})
    assert health["version"] and not big.done()  # answered while the big plan was still gated
    assert (await big)["status"] == "planned"


async def test_each_step_has_cpu_and_memory_limits(limited: AgentClient, tmp_path: Path) -> None:
    burn = step("python3 -c 'while True: pass'", id="burn")
    hog = step("python3 -c 'x = bytearray(1 << 30)'", id="hog")
    fine = step("python3 -c 'x = bytearray(1 << 20); print(len(x))'", id="fine")
    result = await call(
        limited,
        "agent/runGoal",
        {"workspace": str(tmp_path), "steps": [burn, hog, fine], "approval": "allow"},
    )
    by_id = {r["id"]: r for r in result["results"]}
    # killed at 1 s of CPU (SIGXCPU, then SIGKILL), as its shell reports it
    assert by_id["burn"]["status"] == "failed"
    assert by_id["burn"]["exitCode"] in (None, 128 + 9, 128 + 24)
    assert by_id["hog"]["status"] == "failed" and "MemoryError" in by_id["hog"]["stderr"]
    assert by_id["fine"]["status"] == "succeeded" and by_id["fine"]["stdout"] == "1048576\n"
