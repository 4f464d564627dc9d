"""The in-host tests: editors/vscode/test/host run in code-server's real extension host.

One code-server and one browser run the whole in-host suite once (module fixture); each test
here then checks its own entry of the verdict file the suite writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.editors.vscode.harness import (
    ARTIFACTS,
    EXTENSION,
    code_server,
    require_code_server,
    run_node,
)

# The names of editors/vscode/test/host/suite.ts, in order.
HOST_TESTS = [
    "the commands exist",
    "Run Goal on demo.test writes out/hello.txt and shows the result",
    "the tree's actions: open a step's output, re-run the step, show the trace",
    "Plan Goal shows each step with its risk and decision, and nothing runs",
    "Cancel stops a long run and leaves no process",
    "an approval answered Reject leaves the step rejected; approvals queue one at a time",
    "a failing step's diagnostic reaches the Problems panel and offers the code actions",
    "runs started otherwise (a server command) show like our own and finish",
    "settings reach the server live",
    "a broken goals file still lists the built-ins, with the problem beside them",
    "a server that cannot start is reported, and Restart Server recovers",
    "a server that stops mid-run is reported, its run shows cancelled, and no step process is left",
    "Run Goal right after Restart Server waits for the new server",
]

GOALS_TOML = """\
[goals.asks]
title = "Write two editor files (the gate asks about both)"
steps = [
  { id = "tasks", write = ".vscode/tasks.json", content = "{}\\n" },
  { id = "launch", write = ".vscode/launch.json", content = "{}\\n" },
]

[goals.failing]
title = "A check that fails with a finding in src/app.py"
steps = [ { id = "check", run = "echo 'src/app.py:1: boom' >&2; exit 3" } ]
"""


def make_workspace(root: Path) -> Path:
    workspace = root / "workspace"
    (workspace / ".agent").mkdir(parents=True)
    (workspace / ".agent" / "goals.toml").write_text(GOALS_TOML)
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("print('hello')\n")
    return workspace


@pytest.fixture(scope="module")
def verdict(built_extension: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_code_server()
    home = tmp_path_factory.mktemp("vscode-host")
    workspace = make_workspace(home)
    verdict_file = home / "verdict.json"
    artifacts = ARTIFACTS / "host"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    env = {"AGENTD_VSCODE_VERDICT": str(verdict_file)}
    with code_server(home, workspace, env) as server:
        url = server.url(workspace, tests=EXTENSION / "out" / "test" / "host" / "index.js")
        driver = run_node(
            EXTENSION / "out" / "test" / "drive" / "host.js",
            [url, str(verdict_file), str(artifacts)],
            home,
            timeout=300,
        )
    shutil.copy(server.log, artifacts / "code-server.log")
    assert verdict_file.is_file(), (
        f"the in-host suite wrote no verdict:\n{driver.stdout}\n{driver.stderr}\n"
        f"(code-server log: {artifacts / 'code-server.log'})"
    )
    results: dict[str, Any] = json.loads(verdict_file.read_text())
    return results


def test_every_host_test_reported(verdict: dict[str, Any]) -> None:
    names = [result["name"] for result in verdict["results"]]
    assert names == HOST_TESTS


@pytest.mark.parametrize("name", HOST_TESTS)
def test_in_host(verdict: dict[str, Any], name: str) -> None:
    result = next((r for r in verdict["results"] if r["name"] == name), None)
    assert result is not None, f"{name!r} did not run"
    assert result["ok"], result.get("error")
