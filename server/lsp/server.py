"""The language server: state on an ``AgentServer``, every handler registered in ``create_server``.

The protocol subclass holds the pygls 2.1 workarounds that must sit below the handlers: cancelling
command tasks on ``$/cancelRequest``, advertising the custom methods, ending a session on ``exit``
without ``sys.exit``, and answering requests pygls would drop (unparseable params, or any request
after ``shutdown``) or mishandle (before ``initialize``) instead of leaving the client waiting.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    MsgId,
    RPCRequest,
)
from pygls.uris import to_fs_path

from engine import __version__
from server.lsp.approvals import REQUEST_PERMISSION, Approvals
from server.lsp.diagnostics import DiagnosticsPublisher
from server.lsp.queries import Queries
from server.lsp.rpc import Answerer, RequestTracker, client_capabilities, request_client
from server.lsp.runs import OUTPUT_DELTA, PLAN_READY, RUN_STARTED, STEP_UPDATED, Runs
from server.lsp.settings import SECTION, Settings

if TYPE_CHECKING:
    from pygls.server import ServerErrors

    from engine.run import Engine

log = logging.getLogger(__name__)

METHODS = (
    "agent/runGoal",
    "agent/plan",
    "agent/cancel",
    "agent/listGoals",
    "agent/trace",
    "agent/health",
)


def raw_converter() -> cattrs.Converter:
    """lsprotocol's converter, but untyped params and results stay plain JSON.

    pygls's default turns them into namedtuples, which rename keys such as ``from`` and drop a
    ``type_name`` key; the engine's pydantic models validate the plain dicts instead.
    """
    converter = get_converter()

    def keep(obj: dict[str, Any], cls: type[Any]) -> Any:
        return cls(**obj)

    for message in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(message, keep)
    return converter


class AnsweredError(Exception):
    """A message was already answered with an error while it was being parsed."""


class AgentProtocol(LanguageServerProtocol):
    _server: AgentServer

    def __init__(self, server: AgentServer, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self.on_exit: Callable[[int], None] | None = None  # set by the transport (serve.py)
        self._initialize_received = False

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        # Custom methods are not in any LSP capability: announce them here.
        result.capabilities.experimental = {
            "agent": {
                "version": __version__,
                "methods": list(METHODS),
                "notifications": [RUN_STARTED, PLAN_READY, STEP_UPDATED, OUTPUT_DELTA],
                "serverRequests": [REQUEST_PERMISSION],
            }
        }
        return result

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        # Noted at once: an `exit` already in the read buffer is handled before any task runs.
        self._server.shutdown_requested = True
        yield from super().lsp_shutdown(*args)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        # pygls calls sys.exit from inside the event loop; the transport ends the session
        # instead, so runs are cancelled and their processes reaped before the process exits.
        # Exit right after shutdown (before its answer) still counts as after shutdown.
        code = 0 if self._shutdown or self._server.shutdown_requested else 1
        if self.on_exit is None:
            sys.exit(code)
        self.on_exit(code)
        yield from ()

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        super()._handle_cancel_notification(msg_id)
        # pygls 2.1 only cancels a command's outer future; cancel the command's task too.
        self._server.tracker.cancel(msg_id)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, RPCRequest) and (error := self._refusal(message.method)):
            self._send_response(message.id, error=error.to_response_error())
            return
        super().handle_message(message)

    def _refusal(self, method: str) -> JsonRpcException | None:
        """Requests answered with an error before any handler sees them."""
        if self._shutdown and method != types.EXIT:
            # pygls drops requests after `shutdown` without an answer; JSON-RPC wants one.
            return JsonRpcInvalidRequest(f"{method}: the server is shutting down")
        if method == types.INITIALIZE:
            self._initialize_received = True
        elif not self._initialize_received:
            # LSP's answer; pygls would run the handler against a session that does not exist.
            return JsonRpcServerNotInitialized(
                f"{method}: the server is not initialized; send initialize first"
            )
        return None

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data and "method" in data and "params" not in data:
            data["params"] = None  # `params` is optional in JSON-RPC; pygls requires it
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id")
            if "method" not in data or not isinstance(msg_id, str | int):
                raise
            # pygls would drop the request and leave the client waiting forever.
            self._send_response(msg_id, error=exc.to_response_error())
            raise AnsweredError(f"{data['method']} (id {msg_id!r}): {exc}") from exc


class AgentServer(LanguageServer):
    protocol: AgentProtocol

    def __init__(self) -> None:
        super().__init__(
            "agentd",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=AgentProtocol,
            converter_factory=raw_converter,
        )
        self.tracker = RequestTracker()
        self.answerer = Answerer(self, self.tracker)
        self.runs = Runs(self)
        self.queries = Queries(self)
        self.approvals = Approvals(partial(request_client, self), self._client_capabilities)
        self.diagnostics = DiagnosticsPublisher(self.text_document_publish_diagnostics)
        self.settings = Settings(self._configure, self.window_show_message)
        self.initialization_options: Any = None
        self.shutdown_requested = False
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Created on first use so that ``initialize`` never waits for pydantic and the engine."""
        if self._engine is None:
            from engine.execute.reaper import claim_strays
            from engine.run import Engine

            claim_strays()  # this process spawns nothing but steps: every stray child is theirs
            self._engine = Engine()
            if self.initialization_options is not None:
                self.settings.apply(
                    self.initialization_options, self._engine.config, origin="initializationOptions"
                )
        return self._engine

    def _configure(self, config: Any) -> None:
        self.engine.configure(config)

    def _client_capabilities(self) -> types.ClientCapabilities | None:
        return client_capabilities(self)

    def default_workspace(self) -> Path | None:
        """The first workspace folder, else the root URI; None before initialize or without one."""
        try:
            workspace = self.workspace
        except RuntimeError:
            return None
        for folder in workspace.folders.values():
            if folder.uri.startswith("file:") and (path := to_fs_path(folder.uri)):
                return Path(path)
        root = workspace.root_path
        return Path(root) if root else None

    async def close_runs(self) -> None:
        """Cancel every run and wait until their requests are answered (shutdown, exit, EOF)."""
        self.answerer.closing = True
        if self._engine is not None:
            await self._engine.cancel_all()
        await self.tracker.wait_all()

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        if isinstance(error, AnsweredError):
            log.warning("answered a request pygls could not parse: %s", error)
            return
        if isinstance(error, JsonRpcException) and source is JsonRpcException:
            # A notification or response whose typed params pygls cannot parse: nobody to answer.
            log.warning("dropped a message pygls could not parse: %s (%s)", error, error.__cause__)
            return
        if isinstance(error, ValueError) and source is JsonRpcException:
            # Unparseable bytes on the wire (JSONDecodeError, UnicodeDecodeError): say so with the
            # standard -32700 (id null, as JSON-RPC prescribes) and keep reading.
            log.warning("parse error on the wire: %s", error)
            self.protocol._send_data(
                {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32700, "message": f"Parse error: {error}"},
                }
            )
            return
        if source is FeatureRequestError:
            return  # the request's own answer already carries the error
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        super().report_server_error(error, source)


