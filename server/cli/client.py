"""A lean asyncio JSON-RPC client for `agentd serve` over stdio (what `agentd run` talks through).

Hand-written instead of pygls's client: importing ``lsprotocol.types`` costs ~0.4 s, and the CLI
only needs framing, request ids and a handler table. Params and results stay plain JSON values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from server import wire

JsonValue = Any  # what json.loads returns; the CLI reads fields by name
RequestHandler = Callable[[JsonValue], Awaitable[JsonValue]]
NotificationHandler = Callable[[JsonValue], None]


class RpcError(Exception):
    """An error answer from the server (``code`` as in JSON-RPC, e.g. -32602 or -32800)."""

    def __init__(self, code: int, message: str, data: JsonValue = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class ServerExited(Exception):
    """The server closed its stdout (crashed or exited) while the client still needed it."""


class Connection:
    """One JSON-RPC peer over a stream pair, with Content-Length framing (the LSP base protocol)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._next_id = 0
        self._pending: dict[int | str, asyncio.Future[JsonValue]] = {}
        self._handling: dict[int | str, asyncio.Task[None]] = {}
        self._requests: dict[str, RequestHandler] = {}
        self._notifications: dict[str, NotificationHandler] = {}
        self._closed: BaseException | None = None

    def on_request(self, method: str, handler: RequestHandler) -> None:
        self._requests[method] = handler

    def on_notification(self, method: str, handler: NotificationHandler) -> None:
        self._notifications[method] = handler

    def send_request(self, method: str, params: JsonValue) -> tuple[int, asyncio.Future[JsonValue]]:
        """Send a request; the id (for ``$/cancelRequest``) and the future of its result."""
        self._next_id += 1
        future: asyncio.Future[JsonValue] = asyncio.get_running_loop().create_future()
        if self._closed is not None:
            future.set_exception(self._closed)
            return self._next_id, future
        self._pending[self._next_id] = future
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id, future

    async def request(self, method: str, params: JsonValue) -> JsonValue:
        _, future = self.send_request(method, params)
        return await future

    def request_nowait(self, method: str, params: JsonValue) -> None:
        """Send a request whose answer nobody waits for (a failure is dropped, not raised)."""
        _, future = self.send_request(method, params)
        future.add_done_callback(lambda f: None if f.cancelled() else f.exception())

    def notify(self, method: str, params: JsonValue = None) -> None:
        message: dict[str, JsonValue] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def cancel(self, request_id: int) -> None:
        self.notify("$/cancelRequest", {"id": request_id})

    async def listen(self) -> None:
        """Read and dispatch messages until the server closes the stream; then fail what waits."""
        error: BaseException = ServerExited("the server closed the connection")
        try:
            while (message := await self._read_message()) is not None:
                self._dispatch(message)
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            error = ServerExited(f"the connection to the server broke: {exc}")
        finally:
            self._closed = error
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)
            self._pending.clear()
            for task in self._handling.values():
                task.cancel()

    def _send(self, message: dict[str, JsonValue]) -> None:
        if self._closed is not None or self._writer.is_closing():
            return  # the listener has already failed every waiter with the reason
        body = json.dumps(message, separators=(",", ":")).encode()
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read_message(self) -> dict[str, JsonValue] | None:
        length: int | None = None
        while True:
            line = await self._reader.readline()
            if not line:
                return None
            if not line.strip():
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError("a message without Content-Length")
        decoded: JsonValue = json.loads(await self._reader.readexactly(length))
        if not isinstance(decoded, dict):
            raise ValueError("a message that is not a JSON object")
        return decoded

    def _dispatch(self, message: dict[str, JsonValue]) -> None:
        method = message.get("method")
        if method is None:
            self._settle(message)
        elif "id" in message:
            request_id = message["id"]
            task = asyncio.create_task(self._answer(request_id, method, message.get("params")))
            self._handling[request_id] = task
            task.add_done_callback(lambda _: self._handling.pop(request_id, None))
        elif method == "$/cancelRequest":
            handling = self._handling.get((message.get("params") or {}).get("id", ""))
            if handling is not None:
                handling.cancel()
        elif (handler := self._notifications.get(method)) is not None:
            try:
                handler(message.get("params"))
            except Exception as exc:  # one bad notification must not end the whole session
                print(f"agentd: could not handle {method}: {exc!r}", file=sys.stderr)

    def _settle(self, message: dict[str, JsonValue]) -> None:
        future = self._pending.pop(message.get("id", -1), None)  # our ids start at 1
        if future is None or future.done():
            return
        if (error := message.get("error")) is not None:
            code, text = error.get("code", wire.INTERNAL_ERROR), error.get("message", "")
            future.set_exception(RpcError(code, text, error.get("data")))
        else:
            future.set_result(message.get("result"))

    async def _answer(self, request_id: int | str, method: str, params: JsonValue) -> None:
        reply: dict[str, JsonValue] = {"jsonrpc": "2.0", "id": request_id}
        handler = self._requests.get(method)
        try:
            if handler is None:
                raise RpcError(wire.METHOD_NOT_FOUND, f"method not found: {method}")
            reply["result"] = await handler(params)
        except asyncio.CancelledError:
            reply["error"] = {"code": wire.REQUEST_CANCELLED, "message": "cancelled"}
        except RpcError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        except Exception as exc:  # a bug in a handler must not leave the server waiting forever
            reply["error"] = {
                "code": wire.INTERNAL_ERROR,
                "message": f"{type(exc).__name__}: {exc}",
            }
        self._send(reply)


