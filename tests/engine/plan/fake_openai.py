"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: real HTTP, scripted answers.

``POST /v1/chat/completions`` records the request and answers the next scripted ``Reply`` (a
chat completion with the given content, or an error status); with nothing scripted it answers 500.
``GET /v1/models`` lists ``models``. A dialect in ``refuse`` is answered the way llama-cpp-python
answers ``json_schema``: HTTP 500 with a validation error naming ``response_format.type``.

    with FakeOpenAI() as fake:
        fake.script(Reply.plan([{"kind": "runCli", "cmd": "ls"}]))
        ... OpenAIPlanner(config with base_url=fake.base_url) ...
        fake.requests[0].body["messages"]
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: ``status`` with a chat completion of ``content`` or an error body."""

    status: int = 200
    content: str | None = None
    error: str = ""  # the error message of a non-200 reply
    code: str | None = None  # the error's code (e.g. context_length_exceeded)
    finish_reason: str = "stop"
    delay: float = 0.0  # seconds to wait before answering
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, int] | None = field(default_factory=lambda: dict(USAGE))

    @classmethod
    def plan(
        cls, steps: list[dict[str, Any]], *, done: bool = True, summary: str = "", **options: Any
    ) -> Reply:
        answer = {"steps": steps, "done": done, "summary": summary}
        return cls(content=json.dumps(answer), **options)

    @classmethod
    def failure(
        cls, status: int, error: str, headers: dict[str, str] | None = None, code: str | None = None
    ) -> Reply:
        return cls(status=status, error=error, headers=headers or {}, code=code)

    def body(self, model: str) -> dict[str, Any]:
        if self.status != 200:
            return {"error": {"message": self.error, "type": "test_error", "code": self.code}}
        message = {"role": "assistant", "content": self.content}
        body: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return body


@dataclass(frozen=True)
class Request:
    """A request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def dialect(self) -> str:
        """The structured-output dialect the request asked for."""
        format_ = self.body.get("response_format")
        return "text" if not isinstance(format_, dict) else str(format_.get("type"))


class FakeOpenAI:
    """The server: ``base_url`` ends in ``/v1`` like OpenAI's; ``requests`` in arrival order."""

    def __init__(self, *, refuse: set[str] | None = None, models: list[str] | None = None) -> None:
        self.requests: list[Request] = []
        self.refuse = refuse or set()
        self.models = models if models is not None else ["test-model"]
        self.models_reply = Reply(content="")  # what GET /v1/models answers (its status)
        self._replies: deque[Reply] = deque()
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def completions(self) -> list[Request]:
        return [r for r in self.requests if r.path == COMPLETIONS_PATH]

    def script(self, *replies: Reply) -> None:
        with self._arrived:
            self._replies.extend(replies)

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests have arrived (call it from a thread in async tests)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()  # wakes slow replies
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _take(self, request: Request) -> Reply:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            if request.path == MODELS_PATH:
                return self.models_reply
            if request.path != COMPLETIONS_PATH:
                return Reply.failure(404, f"fake_openai: no route {request.path}")
            if request.dialect in self.refuse:
                return Reply.failure(
                    500,
                    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                    f"  Input should be 'text' or 'json_object' [input_value='{request.dialect}']",
                )
            if self._replies:
                return self._replies.popleft()
        return Reply.failure(500, "fake_openai: no scripted reply left")


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer({})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw.decode("utf-8", "replace")}
            self._answer(body)

        def _answer(self, body: dict[str, Any]) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, self.path, headers, body)
            reply = fake._take(request)
            if reply.delay and fake._stop.wait(reply.delay):
                return  # closing: the client has long given up
            if self.path == MODELS_PATH and reply.status == 200:
                listed = [{"id": m, "object": "model", "owned_by": "fake"} for m in fake.models]
                self._send(reply.status, {"object": "list", "data": listed}, reply.headers)
            else:
                self._send(reply.status, reply.body(str(body.get("model", ""))), reply.headers)

        def _send(self, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
