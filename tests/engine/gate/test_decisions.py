"""Decisions for the session: mode (readOnly, default, trusted), the sandbox in effect (off,
bwrap, landlock), what the verdict says it relied on, and the widenings a step needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.base import Gate, GateContext, Sandbox, SessionMode
from engine.gate.rules import RuleGate
from engine.models import Decision, RunCliStep, WriteFileStep


def decide(cmd: str, workspace: Path, **context: object) -> Decision:
    gate = RuleGate(GateContext(**context))  # type: ignore[arg-type]
    return gate.assess(RunCliStep(kind="runCli", cmd=cmd), workspace).decision


def test_the_default_gate_is_unsandboxed_default_mode(workspace: Path) -> None:
    gate: Gate = RuleGate()
    decisions = {
        "ls": "allow",
        "pytest -q": "allow",
        "curl https://example.com": "ask",
        "setsid sleep 300 &": "ask",
        "$x": "ask",
        "rm -rf /": "deny",
    }
    for cmd, decision in decisions.items():
        verdict = gate.assess(RunCliStep(kind="runCli", cmd=cmd), workspace)
        assert verdict.decision == decision, (cmd, verdict)
        assert verdict.relied_on == ()


# (command, readOnly, default, trusted) decisions, unsandboxed and in bwrap
MODES = [
    ("ls", ("allow",) * 3, ("allow",) * 3),
    ("echo x > out.txt", ("ask", "allow", "allow"), ("ask", "allow", "allow")),
    ("pytest -q", ("ask", "allow", "allow"), ("ask", "allow", "allow")),
    ("frobnicate", ("ask", "ask", "ask"), ("ask", "allow", "allow")),
    ("rm file.txt", ("ask", "ask", "allow"), ("ask", "ask", "allow")),
    ("git reset --hard", ("ask", "ask", "allow"), ("ask", "ask", "allow")),
    ("curl https://example.com", ("ask", "ask", "ask"), ("ask", "ask", "allow")),
    ("cat ~/.ssh/id_rsa", ("ask", "ask", "ask"), ("ask", "ask", "allow")),
    ("$CMD", ("ask",) * 3, ("ask",) * 3),
    ("rm -rf ~", ("deny",) * 3, ("deny",) * 3),
]


@pytest.mark.parametrize(("cmd", "off", "bwrap"), MODES)
def test_session_modes(
    cmd: str, off: tuple[str, ...], bwrap: tuple[str, ...], workspace: Path
) -> None:
    modes: tuple[SessionMode, ...] = ("readOnly", "default", "trusted")
    sandboxes: tuple[Sandbox, ...] = ("off", "bwrap")
    for sandbox, expected in zip(sandboxes, (off, bwrap), strict=True):
        got = tuple(decide(cmd, workspace, mode=m, sandbox=sandbox) for m in modes)
        assert got == expected, (cmd, sandbox)


def test_trusted_never_lowers_a_denial_and_read_only_asks_for_writes(workspace: Path) -> None:
    for mode in ("readOnly", "default", "trusted"):
        assert decide(":(){ :|:& };:", workspace, mode=mode, sandbox="bwrap") == "deny"
    step = WriteFileStep(kind="writeFile", path="out/x.txt", content="x")
    read_only = RuleGate(GateContext(mode="readOnly"))
    assert read_only.assess(step, workspace).decision == "ask"
    assert RuleGate().assess(step, workspace).decision == "allow"


def test_landlock_holds_files_not_processes(workspace: Path) -> None:
    """Landlock confines files; only bubblewrap's PID namespace holds signals and detaching."""
    assert decide("frobnicate", workspace, sandbox="landlock") == "allow"
    assert decide("kill 1234", workspace, sandbox="landlock") == "ask"
    assert decide("kill 1234", workspace, sandbox="bwrap") == "allow"
    assert decide("setsid -f sleep 300", workspace, sandbox="landlock") == "ask"


def test_the_verdict_says_what_it_relied_on(workspace: Path) -> None:
    gate = RuleGate(GateContext(sandbox="bwrap"))
    verdict = gate.assess(RunCliStep(kind="runCli", cmd="frobnicate && ls"), workspace)
    assert verdict.decision == "allow"
    assert verdict.relied_on == ("the bwrap sandbox holds: unrecognised command 'frobnicate'",)
    trusted = RuleGate(GateContext(mode="trusted"))
    verdict = trusted.assess(RunCliStep(kind="runCli", cmd="rm file.txt"), workspace)
    assert verdict.relied_on == ("trusted session, revertible: rm deletes file.txt inside the "
                                 "workspace",)  # fmt: skip


@pytest.mark.parametrize(
    ("cmd", "widenings"),
    [
        ("ls", set()),
        ("npm ci", {"network"}),
        ("cargo test", {"network"}),
        ("curl https://example.com", {"network"}),
        ("git commit -m x", {"gitWrite"}),
        ("git add . && git commit -m x", {"gitWrite"}),
        ("git fetch", {"network", "gitWrite"}),
        ("git push", {"network", "gitWrite"}),
        ("git clone https://example.com/x.git", {"network"}),
        ("git status", set()),
        ("pytest -q", set()),
    ],
)
def test_widenings(cmd: str, widenings: set[str], workspace: Path) -> None:
    verdict = RuleGate().assess(RunCliStep(kind="runCli", cmd=cmd), workspace)
    assert verdict.widenings == widenings


def test_sandboxed_steps_that_need_a_widening_the_sandbox_grants(workspace: Path) -> None:
    """Medium steps run with what they need (npm ci gets the network); a high one that needs
    the network asks, since the network is what the sandbox would otherwise hold back."""
    gate = RuleGate(GateContext(sandbox="bwrap"))
    ci = gate.assess(RunCliStep(kind="runCli", cmd="npm ci"), workspace)
    assert ci.decision == "allow" and ci.widenings == {"network"}
    push = gate.assess(RunCliStep(kind="runCli", cmd="git push"), workspace)
    assert push.decision == "ask" and push.widenings == {"network", "gitWrite"}


def test_commands_and_asking_parts(workspace: Path) -> None:
    verdict = RuleGate().assess(
        RunCliStep(kind="runCli", cmd="ls -l src && git push origin main && curl -s x"),
        workspace,
    )
    tools = [(c.tool, c.subcommand) for c in verdict.commands]
    assert tools == [("ls", None), ("git", "push"), ("curl", None)]
    assert verdict.commands[0].options == {"-l"} and verdict.commands[0].paths == ("src",)
    assert sorted(verdict.commands[i].tool for i in verdict.asking) == ["curl", "git"]
