"""The session's approvals (server/core/approvals.py) with a scripted asker and real policy
files: where an "always" answer goes when it can be saved, and when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.events import ApprovalRequest
from engine.gate.rules import RuleGate
from engine.models import RunCliStep, StepResult, WriteFileStep
from engine.userdirs import CONFIG_DIR_VAR
from engine.vocab import PermissionKind
from server.core.approvals import Approvals


class Scripted:
    """An asker that always chooses ``answer`` and counts how often it was asked."""

    def __init__(self, answer: PermissionKind) -> None:
        self.answer: PermissionKind = answer
        self.asked = 0

    def mechanism(self) -> str:
        return "scripted"

    async def ask(self, request: ApprovalRequest) -> PermissionKind | None:
        self.asked += 1
        return self.answer


def request(step: RunCliStep | WriteFileStep, workspace: Path) -> ApprovalRequest:
    verdict = RuleGate().assess(step, workspace)
    assert verdict.decision == "ask"
    result = StepResult.model_construct(
        id="s1",
        kind=step.kind,
        cmd=getattr(step, "cmd", None),
        path=getattr(step, "path", None),
        risk=verdict.risk,
        decision="ask",
        status="awaitingApproval",
    )
    return ApprovalRequest("run-1", result, verdict.risk, verdict)


def read(path: Path) -> str | None:
    """A file's text, None when absent (sync: the async tests stay free of blocking calls)."""
    return path.read_text() if path.exists() else None


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CONFIG_DIR_VAR, str(tmp_path / "config"))
    return tmp_path / "config" / "policy.toml"


async def test_a_write_is_remembered_for_the_session_only(tmp_path: Path, user_file: Path) -> None:
    asker = Scripted("allow_always")
    approvals = Approvals(asker)
    write = WriteFileStep(kind="writeFile", path=".vscode/tasks.json", content="{}")
    first = await approvals.ask(request(write, tmp_path), tmp_path)
    assert (first.allowed, first.saved, first.unsaved) == (True, (), ("write .vscode/tasks.json",))
    assert read(user_file) is None
    again = await approvals.ask(request(write, tmp_path), tmp_path)
    assert (again.by, asker.asked) == ("session", 1)


@pytest.fixture
def broken(user_file: Path) -> Path:
    user_file.parent.mkdir()
    user_file.write_text("[[rule]]\nacton = 'allow'\n")
    return user_file


async def test_a_broken_user_file_keeps_the_answer_for_the_session(
    tmp_path: Path, broken: Path
) -> None:
    asker = Scripted("reject_always")
    approvals = Approvals(asker)
    rm = RunCliStep(kind="runCli", cmd="rm notes.txt")
    first = await approvals.ask(request(rm, tmp_path), tmp_path)
    assert (first.allowed, first.saved, first.unsaved) == (False, (), ("rm notes.txt",))
    assert "not saved" in first.detail and "unknown key 'acton'" in first.detail
    assert read(broken) == "[[rule]]\nacton = 'allow'\n"  # untouched
    again = await approvals.ask(request(rm, tmp_path), tmp_path)
    assert (again.allowed, again.by, asker.asked) == (False, "session", 1)


async def test_a_saved_rule_settles_the_next_ask_without_asking(
    tmp_path: Path, user_file: Path
) -> None:
    root = str(tmp_path)  # pytest's tmp_path is already a real path
    asker = Scripted("allow_always")
    approvals = Approvals(asker)
    first = await approvals.ask(
        request(RunCliStep(kind="runCli", cmd="rm a.txt"), tmp_path), tmp_path
    )
    (saved,) = first.saved
    assert saved == f"rule 1 of {user_file}: allow rm in {root}"
    other = await approvals.ask(
        request(RunCliStep(kind="runCli", cmd="rm -f b.txt"), tmp_path), tmp_path
    )
    assert (other.allowed, other.by, asker.asked) == (True, "policy", 1)
    assert other.detail == f"settled by rule 1 of {user_file} (allow rm in {root})"
