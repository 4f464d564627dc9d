"""JSON-RPC plumbing shared by every method: params validation, error mapping, registration.

Each method has one implementation (``Impl``) reachable two ways: as a request of its own name and
as a ``workspace/executeCommand`` command. Both routes go through ``_answer`` so that errors map
the same way: invalid params -32602 naming the field, AgentError its own code, anything else
-32603 (logged; the server keeps serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol.types import CANCEL_REQUEST, CancelParams
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcRequestCancelled,
)

if TYPE_CHECKING:
    from lsprotocol.types import ClientCapabilities
    from pydantic import BaseModel
    from pygls.lsp.server import LanguageServer
    from pygls.protocol.json_rpc import MsgId

log = logging.getLogger(__name__)

M = TypeVar("M", bound="BaseModel")
Impl = Callable[[Any], Awaitable[Any]]


def validate(model: type[M], params: Any) -> M:
    """The params as ``model``, or a -32602 error whose message names the bad field.

    Wire names only: a Python name such as ``dry_run`` is an unknown field, not an alias.
    """
    from pydantic import ValidationError

    from engine.errors import describe_validation_error

    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise JsonRpcInvalidParams(f"params: expected an object, got {type(params).__name__}")
    try:
        return model.model_validate(params, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise JsonRpcInvalidParams(describe_validation_error(exc)) from None


class RequestTracker:
    """The tasks of in-flight requests, by JSON-RPC id.

    pygls 2.1 answers ``$/cancelRequest`` on a ``workspace/executeCommand`` at once but leaves the
    command's coroutine running (it cancels only the outer future); tracking the task lets the
    protocol cancel the work itself. Shutdown also waits on these so every request is answered.
    """

    def __init__(self) -> None:
        self._tasks: dict[MsgId, asyncio.Task[Any]] = {}

    @contextlib.contextmanager
    def track(self, msg_id: MsgId | None) -> Iterator[None]:
        task = asyncio.current_task()
        if msg_id is None or task is None:
            yield
            return
        self._tasks[msg_id] = task
        try:
            yield
        finally:
            self._tasks.pop(msg_id, None)

    def cancel(self, msg_id: MsgId) -> None:
        task = self._tasks.get(msg_id)
        if task is not None and not task.done() and not task.cancelling():
            task.cancel()

    async def wait_all(self, timeout: float = 10.0) -> None:
        """Wait for every tracked request; cancel those still waiting (say, on the client)."""
        tasks = [t for t in self._tasks.values() if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await asyncio.sleep(0)  # let pygls's done-callbacks send the answers first


class Answerer:
    """Runs implementations with the error mapping and request tracking every method shares."""

    def __init__(self, server: LanguageServer, tracker: RequestTracker) -> None:
        self._server = server
        self.tracker = tracker
        self.closing = False  # set by shutdown: new requests are refused, running ones finish

    async def answer(self, method: str, impl: Impl, params: Any) -> Any:
        if self.closing:
            raise JsonRpcInvalidRequest(f"{method}: the server is shutting down")
        from engine.errors import AgentError

        with self.tracker.track(self._server.protocol.msg_id):
            try:
                return await impl(params)
            except JsonRpcException:
                raise
            except AgentError as exc:
                raise JsonRpcException(message=str(exc), code=exc.code) from None
            except Exception as exc:
                log.exception("%s failed unexpectedly", method)
                raise JsonRpcInternalError(f"{method}: internal error: {exc!r}") from None

    def register(self, method: str, impl: Impl) -> None:
        """Make ``method`` a request and a ``workspace/executeCommand`` command."""

        # The first parameter is named `ls` so that pygls passes the server there explicitly
        # (it guesses from names and annotations otherwise) and skips it for commands.
        async def as_request(ls: Any, params: Any) -> Any:
            # A CancelledError here is $/cancelRequest: pygls answers it with -32800.
            return await self.answer(method, impl, params)

        async def as_command(ls: Any, *arguments: Any) -> Any:
            # pygls unpacks ``arguments`` positionally; *arguments lets us name a bad count.
            if len(arguments) > 1:
                raise JsonRpcInvalidParams(
                    f"arguments: {method} takes one object argument, got {len(arguments)}"
                )
            try:
                return await self.answer(method, impl, arguments[0] if arguments else None)
            except asyncio.CancelledError:
                # pygls 2.1 never answers a command task that ends cancelled (its generator
                # glue only catches Exception): turn it into a proper -32800 answer.
                raise JsonRpcRequestCancelled(f"{method}: request cancelled") from None

        as_request.__name__ = as_command.__name__ = method.replace("/", "_")
        self._server.feature(method)(as_request)
        self._server.command(method)(as_command)


def client_capabilities(server: LanguageServer) -> ClientCapabilities | None:
    """The client's capabilities; None before ``initialize`` (pygls's property raises then)."""
    return getattr(server.protocol, "client_capabilities", None)


async def request_client(server: LanguageServer, method: str, params: Any) -> Any:
    """Send a request to the client and await its answer; withdraw it if we are cancelled.

    Withdrawing sends ``$/cancelRequest`` and forgets the pending future: pygls would otherwise
    try to resolve the already-cancelled future when the late answer arrives, and fail.
    """
    protocol = server.protocol
    msg_id = f"agentd-{uuid.uuid4().hex[:12]}"
    future = asyncio.wrap_future(protocol.send_request(method, params, msg_id=msg_id))
    try:
        return await future
    except asyncio.CancelledError:
        protocol._request_futures.pop(msg_id, None)
        protocol._result_types.pop(msg_id, None)
        protocol.notify(CANCEL_REQUEST, CancelParams(id=msg_id))
        raise
