"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: real HTTP, scripted answers.

``POST /v1/chat/completions`` records the request and answers the next scripted ``Reply`` (a
chat completion with the given content, or an error status); with nothing scripted it answers 500.

    with FakeOpenAI() as fake:
        fake.script(Reply.plan([{"kind": "runCli", "cmd": "ls"}]))
        ... OpenAIPlanner(model="m", api_key="k", base_url=fake.base_url) ...
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


@dataclass(frozen=True)
class Reply:
    """One scripted answer: ``status`` with a chat completion of ``content`` or an error body."""

    status: int = 200
    content: str | None = None
    error: str = ""  # the error message of a non-200 reply
    finish_reason: str = "stop"
    delay: float = 0.0  # seconds to wait before answering
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def plan(cls, steps: list[dict[str, Any]]) -> Reply:
        return cls(content=json.dumps({"steps": steps}))

    @classmethod
    def failure(cls, status: int, error: str, headers: dict[str, str] | None = None) -> Reply:
        return cls(status=status, error=error, headers=headers or {})

    def body(self, model: str) -> dict[str, Any]:
        if self.status != 200:
            return {"error": {"message": self.error, "type": "test_error", "code": None}}
        message = {"role": "assistant", "content": self.content}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }


@dataclass(frozen=True)
class Request:
    """A request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAI:
    """The server: ``base_url`` ends in ``/v1`` like OpenAI's; ``requests`` in arrival order."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
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

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

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
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return Reply.failure(500, "fake_openai: no scripted reply left")


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw.decode("utf-8", "replace")}
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request("POST", self.path, headers, body)
            if self.path != COMPLETIONS_PATH:
                with fake._lock:
                    fake.requests.append(request)
                self._send(Reply.failure(404, f"fake_openai: no route {self.path}"), "")
                return
            reply = fake._take(request)
            if reply.delay and fake._stop.wait(reply.delay):
                return  # closing: the client has long given up
            self._send(reply, str(body.get("model", "")))

        def _send(self, reply: Reply, model: str) -> None:
            data = json.dumps(reply.body(model)).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
