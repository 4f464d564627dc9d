"""Approvals without a terminal: --yes and --no choose an option, nobody chooses without a
terminal, and how each ask was settled is kept for the step's line."""

from __future__ import annotations

import io
from typing import Any

from server.cli.prompt import ApprovalClock, Approver
from server.cli.render import Renderer

OPTIONS = [
    {"optionId": "a1", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "r1", "name": "Reject", "kind": "reject_once"},
]
STEP = {"id": "s1", "kind": "runCli", "cmd": "rm -f x", "status": "awaitingApproval"}
ASK: dict[str, Any] = {"runId": "r", "step": STEP, "risk": {}, "options": OPTIONS}


async def test_flags_choose_and_nobody_chooses_without_a_terminal() -> None:
    notes = io.StringIO()
    yes = Approver("allow", interactive=True, renderer=Renderer(err=notes))
    no = Approver("reject", interactive=True, renderer=Renderer(err=notes))
    nobody = Approver(None, interactive=False, renderer=Renderer(err=notes))
    assert await yes.request_permission(ASK) == {"outcome": "selected", "optionId": "a1"}
    assert await no.request_permission(ASK) == {"outcome": "selected", "optionId": "r1"}
    assert await nobody.request_permission(ASK) == {"outcome": "cancelled"}  # nobody chose
    assert await no.request_permission(ASK | {"options": []}) == {"outcome": "cancelled"}
    assert yes.renderer.facts.approvals == {"s1": "approved by --yes"}
    assert no.renderer.facts.approvals == {"s1": "rejected by --no"}
    assert nobody.renderer.facts.approvals == {
        "s1": "rejected: no terminal to ask (use --yes or --no)"
    }
    assert "rejected (no terminal to ask; use --yes or --no): s1 rm -f x" in notes.getvalue()


async def test_the_message_request_fallback() -> None:
    actions = {"message": "run rm?", "actions": [{"title": "Allow once"}, {"title": "Reject"}]}
    quiet = Renderer(err=io.StringIO())
    assert await Approver("allow", interactive=True, renderer=quiet).show_message_request(
        actions
    ) == {"title": "Allow once"}
    assert await Approver("reject", interactive=True, renderer=quiet).show_message_request(
        actions
    ) == {"title": "Reject"}
    nobody = Approver(None, interactive=False, renderer=quiet)
    assert await nobody.show_message_request(actions) is None  # dismissed


def test_the_time_limit_is_named_with_its_setting() -> None:
    assert ApprovalClock(limit_ms=90_000).phrase() == (
        "the 1 min 30 s approval time limit (--approval-timeout-ms, setting "
        "agent.approvalTimeoutMs)"
    )
    assert ApprovalClock().phrase().startswith("the approval time limit (")
