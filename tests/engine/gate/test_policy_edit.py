"""Changing the user's policy file (engine.gate.policy_edit): trusting workspaces keeps the rest
of the file, a broken file is never touched, and changes made at once lose nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.gate.policy import PolicyError, Rule, load_policy
from engine.gate.policy_edit import list_rules, list_trusted, save_rules, set_trusted

USER_FILE = """\
# my agentd rules
trustedWorkspaces = [
  "/somewhere/else",  # a comment inside the array
]

[[rule]]
action = "allow"
tool = "curl"
"""


@pytest.fixture
def files(home_tmp: Path) -> tuple[Path, Path]:
    """(workspace with an allow rule of its own, user policy file)."""
    workspace = home_tmp / "project"
    (workspace / ".agent").mkdir(parents=True)
    (workspace / ".agent" / "policy.toml").write_text('[[rule]]\naction = "allow"\ntool = "ssh"\n')
    return workspace, home_tmp / "policy.toml"


def test_trusting_a_workspace_lets_its_own_file_loosen(files: tuple[Path, Path]) -> None:
    workspace, user = files
    root = str(workspace.resolve())
    assert [r.tool for r in load_policy(workspace, user).ignored] == ["ssh"]
    assert set_trusted(workspace, True, user) is True
    assert list_trusted(user) == [root]
    policy = load_policy(workspace, user)
    assert policy.trusted and [r.tool for r in policy.rules] == ["ssh"]
    assert set_trusted(workspace, True, user) is False  # already
    assert set_trusted(workspace, False, user) is True
    assert list_trusted(user) == [] and "trustedWorkspaces" not in user.read_text()
    assert set_trusted(workspace, False, user) is False


def test_trusting_keeps_the_rest_of_the_file(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text(USER_FILE)
    set_trusted(workspace, True, user)
    text = user.read_text()
    assert text.startswith("# my agentd rules\ntrustedWorkspaces = [")
    assert list_trusted(user) == ["/somewhere/else", str(workspace.resolve())]
    assert [(r.action, r.tool) for r in list_rules(user)] == [("allow", "curl")]
    set_trusted(Path("/somewhere/else"), False, user)  # a folder that no longer exists
    assert list_trusted(user) == [str(workspace.resolve())]
    assert text.split("[[rule]]")[1] == user.read_text().split("[[rule]]")[1]


def test_a_trusted_list_goes_before_the_first_table(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text('# rules\n[[rule]]\naction = "deny"\ntool = "npm"\n')
    set_trusted(workspace, True, user)
    assert user.read_text().index("trustedWorkspaces") < user.read_text().index("[[rule]]")
    assert [r.tool for r in list_rules(user)] == ["npm"]


def test_a_broken_file_is_not_touched(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text("trustedWorkspaces = 'not a list'\n")
    with pytest.raises(PolicyError, match="must be a list of folder paths"):
        set_trusted(workspace, True, user)
    assert user.read_text() == "trustedWorkspaces = 'not a list'\n"


def test_saves_at_once_lose_no_rule(files: tuple[Path, Path]) -> None:
    _, user = files
    tools = [f"tool{i}" for i in range(16)]
    start = threading.Barrier(len(tools))

    def save(tool: str) -> None:
        start.wait()
        save_rules([Rule("allow", tool, workspace="/w")], user)

    threads = [threading.Thread(target=save, args=(tool,)) for tool in tools]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.tool or "" for r in list_rules(user)) == sorted(tools)
