"""Every workaround for pygls 2.1, fenced in one module (pygls is pinned ``<2.2`` for this reason).

pygls handles the LSP lifecycle, the workspace and typed LSP messages; agentd's transports read
and write the wire themselves (``server/transport``) and hand pygls whole, checked messages.
What pygls gets wrong and how it is mended here (docs/protocol.md lists each with its test):

- ``$/cancelRequest`` on a ``workspace/executeCommand`` only cancels pygls's outer future: the
  ``RequestTracker`` cancels the command's task too, and a cancelled command is answered -32800
  (pygls never answers a command task that ends cancelled).
- Custom methods are not advertised: ``initialize`` adds ``capabilities.experimental.agent``.
- ``exit`` calls ``sys.exit`` inside the event loop: it ends the session instead.
- Requests before ``initialize`` would run against a session that does not exist (-32002), and
  requests after ``shutdown`` are dropped without an answer (-32600).
- ``params`` is required by pygls but optional in JSON-RPC; params pygls cannot structure are
  answered with the request's id instead of being dropped.
- Untyped params would become namedtuples (keys renamed, ``type_name`` dropped): plain JSON stays.
- A request to the client that we stop waiting for is forgotten, so a late answer does not fail.
- pygls logs every message body at INFO and a traceback for every expected error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import cattrs
import orjson
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
    RPCRequest,
)

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from server.transport.outbox import Outbox

log = logging.getLogger(__name__)

Impl = Callable[[Any], Awaitable[Any]]


def raw_converter() -> cattrs.Converter:
    """lsprotocol's converter, but untyped params and results stay plain JSON."""
    converter = get_converter()

    def keep(obj: dict[str, Any], cls: type[Any]) -> Any:
        return cls(**obj)

    for message in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(message, keep)
    return converter


