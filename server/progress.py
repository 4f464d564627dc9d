"""Work-done progress of one run: ``$/progress`` begin -> report -> end on the run's token.

The token is the request's ``workDoneToken`` when the client gave one; otherwise one the server
creates with ``window/workDoneProgress/create``, only when the client announced
``window.workDoneProgress``. No token, no progress. pygls never forgets tokens: ``end`` does.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from lsprotocol.types import (
    WINDOW_WORK_DONE_PROGRESS_CREATE,
    ProgressToken,
    WorkDoneProgressBegin,
    WorkDoneProgressCreateParams,
    WorkDoneProgressEnd,
    WorkDoneProgressReport,
)
from pygls.exceptions import JsonRpcException

from server.rpc import request_client

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)


async def progress_token(
    server: LanguageServer, client_token: ProgressToken | None
) -> ProgressToken | None:
    """The token to report on: the client's, a server-created one, or None (no progress)."""
    if client_token is not None:
        return client_token
    window = server.client_capabilities.window
    if window is None or not window.work_done_progress:
        return None
    token = f"agentd-run-{uuid.uuid4().hex[:12]}"
    try:
        await request_client(
            server, WINDOW_WORK_DONE_PROGRESS_CREATE, WorkDoneProgressCreateParams(token=token)
        )
    except JsonRpcException as exc:
        log.warning("client refused a progress token: %s", exc)
        return None
    return token


class RunProgress:
    """Begin/report/end on one token; every call is a no-op without a token or after ``end``."""

    def __init__(self, server: LanguageServer, token: ProgressToken | None) -> None:
        self._server = server
        self.token = token
        self._open = False

    def begin(self, goal: str) -> None:
        if self.token is None or self._open:
            return
        self._open = True
        self._server.work_done_progress.begin(
            self.token,
            WorkDoneProgressBegin(
                title=f"Agent: {goal}", cancellable=True, message="planning", percentage=0
            ),
        )

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is None or not self._open:
            return
        self._server.work_done_progress.report(
            self.token, WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def end(self, message: str) -> None:
        if self.token is None:
            return
        if self._open:
            self._server.work_done_progress.end(self.token, WorkDoneProgressEnd(message=message))
        self._open = False
        self._server.work_done_progress.tokens.pop(self.token, None)
        self.token = None
