"""Policy files: rules on parsed commands, who may loosen what, "allow always", listing and
removing rules, and clear errors for a broken file (which never loosens anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.always import allow_always
from engine.gate.base import GateContext
from engine.gate.policy import Policy, PolicyError, Rule, load_policy
from engine.gate.policy_edit import list_rules, remove_rule, save_rules
from engine.gate.rules import RuleGate
from engine.models import RunCliStep
from engine.userdirs import CONFIG_DIR_VAR

USER_FILE = "user-policy.toml"


@pytest.fixture
def files(home_tmp: Path) -> tuple[Path, Path]:
    """(workspace, user policy file)."""
    workspace = home_tmp / "project"
    (workspace / ".agent").mkdir(parents=True)
    (workspace / "README.md").write_text("x\n")
    return workspace, home_tmp / USER_FILE


def verdict(cmd: str, workspace: Path, user_file: Path, **context: object) -> tuple[str, str]:
    policy = load_policy(workspace, user_file)
    gate = RuleGate(GateContext(policy=policy, **context))  # type: ignore[arg-type]
    v = gate.assess(RunCliStep(kind="runCli", cmd=cmd), workspace)
    return v.decision, v.risk.reasons[0]


def test_the_user_file_may_loosen(files: tuple[Path, Path]) -> None:
    workspace, user = files
    assert verdict("curl https://example.com", workspace, user)[0] == "ask"
    user.write_text('[[rule]]\naction = "allow"\ntool = "curl"\n')
    assert verdict("curl https://example.com", workspace, user)[0] == "allow"
    assert verdict("curl https://example.com && wget x", workspace, user)[0] == "ask"


def test_rules_match_subcommands_options_and_paths(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text(
        '[[rule]]\naction = "allow"\ntool = "git"\nsubcommand = "push"\n\n'
        '[[rule]]\naction = "deny"\ntool = "git"\nsubcommand = "push"\noptions = ["--force"]\n\n'
        '[[rule]]\naction = "allow"\ntool = "rm"\npaths = ["src/gen/**"]\n\n'
        '[[rule]]\naction = "ask"\npaths = ["secrets/**"]\n'
    )
    assert verdict("git push origin main", workspace, user)[0] == "allow"
    decision, reason = verdict("git push --force origin main", workspace, user)
    assert decision == "deny" and f"rule 2 of {user}" in reason
    assert verdict("rm src/gen/a.py src/gen/b/c.py", workspace, user)[0] == "allow"
    assert verdict("rm src/gen/a.py src/main.py", workspace, user)[0] == "ask"  # every path
    decision, reason = verdict("cat secrets/key.txt", workspace, user)
    assert decision == "ask" and reason.startswith(f"policy rule 4 of {user} (ask any command")


def test_the_strictest_rule_wins_and_nothing_lowers_critical(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text(
        '[[rule]]\naction = "allow"\ntool = "curl"\n\n[[rule]]\naction = "ask"\ntool = "curl"\n\n'
        '[[rule]]\naction = "allow"\ntool = "rm"\n'
    )
    assert verdict("curl https://example.com", workspace, user)[0] == "ask"
    assert verdict("rm -rf ~", workspace, user)[0] == "deny"
    assert verdict("rm -rf /", workspace, user, mode="trusted", sandbox="bwrap")[0] == "deny"


def test_a_workspace_file_may_only_tighten_unless_trusted(files: tuple[Path, Path]) -> None:
    workspace, user = files
    (workspace / ".agent" / "policy.toml").write_text(
        '[[rule]]\naction = "allow"\ntool = "curl"\n\n[[rule]]\naction = "deny"\ntool = "make"\n'
    )
    assert verdict("make", workspace, user)[0] == "deny"
    assert verdict("curl https://example.com", workspace, user)[0] == "ask"
    policy = load_policy(workspace, user)
    assert [r.tool for r in policy.ignored] == ["curl"] and not policy.trusted
    user.write_text(f"trustedWorkspaces = [{str(workspace)!r}]\n".replace("'", '"'))
    assert load_policy(workspace, user).trusted
    assert verdict("curl https://example.com", workspace, user)[0] == "allow"


def test_user_rules_for_another_workspace_do_not_apply(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text('[[rule]]\naction = "allow"\ntool = "curl"\nworkspace = "/elsewhere"\n')
    assert verdict("curl https://example.com", workspace, user)[0] == "ask"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rule = [", "not valid TOML"),
        ('[[rule]]\naction = "allow"\n', "rule 1: needs key 'tool' or 'paths'"),
        ('[[rule]]\nacton = "allow"\ntool = "x"\n', "rule 1: unknown key 'acton'"),
        ('[[rule]]\naction = "permit"\ntool = "x"\n', "rule 1: key 'action' must be one of"),
        ('[[rule]]\naction = "allow"\ntool = ""\n', "rule 1: key 'tool' must be a non-empty"),
        ('[[rule]]\naction = "allow"\ntool = "x"\noptions = "-f"\n', "key 'options' must be"),
        (
            '[[rule]]\naction = "deny"\ntool = "x"\n[[rule]]\naction = 1\ntool = "y"\n',
            "rule 2: key 'action'",
        ),
        ('[[rule]]\naction = "allow"\ntool = "x"\nworkspace = "rel"\n', "absolute path"),
        ('trustedWorkspaces = "/x"\n', "'trustedWorkspaces' must be a list"),
        ("[rules]\n", "unknown key 'rules'"),
    ],
)
def test_a_broken_user_file_is_named_and_makes_every_step_ask(
    files: tuple[Path, Path], text: str, message: str
) -> None:
    workspace, user = files
    user.write_text(text)
    policy = load_policy(workspace, user)
    assert len(policy.errors) == 1 and str(user) in policy.errors[0]
    assert message in policy.errors[0], policy.errors
    decision, reason = verdict("ls", workspace, user)
    assert decision == "ask" and reason.startswith("policy file broken, so every step asks")
    assert verdict("rm -rf /", workspace, user)[0] == "deny"
    with pytest.raises(PolicyError, match=message):
        list_rules(user)


def test_a_broken_workspace_file_never_loosens(files: tuple[Path, Path]) -> None:
    workspace, user = files
    (workspace / ".agent" / "policy.toml").write_text('[[rule]]\naction = "deny"\ntool = "ls"\nx=1')
    policy = load_policy(workspace, user)
    assert "policy.toml: rule 1: unknown key 'x'" in policy.errors[0]
    assert verdict("ls", workspace, user)[0] == "ask"
    (workspace / ".agent" / "policy.toml").write_text(f'trustedWorkspaces = ["{workspace}"]\n')
    assert "belongs in the user's policy file" in load_policy(workspace, user).errors[0]


def test_allow_always_saves_a_precise_rule_that_survives_a_restart(
    files: tuple[Path, Path],
) -> None:
    workspace, user = files
    user.write_text("# my rules\n")
    gate = RuleGate(GateContext(policy=load_policy(workspace, user)))
    asked = gate.assess(RunCliStep(kind="runCli", cmd="git push origin main"), workspace)
    assert asked.decision == "ask"
    saved = save_rules(allow_always(asked, workspace, note="allow always").rules, user)
    assert [(r.tool, r.subcommand, r.workspace, r.index) for r in saved] == [
        ("git", "push", str(workspace.resolve()), 1)
    ]
    assert user.read_text().startswith("# my rules\n")
    # a new gate (a restart) reads the rule back
    assert verdict("git push origin main", workspace, user)[0] == "allow"
    assert verdict("git push --force", workspace, user)[0] == "allow"  # that tool+subcommand
    assert verdict("git fetch --upload-pack=x", workspace, user)[0] == "ask"  # another
    assert save_rules(allow_always(asked, workspace).rules, user) == []  # already there


def test_allow_always_pins_code_to_its_file_or_refuses(files: tuple[Path, Path]) -> None:
    workspace, _ = files
    gate = RuleGate()
    script = gate.assess(RunCliStep(kind="runCli", cmd="bash scripts/check.sh"), workspace)
    rules = allow_always(script, workspace).rules
    assert [(r.tool, r.paths) for r in rules] == [("bash", ("scripts/check.sh",))]
    inline = gate.assess(RunCliStep(kind="runCli", cmd="python3 -c 'print(1)'"), workspace)
    result = allow_always(inline, workspace)
    assert result.rules == () and result.unsaved == ("python3 -c print(1)",)
    computed = gate.assess(RunCliStep(kind="runCli", cmd="$CMD x"), workspace)
    assert allow_always(computed, workspace).rules == ()


def test_list_and_remove_rules_keep_the_rest_of_the_file(files: tuple[Path, Path]) -> None:
    _, user = files
    user.write_text(
        "# keep me\ntrustedWorkspaces = []\n\n"
        '[[rule]]\naction = "allow"\ntool = "a"\n\n'
        '[[rule]] # second\naction = "deny"\ntool = "b"\nnote = "no"\n\n'
        '[[rule]]\naction = "ask"\ntool = "c"\n'
    )
    assert [r.tool for r in list_rules(user)] == ["a", "b", "c"]
    removed = remove_rule(2, user)
    assert (removed.tool, removed.note) == ("b", "no")
    assert [(r.tool, r.index) for r in list_rules(user)] == [("a", 1), ("c", 2)]
    assert user.read_text().startswith("# keep me\ntrustedWorkspaces = []\n")
    with pytest.raises(PolicyError, match="there is no rule 5"):
        remove_rule(5, user)


def test_saving_into_a_broken_file_is_refused(files: tuple[Path, Path]) -> None:
    _, user = files
    user.write_text("rule = [")
    with pytest.raises(PolicyError, match="not valid TOML"):
        save_rules([Rule("allow", "curl")], user)
    assert user.read_text() == "rule = ["


def test_the_default_user_file_lives_in_the_config_dir(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, home_tmp: Path
) -> None:
    workspace, _ = files
    monkeypatch.delenv(CONFIG_DIR_VAR)  # the suite's own (tests/conftest.py)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home_tmp / "config"))
    saved = save_rules([Rule("allow", "curl", workspace=str(workspace))])
    path = home_tmp / "config" / "agentd" / "policy.toml"
    assert saved[0].source == str(path) and path.is_file()
    assert load_policy(workspace) != Policy()


def test_a_rule_about_a_tool_does_not_cover_its_redirections(files: tuple[Path, Path]) -> None:
    workspace, user = files
    user.write_text(
        '[[rule]]\naction = "allow"\ntool = "echo"\n\n[[rule]]\naction = "deny"\n'
        'paths = ["secrets/**"]\n'
    )
    assert verdict("echo x > /tmp/x", workspace, user)[0] == "ask"
    assert verdict("echo x > secrets/key", workspace, user)[0] == "deny"  # its paths count