class _OutboxWriter:
    """pygls's writer interface over an ``Outbox`` (pygls sends bodies; the outbox frames them)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def write(self, data: bytes) -> None:
        self._outbox.send(data)

    def close(self) -> None:
        self._outbox.close()


class AgentProtocol(LanguageServerProtocol):
    """pygls's protocol with the lifecycle mended (see the module docstring)."""

    def __init__(self, server: LanguageServer, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self.on_exit: Callable[[int], None] = lambda code: sys.exit(code)
        self.on_shutdown: Callable[[], None] = lambda: None
        self.experimental: dict[str, Any] = {}  # capabilities.experimental of the answer
        self.tracker = RequestTracker()
        self._outbox: Outbox | None = None
        self._initialize_received = False
        self.shutdown_requested = False

    def attach(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self.set_writer(_OutboxWriter(outbox), include_headers=False)

    def receive(self, data: dict[str, Any]) -> None:
        """Handle one checked JSON-RPC message (see ``server.transport.framing``)."""
        if "method" in data and "params" not in data:
            data["params"] = None  # optional in JSON-RPC; pygls requires it
        try:
            message = self.structure_message(data)
        except JsonRpcException as exc:
            msg_id, method = data.get("id"), data.get("method")
            if method is None or msg_id is None:
                log.warning("dropped a %s pygls cannot read: %s", method or "response", exc)
                return
            self.send_error(msg_id, exc.code, f"{method}: invalid params")
            return
        if isinstance(message, RPCRequest) and (error := self._refusal(message.method)):
            self.send_error(message.id, error.code, error.message)
            return
        self.handle_message(message)

    def _send_response(self, msg_id: MsgId, result: Any = None, error: Any = None) -> None:
        # Plain JSON results (every agent/* answer; a RunResult holds every step's output) go
        # out through orjson: pygls's cattrs walk of a 200-step result costs ~50 ms.
        if error is None and type(result) is dict and self._outbox is not None:
            self._result_types.pop(msg_id, None)
            answer = {"jsonrpc": "2.0", "id": msg_id, "result": result}
            self._outbox.send(orjson.dumps(answer, option=orjson.OPT_NON_STR_KEYS))
            return
        super()._send_response(msg_id, result, error)

    def send_error(self, msg_id: MsgId | None, code: int, message: str) -> None:
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        )

    def _refusal(self, method: str) -> JsonRpcException | None:
        if (self._shutdown or self.shutdown_requested) and method != types.EXIT:
            return JsonRpcInvalidRequest(f"{method}: the server is shutting down")
        if method == types.INITIALIZE:
            self._initialize_received = True
        elif not self._initialize_received:
            return JsonRpcServerNotInitialized(
                f"{method}: the server is not initialized; send initialize first"
            )
        return None

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        result.capabilities.experimental = self.experimental
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        # Noted at once: requests after it are refused even before its answer goes out.
        self.shutdown_requested = True
        self.on_shutdown()
        yield from super().lsp_shutdown(*args)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        self.on_exit(0 if self._shutdown or self.shutdown_requested else 1)
        yield from ()

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        super()._handle_cancel_notification(msg_id)
        self.tracker.cancel(msg_id)

    async def request_client(self, method: str, params: Any) -> Any:
        """Send a request to the client and await its answer; withdraw it if we are cancelled.

        Plain JSON params (pygls would insist on lsprotocol types for LSP methods); the answer
        comes back through pygls's response handling, which resolves the registered future.
        """
        assert self._outbox is not None
        msg_id = f"agentd-{uuid.uuid4().hex[:12]}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._request_futures[msg_id] = future  # type: ignore[assignment]  # pygls only resolves it
        request = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        self._outbox.send(orjson.dumps(request))
        try:
            return await future
        except asyncio.CancelledError:
            self._request_futures.pop(msg_id, None)
            cancel = {"jsonrpc": "2.0", "method": types.CANCEL_REQUEST, "params": {"id": msg_id}}
            self._outbox.send(orjson.dumps(cancel))
            raise


class RequestTracker:
    """The tasks of in-flight requests by id, so that ``$/cancelRequest`` reaches a command's task
    and shutdown can wait until every request is answered."""

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


def register(
    server: LanguageServer, method: str, answer: Callable[[str, Any], Awaitable[Any]]
) -> None:
    """Make ``method`` a request and a ``workspace/executeCommand`` command; both call
    ``answer(method, params)``, tracked by request id."""
    protocol = server.protocol
    assert isinstance(protocol, AgentProtocol)

    # The first parameter is named `ls` so that pygls passes the server there explicitly (it
    # guesses from names and annotations otherwise) and skips it for commands.
    async def as_request(ls: Any, params: Any) -> Any:
        with protocol.tracker.track(protocol.msg_id):
            return await answer(method, params)  # CancelledError: pygls answers -32800

    async def as_command(ls: Any, *arguments: Any) -> Any:
        if len(arguments) > 1:  # pygls unpacks ``arguments`` positionally
            raise JsonRpcInvalidParams(
                f"arguments: {method} takes one object argument, got {len(arguments)}"
            )
        try:
            with protocol.tracker.track(protocol.msg_id):
                return await answer(method, arguments[0] if arguments else None)
        except asyncio.CancelledError:
            raise JsonRpcRequestCancelled(f"{method}: request cancelled") from None

    as_request.__name__ = as_command.__name__ = method.replace("/", "_")
    server.feature(method)(as_request)
    server.command(method)(as_command)


def client_capabilities(server: LanguageServer) -> types.ClientCapabilities | None:
    """The client's capabilities; None before ``initialize`` (pygls's property raises then)."""
    return getattr(server.protocol, "client_capabilities", None)


def is_notification(method: str) -> bool:
    """True for LSP's client-to-server notifications (an id on one is a client bug)."""
    entry = types.METHOD_TO_TYPES.get(method)
    return entry is not None and entry[1] is None


class _QuietPygls(logging.Filter):
    """pygls logs a traceback for every error answer, even expected ones (-32602, -32800)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JsonRpcException):
            return False
        return not str(record.msg).startswith(("Unable to deserialize message", "Sending data"))


def quiet_pygls_logs(level: int) -> None:
    """pygls's loggers at WARNING or above (they log message bodies, which may hold secrets)."""
    logging.getLogger("pygls").setLevel(max(level, logging.WARNING))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_QuietPygls())


__all__ = [
    "AgentProtocol",
    "RequestTracker",
    "client_capabilities",
    "is_notification",
    "quiet_pygls_logs",
    "raw_converter",
    "register",
]
