"""Approvals: the engine asks, the user answers through the editor.

Mechanism, chosen per session from the client's capabilities:
- ``agent/requestPermission`` when the client announced
  ``capabilities.experimental.agent.requestPermission: true`` (ACP-style options);
- else ``window/showMessageRequest`` (actions ``Allow once``, ``Allow always``, ``Reject``) when the
  client announced ``window.showMessage`` (the capability block of that request);
- else nobody can be asked: the step is rejected (``by: "unavailable"``).

"Always" answers (allow or reject) are remembered for the session per (workspace, step line:
the exact command, or ``write <path>``); a later identical ask resolves at once (``by: "session"``).
The engine cancels ``ask`` on its approval timeout or when the run is cancelled: the pending
client request is then withdrawn with ``$/cancelRequest``. An answer to ``agent/requestPermission``
that is not a valid ``RequestPermissionResult`` naming an offered option rejects (``by: "error"``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol.types import (
    WINDOW_SHOW_MESSAGE_REQUEST,
    ClientCapabilities,
    MessageActionItem,
    MessageType,
    ShowMessageRequestParams,
)
from pygls.exceptions import JsonRpcException

if TYPE_CHECKING:
    from engine.events import ApprovalOutcome, ApprovalRequest
    from engine.models import PermissionKind, PermissionOption

log = logging.getLogger(__name__)

REQUEST_PERMISSION = "agent/requestPermission"
Mechanism = Literal["requestPermission", "showMessageRequest", "none"]
SendRequest = Callable[[str, Any], Awaitable[Any]]

OPTION_NAMES: dict[PermissionKind, str] = {  # optionId (== kind) -> name shown to the user
    "allow_once": "Allow once",
    "allow_always": "Allow always",
    "reject_once": "Reject",
    "reject_always": "Reject always",
}
ACTIONS = {"Allow once": "allow_once", "Allow always": "allow_always", "Reject": "reject_once"}


class InvalidAnswer(Exception):
    """The client's answer to ``agent/requestPermission`` does not fit the protocol."""


@functools.cache
def permission_options() -> tuple[PermissionOption, ...]:
    """The options offered with every ``agent/requestPermission`` (built once, on first ask)."""
    from engine.models import PermissionOption

    return tuple(
        PermissionOption(option_id=kind, name=name, kind=kind)
        for kind, name in OPTION_NAMES.items()
    )


def mechanism(capabilities: ClientCapabilities | None) -> Mechanism:
    """How this client can be asked (see the module docstring for the rule)."""
    if capabilities is None:
        return "none"
    experimental = capabilities.experimental
    if isinstance(experimental, dict):
        agent = experimental.get("agent")
        if isinstance(agent, dict) and agent.get("requestPermission") is True:
            return "requestPermission"
    if capabilities.window is not None and capabilities.window.show_message is not None:
        return "showMessageRequest"
    return "none"


def _prompt(request: ApprovalRequest) -> str:
    step = request.step
    reasons = "; ".join(request.risk.reasons) or "no reasons given"
    return (
        f"agentd wants to run step {step.id} of run {request.run_id}: {step.line}\n"
        f"Risk {request.risk.level}: {reasons}"
    )


class Approvals:
    """Asks the client; remembers "always" answers for the session."""

    def __init__(
        self, send_request: SendRequest, capabilities: Callable[[], ClientCapabilities | None]
    ) -> None:
        self._send_request = send_request
        self._capabilities = capabilities
        self._remembered: dict[tuple[Path, str], bool] = {}  # (workspace, line) -> allowed

    def mechanism(self) -> Mechanism:
        return mechanism(self._capabilities())

    def asker(self, workspace: Path) -> Callable[[ApprovalRequest], Awaitable[ApprovalOutcome]]:
        """The engine's ``ask`` callback for runs in ``workspace``."""

        async def ask(request: ApprovalRequest) -> ApprovalOutcome:
            return await self.ask(request, workspace)

        return ask

    async def ask(self, request: ApprovalRequest, workspace: Path) -> ApprovalOutcome:
        from engine.events import ApprovalOutcome

        key = (workspace, request.step.line)
        if key in self._remembered:
            allowed = self._remembered[key]
            option = "allow_always" if allowed else "reject_always"
            return ApprovalOutcome(allowed, "session", option, "remembered for this session")
        how = self.mechanism()
        if how == "none":
            return ApprovalOutcome(
                False,
                "unavailable",
                detail="the client supports neither agent/requestPermission "
                "nor window/showMessageRequest",
            )
        try:
            if how == "requestPermission":
                chosen = await self._request_permission(request)
            else:
                chosen = await self._show_message_request(request)
        except JsonRpcException as exc:
            log.warning("approval request for run %s failed: %s", request.run_id, exc)
            return ApprovalOutcome(False, "unavailable", detail=f"{how} failed: {exc}")
        except InvalidAnswer as exc:
            log.warning("run %s: invalid answer to %s: %s", request.run_id, how, exc)
            return ApprovalOutcome(False, "error", detail=f"invalid answer to {how}: {exc}")
        if chosen is None:
            # not a user's decision: the prompt was closed (or nobody was there to answer it)
            return ApprovalOutcome(False, "dismissed", detail=f"{how}: dismissed without a choice")
        allowed = chosen.startswith("allow")
        if chosen.endswith("_always"):
            self._remembered[key] = allowed
        return ApprovalOutcome(allowed, "user", chosen, f"answered through {how}")

    async def _request_permission(self, request: ApprovalRequest) -> str | None:
        from pydantic import ValidationError

        from engine.errors import describe_validation_error
        from engine.models import RequestPermissionParams, RequestPermissionResult

        params = RequestPermissionParams(
            run_id=request.run_id,
            step=request.step,
            risk=request.risk,
            options=list(permission_options()),
        )
        raw = await self._send_request(REQUEST_PERMISSION, params.wire())
        try:
            answer = RequestPermissionResult.model_validate(raw, by_alias=True, by_name=False)
        except ValidationError as exc:
            raise InvalidAnswer(describe_validation_error(exc)) from None
        if answer.outcome == "cancelled":
            return None
        if answer.option_id not in OPTION_NAMES:
            offered = ", ".join(OPTION_NAMES)
            raise InvalidAnswer(f"optionId: expected one of {offered}")
        return answer.option_id

    async def _show_message_request(self, request: ApprovalRequest) -> str | None:
        params = ShowMessageRequestParams(
            type=MessageType.Warning,
            message=_prompt(request),
            actions=[MessageActionItem(title=title) for title in ACTIONS],
        )
        answer = await self._send_request(WINDOW_SHOW_MESSAGE_REQUEST, params)
        title = answer.get("title") if isinstance(answer, dict) else getattr(answer, "title", None)
        return ACTIONS.get(title) if isinstance(title, str) else None
