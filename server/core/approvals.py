"""Approvals for any front-end: ask the user through the front-end's ``Asker``, remember "always".

The engine calls ``ask`` for a step whose decision is ``ask``; the answer is one of the permission
options (``allow_once``, ``allow_always``, ``reject_once``, ``reject_always``) or nothing (the
prompt was dismissed). "Always" answers are remembered for the session per (workspace, step line:
the exact command, or ``write <path>``); a later identical ask resolves at once (``by: "session"``).
The engine cancels ``ask`` on its approval timeout or when the run is cancelled; the front-end then
withdraws its pending prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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
        if chosen.endswith("_always"):
            self._remembered[key] = allowed
        return ApprovalOutcome(allowed, "user", chosen, f"answered through {how}")
