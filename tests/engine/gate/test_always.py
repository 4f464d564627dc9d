""" "Always" answers as rules (engine.gate.always): deny rules for "reject always", what the
rules say about a step that asked, and saving them, with real policy files."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.always import reject_always, save_always, settled_by
from engine.gate.base import GateContext, Verdict
from engine.gate.policy import PolicyError, load_policy
from engine.gate.rules import RuleGate
from engine.models import RunCliStep


@pytest.fixture
def files(home_tmp: Path) -> tuple[Path, Path]:
    """(workspace, user policy file)."""
    workspace = home_tmp / "project"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("x\n")
    return workspace, home_tmp / "policy.toml"


def assess(cmd: str, workspace: Path, user: Path) -> Verdict:
    gate = RuleGate(GateContext(policy=load_policy(workspace, user)))
    return gate.assess(RunCliStep(kind="runCli", cmd=cmd), workspace)


def test_reject_always_denies_that_command_on_the_paths_it_names(
    files: tuple[Path, Path],
) -> None:
    workspace, user = files
    asked = assess("rm notes.txt", workspace, user)
    assert asked.decision == "ask"
    rules, unsaved = save_always(asked, workspace, allowed=False, note="reject always", path=user)
    root = str(workspace.resolve())
    assert [(r.action, r.tool, r.paths, r.workspace) for r in rules] == [
        ("deny", "rm", ("notes.txt",), root)
    ]
    assert unsaved == ()
    assert assess("rm notes.txt", workspace, user).decision == "deny"
    assert assess("rm -f notes.txt other.txt", workspace, user).decision == "deny"
    assert assess("rm -rf build", workspace, user).decision == "allow"  # not collateral damage
    push = assess("git push origin main", workspace, user)
    (rule,) = reject_always(push, workspace).rules
    assert (rule.action, rule.tool, rule.subcommand, rule.paths) == ("deny", "git", "push", ())


def test_reject_always_cannot_pin_inline_code(files: tuple[Path, Path]) -> None:
    workspace, user = files
    inline = assess("python3 -c 'print(1)'", workspace, user)
    rules, unsaved = save_always(inline, workspace, allowed=False, path=user)
    assert rules == [] and unsaved == ("python3 -c print(1)",)
    assert not user.exists()  # nothing to save: the file is not even created


def test_a_rule_saved_since_the_plan_settles_the_ask(files: tuple[Path, Path]) -> None:
    workspace, user = files
    asked = assess("rm notes.txt && curl https://example.com", workspace, user)
    assert asked.decision == "ask" and len(asked.asking) == 2
    assert settled_by(asked, load_policy(workspace, user), workspace) is None
    user.write_text('[[rule]]\naction = "allow"\ntool = "rm"\n')
    # one of the two commands that asked is allowed now: still a person's call
    assert settled_by(asked, load_policy(workspace, user), workspace) is None
    user.write_text(user.read_text() + '\n[[rule]]\naction = "allow"\ntool = "curl"\n')
    action, rules = settled_by(asked, load_policy(workspace, user), workspace) or ("", ())
    assert action == "allow" and [r.tool for r in rules] == ["rm", "curl"]
    user.write_text(user.read_text() + '\n[[rule]]\naction = "deny"\ntool = "curl"\n')
    action, rules = settled_by(asked, load_policy(workspace, user), workspace) or ("", ())
    assert action == "deny" and [r.index for r in rules] == [3]


def test_a_broken_policy_settles_nothing(files: tuple[Path, Path]) -> None:
    workspace, user = files
    asked = assess("curl https://example.com", workspace, user)
    user.write_text('[[rule]]\naction = "allow"\ntool = "curl"\nextra = 1\n')
    assert settled_by(asked, load_policy(workspace, user), workspace) is None
    with pytest.raises(PolicyError, match="unknown key 'extra'"):
        save_always(asked, workspace, allowed=True, path=user)
    assert "extra = 1" in user.read_text()  # untouched
