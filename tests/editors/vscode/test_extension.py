"""The extension's own checks: manifest, lint, unit tests (node --test), and the packaged .vsix."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.editors.vscode.harness import (
    CODE_SERVER,
    EXTENSION,
    require_code_server,
    run_checked,
    temp_env,
)

# The server's command names (executeCommandProvider): vscode-languageclient registers these
# itself, so the extension's palette commands must not reuse them.
SERVER_COMMANDS = {"agent/runGoal", "agent/plan", "agent/cancel", "agent/listGoals", "agent/trace"}
PALETTE = [
    "agentd.runGoal",
    "agentd.planGoal",
    "agentd.cancelRun",
    "agentd.showTrace",
    "agentd.revertRun",
    "agentd.restartServer",
    "agentd.setApiKey",
]


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXTENSION / "package.json").read_text())
    return data


def test_manifest_points_at_the_built_bundle_and_an_old_enough_vscode(
    built_extension: None,
) -> None:
    data = manifest()
    assert (EXTENSION / data["main"]).is_file(), "npm run build makes `main` exist"
    match = re.fullmatch(r"\^1\.(\d+)\.\d+", data["engines"]["vscode"])
    assert match and int(match.group(1)) <= 100, data["engines"]["vscode"]
    assert data["devDependencies"]["@vscode/vsce"] == "3.7.1"  # the newest that runs on Node 20


def test_commands_and_settings_are_contributed_and_documented() -> None:
    contributes = manifest()["contributes"]
    ids = {command["command"] for command in contributes["commands"]}
    assert set(PALETTE) <= ids
    assert not ids & SERVER_COMMANDS
    assert all(command["category"] == "Agent" for command in contributes["commands"])
    readme = (EXTENSION / "README.md").read_text()
    for name, setting in contributes["configuration"]["properties"].items():
        assert setting.get("markdownDescription"), f"{name} has a description"
        assert f"`{name}`" in readme, f"{name} is in editors/vscode/README.md"


def test_lint(built_extension: None) -> None:
    run_checked(["npm", "run", "--silent", "lint"], EXTENSION, timeout=300)


def test_unit_tests(built_extension: None) -> None:
    proc = run_checked(["npm", "test", "--silent"], EXTENSION, timeout=120)
    assert re.search(r"^# fail 0$", proc.stdout, re.MULTILINE), proc.stdout
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, proc.stdout


def test_package_builds_a_vsix_that_installs(built_extension: None, tmp_path: Path) -> None:
    require_code_server()
    run_checked(["npm", "run", "--silent", "package"], EXTENSION, timeout=300)
    vsix = EXTENSION / "dist" / "agentd.vsix"
    assert vsix.is_file()
    extensions = tmp_path / "extensions"
    argv = [
        "node",
        str(CODE_SERVER / "out" / "node" / "entry.js"),
        f"--extensions-dir={extensions}",
        f"--user-data-dir={tmp_path / 'user-data'}",
        "--install-extension",
        str(vsix),
    ]
    proc = subprocess.run(
        argv,
        env=temp_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = json.loads((extensions / "agentd.agentd-0.1.0" / "package.json").read_text())
    assert installed["main"] == manifest()["main"]
    assert (extensions / "agentd.agentd-0.1.0" / "dist" / "extension.js").is_file()
    # The packaged bundle is the minified one; the next build restores the test bundle.
    run_checked(["npm", "run", "build"], EXTENSION, timeout=300)
