"""How the language server asks its client, chosen per ask from the client's capabilities:

- ``agent/requestPermission`` when the client announced
  ``capabilities.experimental.agent.requestPermission: true`` (ACP-style options);
- else ``window/showMessageRequest`` (actions ``Allow once``, ``Allow always``, ``Reject``) when it
  announced ``window.showMessage``;
- else nobody can be asked (``none``): the step is rejected (``by: "unavailable"``).

An answer to ``agent/requestPermission`` that is not a valid ``RequestPermissionResult`` naming an
offered option rejects the step (``by: "error"``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol.types import ClientCapabilities
from pydantic import ValidationError
from pygls.exceptions import JsonRpcException

from engine.errors import describe_validation_error
from engine.events import ApprovalRequest
from engine.notifications import RequestPermissionResult
from engine.vocab import PermissionKind
from server import wire
from server.core.approvals import OPTION_NAMES, AskFailed

SendRequest = Callable[[str, Any], Awaitable[Any]]
ACTIONS: dict[str, PermissionKind] = {
    "Allow once": "allow_once",
    "Allow always": "allow_always",
    "Reject": "reject_once",
}
OPTIONS = [{"optionId": kind, "name": name, "kind": kind} for kind, name in OPTION_NAMES.items()]


def mechanism(capabilities: ClientCapabilities | None) -> str:
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


def prompt_text(request: ApprovalRequest) -> str:
    step = request.step
    reasons = "; ".join(request.risk.reasons) or "no reasons given"
    return (
        f"agentd wants to run step {step.id} of run {request.run_id}: {step.line}\n"
        f"Risk {request.risk.level}: {reasons}"
    )


class LspAsker:
    """The ``Asker`` of a language-server session."""

    def __init__(
        self, send_request: SendRequest, capabilities: Callable[[], ClientCapabilities | None]
    ) -> None:
        self._send_request = send_request
        self._capabilities = capabilities

    def mechanism(self) -> str:
        return mechanism(self._capabilities())

    async def ask(self, request: ApprovalRequest) -> PermissionKind | None:
        try:
            if self.mechanism() == "requestPermission":
                return await self._request_permission(request)
            return await self._show_message_request(request)
        except JsonRpcException as exc:
            raise AskFailed("unavailable", f"{self.mechanism()} failed: {exc}") from None

    async def _request_permission(self, request: ApprovalRequest) -> PermissionKind | None:
        params = {
            "runId": request.run_id,
            "step": request.step.wire(),
            "risk": request.risk.wire(),
            "options": OPTIONS,
        }
        raw = await self._send_request(wire.REQUEST_PERMISSION, params)
        try:
            answer = RequestPermissionResult.model_validate(raw, by_alias=True, by_name=False)
        except ValidationError as exc:
            problem = describe_validation_error(exc)
            raise AskFailed("error", f"invalid answer to requestPermission: {problem}") from None
        if answer.outcome == "cancelled":
            return None
        for kind in OPTION_NAMES:
            if answer.option_id == kind:
                return kind
        offered = ", ".join(OPTION_NAMES)
        problem = f"optionId: expected one of {offered}"
        raise AskFailed("error", f"invalid answer to requestPermission: {problem}")

    async def _show_message_request(self, request: ApprovalRequest) -> PermissionKind | None:
        params = {
            "type": 2,  # Warning
            "message": prompt_text(request),
            "actions": [{"title": title} for title in ACTIONS],
        }
        answer = await self._send_request("window/showMessageRequest", params)
        title = answer.get("title") if isinstance(answer, dict) else getattr(answer, "title", None)
        return ACTIONS.get(title) if isinstance(title, str) else None
