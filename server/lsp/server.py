"""The language server: one ``AgentServer`` per connection, every handler registered in
``create_server`` (the one place that lists what the server answers).

Start-up stays as fast as a bare pygls server: nothing here imports the engine. When
``initialize`` arrives, ``server.lsp.methods`` (the engine, pydantic) is imported in a thread, off
the event loop; the first ``agent/*`` request waits for it if it is not done yet.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import orjson
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from engine import __version__
from server import wire
from server.lsp.pygls_compat import AgentProtocol, client_capabilities, raw_converter, register

if TYPE_CHECKING:
    from server.lsp.methods import AgentMethods
    from server.transport.outbox import Outbox

log = logging.getLogger(__name__)

SECTION = "agent"  # the settings section (see server.core.settings)


class AgentServer(LanguageServer):
    protocol: AgentProtocol

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(
            "agentd",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            protocol_cls=AgentProtocol,
            converter_factory=raw_converter,
        )
        self.outbox = outbox
        self.protocol.attach(outbox)
        self.protocol.experimental = {
            "agent": {
                "version": __version__,
                "methods": list(wire.METHODS),
                "notifications": list(wire.NOTIFICATIONS),
                "serverRequests": list(wire.SERVER_REQUESTS),
            }
        }
        self.initialization_options: Any = None
        self.closing = False  # set by shutdown and at the end of the session
        self._methods: asyncio.Future[AgentMethods] | None = None

    # -- the wire, for the hot path (plain dicts; no cattrs) -----------------------------------
    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.outbox.send(orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params}))

    def notify_latest(self, key: object, method: str, params: dict[str, Any]) -> None:
        body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        self.outbox.send_latest(key, body)

    async def request_client(self, method: str, params: Any) -> Any:
        return await self.protocol.request_client(method, params)

    @property
    def backpressure(self) -> Outbox:
        return self.outbox

    def capabilities(self) -> types.ClientCapabilities | None:
        return client_capabilities(self)

    def show_warning(self, message: str) -> None:
        self.notify("window/showMessage", {"type": 2, "message": message})

    async def show_document(self, uri: str) -> bool:
        params = {"uri": uri, "takeFocus": True}
        try:
            answer = await self.request_client("window/showDocument", params)
        except JsonRpcException as exc:
            log.info("the client did not show %s: %s", uri, exc)
            return False
        return bool(answer.get("success")) if isinstance(answer, dict) else False

    def workspace_folders(self) -> list[Path]:
        """The session's folders (workspace folders, else the root URI), in order; none before
        initialize. Runs happen only in them (engine.workspace.check_workspace)."""
        try:
            workspace = self.workspace
        except RuntimeError:
            return []
        folders = [
            Path(path)
            for folder in workspace.folders.values()
            if folder.uri.startswith("file:") and (path := to_fs_path(folder.uri))
        ]
        root = workspace.root_path
        return folders or ([Path(root)] if root else [])

    def default_workspace(self) -> Path | None:
        """The first workspace folder, else the root URI; None before initialize or without one."""
        folders = self.workspace_folders()
        return folders[0] if folders else None

    # -- the engine side, loaded off the loop --------------------------------------------------
    def load_methods(self) -> None:
        """Start importing the engine in a thread (once)."""
        if self._methods is None:
            loop = asyncio.get_running_loop()
            self._methods = loop.create_future()
            importing = loop.run_in_executor(None, _import_methods)
            importing.add_done_callback(self._methods_imported)

    def _methods_imported(self, importing: asyncio.Future[Any]) -> None:
        assert self._methods is not None
        if importing.exception() is not None:
            self._methods.set_exception(importing.exception())  # type: ignore[arg-type]
            return
        try:
            methods = importing.result().AgentMethods(self, self.initialization_options)
        except Exception as exc:
            self._methods.set_exception(exc)
            return
        self._methods.set_result(methods)

    async def methods(self) -> AgentMethods:
        self.load_methods()
        assert self._methods is not None
        return await asyncio.shield(self._methods)

    async def answer(self, method: str, params: Any) -> Any:
        """Run an ``agent/*`` method with the error mapping every method shares."""
        if self.closing:
            raise JsonRpcInvalidRequest(f"{method}: the server is shutting down")
        from server.core.errors import error_code, internal_error_message

        try:
            methods = await self.methods()
            return await methods.methods[method](params)
        except JsonRpcException:
            raise
        except Exception as exc:
            from engine.errors import AgentError

            if isinstance(exc, AgentError):
                raise JsonRpcException(message=str(exc), code=error_code(exc)) from None
            raise JsonRpcInternalError(internal_error_message(method, exc)) from None

    async def close_runs(self) -> None:
        """Cancel every run and wait until their requests are answered (shutdown, exit, EOF)."""
        self.closing = True
        if self._methods is not None and self._methods.done() and not self._methods.exception():
            await self._methods.result().engine.cancel_all()
        await self.protocol.tracker.wait_all()


def create_server(outbox: Outbox) -> AgentServer:
    """A server with every handler registered: the one place to look for what it answers."""
    server = AgentServer(outbox)
    for method in wire.METHODS:
        register(server, method, server.answer)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.initialization_options = params.initialization_options
        server.load_methods()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        capabilities = server.capabilities()
        workspace = capabilities.workspace if capabilities is not None else None
        if not isinstance(settings, dict) and workspace is not None and workspace.configuration:
            # Pull-model clients send `settings: null` and expect us to ask for the section.
            answer = await server.request_client(
                "workspace/configuration", {"items": [{"section": SECTION}]}
            )
            section = answer[0] if isinstance(answer, list) and answer else None
            # The answer is the section itself, even when it holds no key we know.
            settings = {SECTION: section} if isinstance(section, dict) else None
        if isinstance(settings, dict) and settings:
            methods = await server.methods()
            methods.settings.apply(
                settings, methods.engine.config, origin="workspace/didChangeConfiguration"
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        # pygls has already updated the folders; the default workspace follows them.
        log.info("workspace folders changed; default workspace: %s", server.default_workspace())

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    async def progress_cancel(params: types.WorkDoneProgressCancelParams) -> None:
        (await server.methods()).tokens.cancel(params.token)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        return (await server.methods()).code_actions(params)

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: Any) -> None:
        # pygls 2.1's own shutdown cancels in-flight futures while iterating the dict their
        # callbacks change ("dictionary changed size during iteration"): finish them first.
        await server.close_runs()

    return server


# What a first run would otherwise import on the event loop: the gate, the runner, the planners.
FIRST_RUN_MODULES = (
    "engine.run",
    "engine.gate.rules",
    "engine.gate.decide",
    "engine.gate.tools",
    "engine.gate.walk",
    "tree_sitter",
    "tree_sitter_bash",
    "engine.execute.runner",
    "engine.plan.factory",
    "engine.plan.stub",
    "engine.plan.detect",
    "platformdirs",
)


def _import_methods() -> ModuleType:
    """The engine side of the server, and what a first run needs: a goal asked for after this
    starts at once. Blocking (run in a thread)."""
    methods = importlib.import_module("server.lsp.methods")
    for name in FIRST_RUN_MODULES:
        importlib.import_module(name)
    return methods