def server_command() -> list[str]:
    """How `agentd run` starts its server: this interpreter, so venvs and editable installs work.

    ``AGENTD_SERVER`` (a shell-style command line) overrides it, e.g. for a wrapper or a profiler.
    """
    override = os.environ.get("AGENTD_SERVER")
    if override:
        import shlex

        return shlex.split(override)
    return [sys.executable, "-m", "server"]


class ServerProcess:
    """An `agentd serve` child over stdio, in its own session so a terminal's Ctrl-C reaches only
    the CLI (which then cancels the run politely) and not the server and its steps."""

    def __init__(self, argv: Sequence[str], *, show_stderr: bool = False) -> None:
        self.argv = list(argv)
        self.show_stderr = show_stderr
        self.process: asyncio.subprocess.Process | None = None
        self.connection: Connection | None = None
        self._listener: asyncio.Task[None] | None = None
        # stderr goes to a scratch file: quiet by default, yet its tail explains a crash.
        self._log: IO[bytes] | None = None
        self._stderr = ""

    async def start(self) -> Connection:
        self._log = None if self.show_stderr else tempfile.TemporaryFile()  # noqa: SIM115
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self.connection = Connection(self.process.stdout, self.process.stdin)
        self._listener = asyncio.create_task(self.connection.listen())
        return self.connection

    def stderr_tail(self, lines: int = 20) -> str:
        """The end of what the server wrote to stderr (kept after ``close``, to explain a crash)."""
        if self._log is not None and not self._log.closed:
            self._log.seek(0)
            self._stderr = self._log.read().decode(errors="replace")
        return "\n".join(self._stderr.splitlines()[-lines:])

    def kill(self) -> None:
        """Kill the server and whatever is still in its process group, without waiting."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def close(self, timeout: float = 5.0) -> int | None:
        """LSP ``shutdown``/``exit``, then wait; kill the server if it does not go in time."""
        if self.process is None or self.connection is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(RpcError, ServerExited, TimeoutError):
                await asyncio.wait_for(self.connection.request("shutdown", None), timeout)
                self.connection.notify("exit")
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.kill()
                await self.process.wait()
        if self._listener is not None:
            await self._listener
        if self._log is not None and not self._log.closed:
            self.stderr_tail()
            self._log.close()
        return self.process.returncode


def workspace_folder(path: Path) -> dict[str, str]:
    return {"uri": path.as_uri(), "name": path.name or str(path)}
