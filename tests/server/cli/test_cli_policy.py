"""`agentd revert`, `agentd policy` and `agentd run --mode` as a script runs them: real runs,
real files, each test with a policy file of its own (AGENTD_CONFIG_DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.userdirs import CONFIG_DIR_VAR
from tests.server.cli.cli_helpers import ENV, agentd, run_json


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment, with a policy file of this test's own."""
    env = {**ENV, CONFIG_DIR_VAR: str(tmp_path / "config")}
    monkeypatch.setitem(ENV, CONFIG_DIR_VAR, env[CONFIG_DIR_VAR])  # also for run_json
    return env


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("mine\n")
    (ws / "pyproject.toml").write_text('[project]\nname = "ws"\nversion = "0"\n')
    return ws


def test_revert_puts_back_the_last_run(workspace: Path, env: dict[str, str]) -> None:
    code, result = run_json(
        "--step", "echo theirs > notes.txt && echo new > new.txt", cwd=workspace
    )
    assert code == 0 and (workspace / "notes.txt").read_text() == "theirs\n"
    done = agentd("revert", "last", cwd=workspace, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Reverted run {result['runId']}: 2 files put back as before.",
        "  restored  new.txt",
        "  restored  notes.txt",
    ]
    assert (workspace / "notes.txt").read_text() == "mine\n" and not (
        workspace / "new.txt"
    ).exists()
    again = agentd("revert", result["runId"], "--json", cwd=workspace, env=env)
    assert again.returncode == 0
    assert json.loads(again.stdout) == {
        "runId": result["runId"],
        "restored": [],
        "conflicts": [],
        "skipped": [],
    }
    assert "nothing to put back" in agentd("revert", "-1", cwd=workspace, env=env).stdout


def test_revert_exits_1_when_a_file_changed_since(workspace: Path, env: dict[str, str]) -> None:
    run_json("--step", "echo theirs > notes.txt && touch new.txt", cwd=workspace)
    (workspace / "notes.txt").write_text("edited again by me\n")
    done = agentd("revert", "last", cwd=workspace, env=env)
    assert done.returncode == 1
    assert "  changed since the run, left as it is: notes.txt" in done.stdout
    assert "  restored  new.txt" in done.stdout
    assert (workspace / "notes.txt").read_text() == "edited again by me\n"


def test_revert_errors_exit_2(workspace: Path, env: dict[str, str]) -> None:
    none_yet = agentd("revert", "last", cwd=workspace, env=env)
    assert none_yet.returncode == 2 and "no runs yet" in none_yet.stderr
    reading = run_json("--step", "cat notes.txt", cwd=workspace)[1]
    done = agentd("revert", reading["runId"], cwd=workspace, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(f"agentd: run {reading['runId']!r} has no checkpoint: none")
    assert agentd("revert", cwd=workspace, env=env).returncode == 2  # RUN is required


def test_policy_list_remove_trust_and_untrust(workspace: Path, env: dict[str, str]) -> None:
    user = Path(env[CONFIG_DIR_VAR]) / "policy.toml"
    empty = agentd("policy", "list", cwd=workspace, env=env)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.splitlines()[:3] == [
        f'Your policy file: {user} (none yet: "allow always" answers create it)',
        "  no rules",
        "Trusted workspaces: none",
    ]
    user.parent.mkdir()
    user.write_text(
        '# mine\n[[rule]]\naction = "allow"\ntool = "curl"\n\n'
        '[[rule]]\naction = "deny"\ntool = "npm"\nsubcommand = "publish"\nnote = "never"\n'
    )
    (workspace / ".agent").mkdir()
    (workspace / ".agent" / "policy.toml").write_text('[[rule]]\naction = "allow"\ntool = "ssh"\n')
    listed = agentd("policy", "list", cwd=workspace, env=env).stdout
    assert "  1. allow curl\n  2. deny npm publish  # never\n" in listed
    assert "  1. allow ssh  (ignored: not trusted)" in listed
    assert listed.rstrip().endswith("Rules in force here: 2")

    trusted = agentd("policy", "trust", cwd=workspace, env=env)
    assert trusted.returncode == 0
    assert trusted.stdout.startswith(f"Trusted: {workspace.resolve()} (saved in {user})")
    assert "now in force: allow ssh" in trusted.stdout
    report = json.loads(agentd("policy", "list", "--json", cwd=workspace, env=env).stdout)
    assert report["trustedWorkspaces"] == [str(workspace.resolve())]
    assert report["workspace"]["trusted"] is True and report["rulesInForce"] == 3
    assert [r["description"] for r in report["rules"]] == ["allow curl", "deny npm publish"]

    removed = agentd("policy", "remove", "1", cwd=workspace, env=env)
    assert removed.stdout == f"Removed rule 1 of {user}: allow curl\n"
    assert user.read_text().startswith("# mine\n")
    missing = agentd("policy", "remove", "5", cwd=workspace, env=env)
    assert missing.returncode == 2 and "there is no rule 5 (it has 1)" in missing.stderr

    untrusted = agentd("policy", "untrust", str(workspace), cwd=workspace, env=env)
    assert untrusted.stdout.startswith("No longer trusted: ")
    again = agentd("policy", "untrust", cwd=workspace, env=env)
    assert again.returncode == 0 and again.stdout.startswith("Was not trusted: ")
    assert agentd("policy", "frobnicate", cwd=workspace, env=env).returncode == 2


def test_a_broken_policy_file_is_named_by_list_and_doctor(
    workspace: Path, env: dict[str, str]
) -> None:
    user = Path(env[CONFIG_DIR_VAR]) / "policy.toml"
    user.parent.mkdir()
    user.write_text('[[rule]]\nacton = "allow"\n')
    listed = agentd("policy", "list", cwd=workspace, env=env)
    assert listed.returncode == 1
    assert f"agentd: {user}: rule 1: unknown key 'acton'" in listed.stderr
    doctor = agentd("doctor", cwd=workspace, env=env)
    assert doctor.returncode == 1
    assert f"problem: policy: {user}: rule 1: unknown key 'acton'" in doctor.stdout
    user.write_text('[[rule]]\naction = "allow"\ntool = "curl"\n')
    healthy = agentd("doctor", cwd=workspace, env=env)
    assert healthy.returncode == 0 and "policy rules: 1 in force here" in healthy.stdout


def test_run_mode_trusted_allows_what_a_revert_can_undo(
    workspace: Path, env: dict[str, str]
) -> None:
    code, result = run_json("--step", "rm notes.txt", "--mode", "trusted", cwd=workspace)
    assert code == 0 and not (workspace / "notes.txt").exists()
    assert result["results"][0]["reliedOn"][0].startswith("trusted session, revertible")
    assert agentd("revert", "last", cwd=workspace, env=env).returncode == 0
    assert (workspace / "notes.txt").read_text() == "mine\n"
    code, result = run_json("--step", "touch x", "--mode", "readOnly", cwd=workspace)
    assert code == 1 and result["results"][0]["status"] == "rejected"  # nobody to ask here
