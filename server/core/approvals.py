"""Approvals for any front-end: ask the user through the front-end's ``Asker``, keep "always".

The engine calls ``ask`` for a step whose decision is ``ask``; the answer is one of the permission
options (``allow_once``, ``allow_always``, ``reject_once``, ``reject_always``) or nothing (the
prompt was dismissed). An "always" answer is saved as precise rules in the user's policy file
(``engine.gate.always``: allow, or deny, that tool and subcommand in that workspace), so it holds
in later runs and sessions; what no rule can pin down (inline code, a computed command) is
remembered for the session per (workspace, step line: the exact command, or ``write <path>``),
and a later identical ask resolves at once (``by: "session"``). Before asking, a step is checked
against the rules as they are now: one that a rule saved since its plan allows or denies is
settled at once (``by: "policy"``).
The engine cancels ``ask`` on its approval timeout or when the run is cancelled; the front-end then
withdraws its pending prompt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from engine.events import ApprovalOutcome, ApprovalRequest
from engine.vocab import PermissionKind

log = logging.getLogger(__name__)

OPTION_NAMES: dict[PermissionKind, str] = {  # optionId (== kind) -> name shown to the user
    "allow_once": "Allow once",
    "allow_always": "Allow always",
    "reject_once": "Reject",
    "reject_always": "Reject always",
}


class AskFailed(Exception):
    """Asking failed: ``by`` says how (``unavailable``: the client refused or could not be asked;
    ``error``: its answer did not fit the protocol)."""

    def __init__(self, by: str, detail: str) -> None:
        super().__init__(detail)
        self.by = by
        self.detail = detail


class Asker(Protocol):
    """How a front-end puts an approval to its user."""

    def mechanism(self) -> str:
        """A name for how this client is asked (``none`` when it cannot be)."""

    async def ask(self, request: ApprovalRequest) -> PermissionKind | None:
        """The option the user chose, or None when the prompt was dismissed; raises AskFailed."""


class Approvals:
    """The session's approvals: remembered answers, then the front-end's asker."""

    def __init__(self, asker: Asker) -> None:
        self._asker = asker
        self._remembered: dict[tuple[Path, str], bool] = {}  # (workspace, line) -> allowed

    def mechanism(self) -> str:
        return self._asker.mechanism()

    def asker(self, workspace: Path) -> Callable[[ApprovalRequest], Awaitable[ApprovalOutcome]]:
        """The engine's ``ask`` callback for runs in ``workspace``."""

        async def ask(request: ApprovalRequest) -> ApprovalOutcome:
            return await self.ask(request, workspace)

        return ask

    async def ask(self, request: ApprovalRequest, workspace: Path) -> ApprovalOutcome:
        key = (workspace, request.step.line)
        if key in self._remembered:
            allowed = self._remembered[key]
            option = "allow_always" if allowed else "reject_always"
            return ApprovalOutcome(allowed, "session", option, "remembered for this session")
        ruled = await self._ruled(request, workspace)
        if ruled is not None:
            return ruled
        how = self._asker.mechanism()
        if how == "none":
            return ApprovalOutcome(False, "unavailable", detail="the client cannot be asked")
        try:
            chosen = await self._asker.ask(request)
        except AskFailed as exc:
            log.warning("run %s: asking through %s failed: %s", request.run_id, how, exc.detail)
            return ApprovalOutcome(False, exc.by, detail=exc.detail)
        if chosen is None:  # not a user's decision: the prompt was closed
            return ApprovalOutcome(False, "dismissed", detail=f"{how}: dismissed without a choice")
        allowed = chosen.startswith("allow")
        detail = f"answered through {how}"
        if not chosen.endswith("_always"):
            return ApprovalOutcome(allowed, "user", chosen, detail)
        saved, unsaved, problem = await self._save(request, workspace, allowed)
        if unsaved or not saved:
            self._remembered[key] = allowed
        if problem:
            detail += f"; not saved ({problem}), remembered for this session"
        return ApprovalOutcome(allowed, "user", chosen, detail, saved, unsaved)

    async def _ruled(self, request: ApprovalRequest, workspace: Path) -> ApprovalOutcome | None:
        """The step settled by a rule saved since its plan (an "always" answer), or None."""
        if request.verdict is None:
            return None
        from engine.gate.always import settled_now

        try:
            settled = await asyncio.to_thread(settled_now, request.verdict, workspace)
        except Exception:  # a check that fails only means asking
            log.exception("run %s: checking the policy before asking failed", request.run_id)
            return None
        if settled is None:
            return None
        action, rules = settled
        which = "; ".join(f"{r.where()} ({r.describe()})" for r in rules)
        return ApprovalOutcome(action == "allow", "policy", detail=f"settled by {which}")

    async def _save(
        self, request: ApprovalRequest, workspace: Path, allowed: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """Save an "always" answer as rules: (the rules saved, described; the commands left for
        the session memory; why nothing could be saved, or "")."""
        line = request.step.line
        if request.verdict is None or not request.verdict.commands:  # a write, or a gate that
            return (), (line,), ""  # says nothing about commands: no rule can name it
        from engine.gate.always import save_always
        from engine.gate.policy import PolicyError

        answer = "allow" if allowed else "reject"
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        note = f"{answer} always, {when}, run {request.run_id} step {request.step.id}"
        try:
            rules, unsaved = await asyncio.to_thread(
                save_always, request.verdict, workspace, allowed=allowed, note=note
            )
        except (PolicyError, OSError) as exc:
            log.warning("run %s: could not save an always answer: %s", request.run_id, exc)
            return (), (line,), str(exc)
        return tuple(f"{r.where()}: {r.describe()}" for r in rules), unsaved, ""
