"""Work-done progress of one run: ``$/progress`` begin -> report -> end on the run's token.

The token is the request's ``workDoneToken`` when the client gave one; otherwise one the server
creates with ``window/workDoneProgress/create``, only when the client announced
``window.workDoneProgress``. No token, no progress. The run never waits for ``create``: it starts
at once, and ``begin`` goes out when the client answers (carrying the latest report); without an
answer within ``CREATE_TIMEOUT_S``, or with an error, the run has no progress. The end of the run
waits for a pending ``create`` (bounded by the same timeout) so that begin and end both come before
the answer. Reports are coalesced while the connection is congested (only the newest is kept).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import Any, Protocol

from lsprotocol.types import ClientCapabilities
from pygls.exceptions import JsonRpcException

from server.core.runs import Token

log = logging.getLogger(__name__)

CREATE_TIMEOUT_S = 3.0
PROGRESS = "$/progress"


class ProgressWire(Protocol):
    """What progress needs of the session (``server.lsp.server.AgentServer``)."""

    def notify(self, method: str, params: dict[str, Any]) -> None: ...

    def notify_latest(self, key: object, method: str, params: dict[str, Any]) -> None: ...

    def request_client(self, method: str, params: Any) -> Awaitable[Any]: ...

    def capabilities(self) -> ClientCapabilities | None: ...


class RunProgress:
    """Begin/report/end on one token; every call is a no-op without a token or after ``end``."""

    def __init__(self, session: ProgressWire, goal: str) -> None:
        self._session = session
        self._title = f"Agent: {goal}"
        self.token: Token | None = None
        self._open = False
        self._message = "planning"  # the latest report: what a late begin shows
        self._percentage = 0
        self._creating: asyncio.Task[None] | None = None

    def start(self, client_token: Token | None) -> None:
        """Report on the client's token, or on one created now when the client supports it."""
        if client_token is not None:
            self.token = client_token  # used as is: a client that sends a token wants progress
            self._begin()
            return
        capabilities = self._session.capabilities()
        window = capabilities.window if capabilities is not None else None
        if window is None or not window.work_done_progress:
            return
        self.token = f"agentd-run-{uuid.uuid4().hex[:12]}"
        self._creating = asyncio.get_running_loop().create_task(self._create(self.token))

    async def _create(self, token: Token) -> None:
        try:
            # In this task (not wait_for's own): the request goes out before the run's first event.
            async with asyncio.timeout(CREATE_TIMEOUT_S):
                await self._session.request_client(
                    "window/workDoneProgress/create", {"token": token}
                )
        except TimeoutError:
            log.warning(
                "no answer to window/workDoneProgress/create within %.0f s: no progress for %r",
                CREATE_TIMEOUT_S,
                token,
            )
        except JsonRpcException as exc:
            log.warning("the client refused progress token %r: %s", token, exc)
        else:
            self._begin()
            return
        self.token = None

    def _send(self, value: dict[str, Any], *, latest: bool = False) -> None:
        params = {"token": self.token, "value": value}
        if latest:
            self._session.notify_latest((PROGRESS, self.token), PROGRESS, params)
        else:
            self._session.notify(PROGRESS, params)

    def _begin(self) -> None:
        if self.token is None or self._open:
            return
        self._open = True
        self._send(
            {
                "kind": "begin",
                "title": self._title,
                "cancellable": True,
                "message": self._message,
                "percentage": self._percentage,
            }
        )

    def report(self, message: str, percentage: int | None = None) -> None:
        self._message = message
        if percentage is not None:
            self._percentage = percentage
        if self._open and self.token is not None:
            value: dict[str, Any] = {"kind": "report", "message": message}
            if percentage is not None:
                value["percentage"] = percentage
            self._send(value, latest=True)

    async def end(self, message: str) -> None:
        """End the progress; waits for a pending ``create`` unless the request is cancelled."""
        creating = self._creating
        try:
            if creating is not None and not creating.done():
                current = asyncio.current_task()
                if current is None or not current.cancelling():
                    await asyncio.wait({creating})  # bounded by CREATE_TIMEOUT_S
        finally:
            if creating is not None:
                creating.cancel()  # still pending only when we are cancelled: withdraw it
            if self.token is not None and self._open:
                self._send({"kind": "end", "message": message})
            self._open = False
            self.token = None
