"""End-to-end helpers: a pytest-lsp client that speaks to ``python -m server`` over stdio.

The client keeps untyped JSON as plain dicts (the server's own converter), records every
``agent/*`` notification and answers the server's approval requests with whatever the test sets.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from server.lsp.pygls_compat import raw_converter
from tests.procs import living, run_processes

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "server"]
CLIENTS = ["neovim", "visual-studio-code"]
AGENT_NOTIFICATIONS = (
    "agent/runStarted",
    "agent/planReady",
    "agent/stepUpdated",
    "agent/outputDelta",
)

Handler = Callable[[Any], Awaitable[Any]]


def server_env(**extra: str) -> dict[str, str]:
    """pytest-lsp's ``server_env`` replaces the environment: start from ours."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("OPENAI_API_KEY", None)  # never reach a network from the tests
    return env


class AgentClient(LanguageClient):
    """A test client that records agent notifications and answers approval requests."""

    def __init__(self) -> None:
        super().__init__(converter_factory=raw_converter)
        self.notes: dict[str, list[dict[str, Any]]] = {m: [] for m in AGENT_NOTIFICATIONS}
        self.arrivals: list[tuple[str, dict[str, Any]]] = []  # every agent notification, in order
        self.on_create: Handler | None = None  # runs before a progress token is accepted
        self.on_permission: Handler | None = None
        self.on_message_request: Handler | None = None
        self.permission_requests: list[dict[str, Any]] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.withdrawn: list[str] = []  # methods of requests the server cancelled
        self.init_result: types.InitializeResult | None = None


def make_client() -> AgentClient:
    client = AgentClient()
    create_progress = DEFAULT_CLIENT_FEATURES[types.WINDOW_WORK_DONE_PROGRESS_CREATE]
    features = dict(DEFAULT_CLIENT_FEATURES)
    del features[types.WINDOW_WORK_DONE_PROGRESS_CREATE]
    register_lsp_features(client, features)
    for method in AGENT_NOTIFICATIONS:

        def record(params: Any, method: str = method) -> None:
            client.notes[method].append(params)
            client.arrivals.append((method, params))

        client.feature(method)(record)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    async def create(params: types.WorkDoneProgressCreateParams) -> None:
        if client.on_create is not None:
            await client.on_create(params)
        create_progress(client, params)

    @client.feature("agent/requestPermission")
    async def request_permission(params: Any) -> Any:
        client.permission_requests.append(params)
        assert client.on_permission is not None, "unexpected agent/requestPermission"
        try:
            return await client.on_permission(params)
        except asyncio.CancelledError:
            client.withdrawn.append("agent/requestPermission")
            raise

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    async def show_message_request(params: types.ShowMessageRequestParams) -> Any:
        client.message_requests.append(params)
        assert client.on_message_request is not None, "unexpected window/showMessageRequest"
        try:
            return await client.on_message_request(params)
        except asyncio.CancelledError:
            client.withdrawn.append(types.WINDOW_SHOW_MESSAGE_REQUEST)
            raise

    return client


def config(**env: str) -> ClientServerConfig:
    return ClientServerConfig(
        server_command=SERVER, client_factory=make_client, server_env=server_env(**env)
    )


def capabilities(
    name: str,
    *,
    request_permission: bool = False,
    work_done_progress: bool = True,
    show_message: bool = True,
) -> types.ClientCapabilities:
    """A recorded client's capabilities, with the variations these tests need."""
    caps = copy.deepcopy(client_capabilities(name))
    if request_permission:
        caps.experimental = {"agent": {"requestPermission": True}}
    if caps.window is not None:
        caps.window.work_done_progress = work_done_progress
        if not show_message:
            caps.window.show_message = None
    return caps


async def initialize(
    client: LanguageClient,
    caps: types.ClientCapabilities,
    workspace: Path | None = None,
    options: Any = None,
    also: Path | None = None,
) -> types.InitializeResult:
    """Initialize with ``workspace`` as the first (default) folder and ``also`` as a second one,
    by default the workspace's parent: runs are accepted only inside the session's folders, and
    every pytest tmp_path is a sibling of the workspace (all of them lie in the base temp)."""
    if also is None and workspace is not None:
        also = workspace.parent
    opened = [p for p in (workspace, also) if p is not None]
    folders = [types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in opened] or None
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            workspace_folders=folders,
            root_uri=workspace.as_uri() if workspace else None,
            initialization_options=options,
        )
    )
    if isinstance(client, AgentClient):
        client.init_result = result
    return result


async def call(client: LanguageClient, method: str, params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)  # type: ignore[no-untyped-call]


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def wait_until(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``predicate`` until it returns something truthy (notifications arrive on their own)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.02)


def started(client: AgentClient, goal: str) -> str | None:
    """The runId of the latest run of ``goal`` announced by ``agent/runStarted``."""
    runs = [n["runId"] for n in client.notes["agent/runStarted"] if n["goal"] == goal]
    return runs[-1] if runs else None


def sleeper(ready: Path) -> str:
    """A step that starts two background sleeps (a process tree), then says it is ready."""
    return f"sleep 300 & sleep 300 & echo ready > {ready}; wait"


def step(cmd: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "runCli", "cmd": cmd, **extra}


def run_ids(workspace: Path) -> list[str]:
    """Ids of the runs that have a trace in ``workspace`` (known before any answer arrives)."""
    return sorted(p.stem for p in (workspace / ".agent" / "runs").glob("*.jsonl"))


def trace_records(workspace: Path, run_id: str) -> list[dict[str, Any]]:
    path = workspace / ".agent" / "runs" / f"{run_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def trace_complete(workspace: Path, run_id: str) -> bool:
    records = trace_records(workspace, run_id)
    return bool(records) and records[-1]["type"] == "run.finished"


def send_run(
    client: AgentClient, form: str, params: dict[str, Any]
) -> tuple[asyncio.Future[Any], str]:
    """Start agent/runGoal without awaiting it; the request id lets the test cancel it."""
    msg_id = f"run-{uuid.uuid4().hex[:8]}"
    if form == "request":
        future = client.protocol.send_request("agent/runGoal", params, msg_id=msg_id)
    else:
        arguments = types.ExecuteCommandParams(command="agent/runGoal", arguments=[params])
        future = client.protocol.send_request(
            types.WORKSPACE_EXECUTE_COMMAND, arguments, msg_id=msg_id
        )
    return asyncio.wrap_future(future), msg_id


async def start_sleeper(
    client: AgentClient, form: str, workspace: Path, **extra: Any
) -> tuple[asyncio.Future[Any], str, str, list[int]]:
    """A running run whose step started a process tree: (answer, request id, run id, pids).

    The pids are the host's (sandboxed or not): every process of the run, found by its run id.
    """
    ready = workspace / "ready"
    params = {"workspace": str(workspace), "steps": [step(sleeper(ready))], **extra}
    answer, msg_id = send_run(client, form, params)
    await wait_until(ready.exists)
    (run_id,) = run_ids(workspace)
    pids = run_processes(run_id)
    assert len(pids) >= 3  # the shell and its two sleeps, and bwrap's own when sandboxed
    return answer, msg_id, run_id, pids


async def assert_cleaned_up(workspace: Path, run_id: str, pids: list[int]) -> None:
    await wait_until(lambda: not living(pids) and not run_processes(run_id), timeout=10)
    await wait_until(lambda: trace_complete(workspace, run_id), timeout=10)
    records = trace_records(workspace, run_id)
    assert records[-1]["status"] == "cancelled"
    finished = [r for r in records if r["type"] == "step.finished"]
    assert [r["step"]["status"] for r in finished] == ["cancelled"]
