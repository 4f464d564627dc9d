"""The UI test: Playwright drives code-server's workbench as a person does (editors/vscode/test/ui).

Screenshots of each stage land in test-artifacts/vscode/ui/; docs/images/vscode-run.png is one of
them, committed by hand.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.editors.vscode.harness import (
    ARTIFACTS,
    EXTENSION,
    code_server,
    require_code_server,
    run_node,
)

# `lint` waits for out/go, which the driver creates once it has seen the run's notification.
LINT = (
    "for i in $(seq 600); do [ -e out/go ] && break; sleep 0.1; done; "
    "echo 'src/app.py:1:1: F401 os imported but unused'; exit 1"
)
GOALS_TOML = f"""\
[goals.check]
title = "Lint, and write the editor's tasks"
steps = [
  {{ id = "lint", run = "{LINT}" }},
  {{ id = "tasks", write = ".vscode/tasks.json", content = "{{}}\\n" }},
]

[goals.wait]
title = "Wait for out/never (the person cancels it)"
steps = [
  {{ id = "wait", run = "for i in $(seq 600); do [ -e out/never ] && break; sleep 0.1; done" }},
]
"""


def make_workspace(root: Path) -> Path:
    workspace = root / "project"
    (workspace / ".agent").mkdir(parents=True)
    (workspace / ".agent" / "goals.toml").write_text(GOALS_TOML)
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("import os\n\nprint('hello')\n")
    return workspace


def test_run_goal_through_the_ui(built_extension: None, tmp_path: Path) -> None:
    require_code_server()
    workspace = make_workspace(tmp_path)
    artifacts = ARTIFACTS / "ui"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    with code_server(tmp_path, workspace) as server:
        driver = run_node(
            EXTENSION / "out" / "test" / "ui" / "runGoal.js",
            [server.url(workspace), str(workspace), str(artifacts)],
            tmp_path,
            timeout=300,
        )
    shutil.copy(server.log, artifacts / "code-server.log")
    assert driver.returncode == 0, f"{driver.stdout}\n{driver.stderr}\n(screenshots: {artifacts})"
    assert not (workspace / ".vscode" / "tasks.json").exists(), "the rejected write wrote nothing"
    for stage in ("1-goal-picker", "2-approval", "3-progress", "5-output", "6-problems", "7-plan"):
        assert (artifacts / f"{stage}.png").is_file(), f"no screenshot of {stage}"
    key = re.search(r"^api key (\S+)$", driver.stdout, re.MULTILINE)
    assert key, driver.stdout
    for settings in (tmp_path / "user-data").glob("*/settings.json"):
        assert key.group(1) not in settings.read_text(), f"{settings} holds the API key"