def create_server() -> AgentServer:
    """A server with every handler registered: the one place to look for what it answers."""
    server = AgentServer()
    for method, impl in zip(
        METHODS,
        (
            server.runs.run_goal,
            server.runs.plan,
            server.runs.cancel,
            server.queries.list_goals,
            server.queries.trace,
            server.queries.health,
        ),
        strict=True,
    ):
        server.answerer.register(method, impl)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.initialization_options = params.initialization_options

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        server.engine  # noqa: B018 - import and configure the engine now, after the answer

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        capabilities = server._client_capabilities()
        workspace = capabilities.workspace if capabilities is not None else None
        if not isinstance(settings, dict) and workspace is not None and workspace.configuration:
            # Pull-model clients send `settings: null` and expect us to ask for the section.
            items = [types.ConfigurationItem(section=SECTION)]
            answer = await server.workspace_configuration_async(
                types.ConfigurationParams(items=items)
            )
            section = answer[0] if answer else None
            # The answer is the section itself, even when it holds no key we know.
            settings = {SECTION: section} if isinstance(section, dict) else None
        if isinstance(settings, dict) and settings:
            engine = server.engine
            server.settings.apply(
                settings, engine.config, origin="workspace/didChangeConfiguration"
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        # pygls has already updated the folders; the default workspace follows them.
        log.info("workspace folders changed; default workspace: %s", server.default_workspace())

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(params: types.WorkDoneProgressCancelParams) -> None:
        server.runs.cancel_by_token(params.token)

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: Any) -> None:
        # pygls 2.1's own shutdown cancels in-flight futures while iterating the dict their
        # callbacks change ("dictionary changed size during iteration"): finish them first.
        await server.close_runs()

    return server


__all__ = ["METHODS", "AgentServer", "create_server"]
