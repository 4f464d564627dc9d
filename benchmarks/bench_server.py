"""Benchmark of the server's latency (not a test): ``python benchmarks/bench_server.py [-n N]``.

1. Spawn -> ``initialize`` answer: ``python -m server`` against a bare pygls server from the same
   venv, interleaved A B A B ..., medians and their ratio (the goal is at most ~1.1x).
2. ``agent/runGoal`` request -> answer of a one-step goal (``true``, approval allow) through the
   server, against the same run on an in-process Engine, interleaved; the first (cold) request of
   each server is reported apart.

Times drift by 20% from one minute to the next on a shared machine: only compare figures from the
same invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
BARE_SERVER = """
from pygls.lsp.server import LanguageServer

LanguageServer("bare", "0").start_io()
"""
ONE_STEP = {"steps": [{"kind": "runCli", "cmd": "true"}], "approval": "allow"}


class Connection:
    """A minimal blocking JSON-RPC client over a child's stdio (no client-side framework cost)."""

    def __init__(self, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self._next_id = 0

    def send(self, method: str, params: Any, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            self._next_id += 1
            message["id"] = self._next_id
        body = json.dumps(message).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()
        return self._next_id

    def answer(self, msg_id: int) -> Any:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            message = _read_message(stdout)
            if "method" in message and "id" in message:  # a request to us: say "not supported"
                self._reply_error(message["id"])
            elif message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result")

    def call(self, method: str, params: Any) -> Any:
        return self.answer(self.send(method, params))

    def _reply_error(self, msg_id: Any) -> None:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": -32601, "message": "no"}}
        ).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def close(self) -> None:
        try:
            self.call("shutdown", None)
            self.send("exit", None, notify=True)
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def _read_message(stdout: IO[bytes]) -> dict[str, Any]:
    length = 0
    while True:
        line = stdout.readline()
        if not line:
            raise EOFError("the server closed its stdout")
        if match := re.match(rb"Content-Length: (\d+)", line):
            length = int(match[1])
        elif line in (b"\r\n", b"\n") and length:
            message: dict[str, Any] = json.loads(stdout.read(length))
            return message


def initialize_params(workspace: Path) -> dict[str, Any]:
    return {
        "processId": os.getpid(),
        "rootUri": workspace.as_uri(),
        "capabilities": {"window": {"workDoneProgress": False}},
    }


def time_initialize(argv: list[str], workspace: Path) -> float:
    began = time.perf_counter()
    connection = Connection(argv)
    connection.call("initialize", initialize_params(workspace))
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def time_runs(workspace: Path, rounds: int) -> tuple[float, list[float], list[float]]:
    """(cold first request, then per round: via the server, on an in-process Engine)."""
    sys.path.insert(0, str(ROOT))
    from engine.engine import Engine
    from engine.models import RunGoalParams

    connection = Connection([sys.executable, "-m", "server"])
    connection.call("initialize", initialize_params(workspace))
    connection.send("initialized", {}, notify=True)
    loop = asyncio.new_event_loop()
    engine = Engine()
    params = RunGoalParams.model_validate(ONE_STEP)

    async def in_process() -> None:
        result = await engine.start(params, workspace=workspace).result()
        assert result.status == "succeeded"

    def served() -> float:
        began = time.perf_counter()
        result = connection.call("agent/runGoal", ONE_STEP)
        assert result["status"] == "succeeded", result
        return time.perf_counter() - began

    def direct() -> float:
        began = time.perf_counter()
        loop.run_until_complete(in_process())
        return time.perf_counter() - began

    first = served()
    direct()  # warm the in-process side too
    via, floor = [], []
    for _ in range(rounds):
        via.append(served())
        floor.append(direct())
    connection.close()
    loop.close()
    return first, via, floor


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="rounds (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        bare_file = workspace / "bare_server.py"
        bare_file.write_text(BARE_SERVER)
        agentd = [sys.executable, "-m", "server"]
        bare = [sys.executable, str(bare_file)]
        time_initialize(agentd, workspace)  # warm the page cache for both
        time_initialize(bare, workspace)

        print(f"spawn -> initialize answer, {args.n} interleaved rounds")
        print(f"{'round':>5}  {'agentd serve':>12}  {'bare pygls':>12}")
        ours, theirs = [], []
        for index in range(args.n):
            ours.append(time_initialize(agentd, workspace))
            theirs.append(time_initialize(bare, workspace))
            print(f"{index + 1:>5}  {ms(ours[-1]):>12}  {ms(theirs[-1]):>12}")
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(
            f"{'median':>5}  {ms(statistics.median(ours)):>12}  {ms(statistics.median(theirs)):>12}"
        )
        print(f"ratio agentd/bare: {ratio:.2f}x\n")

        print(f"agent/runGoal of one step (`true`, approval allow), {args.n} interleaved rounds")
        print(f"{'round':>5}  {'via server':>12}  {'in-process':>12}")
        first, served, direct = time_runs(workspace, args.n)
        for index, (a, b) in enumerate(zip(served, direct, strict=True)):
            print(f"{index + 1:>5}  {ms(a):>12}  {ms(b):>12}")
        medians = (ms(statistics.median(served)), ms(statistics.median(direct)))
        print(f"{'median':>5}  {medians[0]:>12}  {medians[1]:>12}")
        print(f"first request of a fresh server (imports the engine): {ms(first)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
