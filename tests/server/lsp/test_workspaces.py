"""Runs happen only where the user opened a folder: a client cannot send one to $HOME, to /, or
to any folder outside the session's (a clear -32602, and nothing written there)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from tests.server.agent_client import AgentClient, call, step

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize(
    ("where", "why"),
    [
        (str(Path.home()), "your home folder itself"),
        ("/", "a system directory"),
        ("/etc", "a system directory"),
        ("/usr", "a system directory"),
    ],
)
async def test_home_and_system_directories_are_refused(
    client: AgentClient, where: str, why: str
) -> None:
    for method in ("agent/runGoal", "agent/plan"):
        params = {"workspace": where, "steps": [step("echo never")]}
        with pytest.raises(JsonRpcInvalidParams, match=why):
            await call(client, method, params)
    assert not (Path(where) / ".agent" / "runs").exists() or where == str(Path.home())


@pytest.fixture
def elsewhere() -> Iterator[Path]:
    """A folder outside the session's (every tmp_path lies in its second folder)."""
    path = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="agentd-not-opened-"))
    yield path
    shutil.rmtree(path)


async def test_a_folder_the_user_did_not_open_is_refused(
    client: AgentClient, elsewhere: Path
) -> None:
    for dry_run in (False, True):
        params = {"workspace": str(elsewhere), "goal": "demo.test", "dryRun": dry_run}
        with pytest.raises(JsonRpcInvalidParams, match="not inside the session's workspace"):
            await call(client, "agent/runGoal", params)
    assert not os.listdir(elsewhere)  # not even a trace


async def test_a_dry_run_writes_nothing_but_its_trace(client: AgentClient, tmp_path: Path) -> None:
    """Its trace, and beside it the content its writeFile would write (kept so that the plan can
    be run as planned: a replay), under .agent/runs only."""
    steps = [step("touch made"), {"kind": "writeFile", "path": "out/x.txt", "content": "x"}]
    result = await call(client, "agent/plan", {"workspace": str(tmp_path), "steps": steps})
    assert result["status"] == "planned"
    content = f".agent/runs/{result['runId']}/content/{hashlib.sha256(b'x').hexdigest()}"
    assert files_in(tmp_path) == sorted([".agent/runs/.gitignore", result["trace"], content])


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
