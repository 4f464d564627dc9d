"""The server's hot path against its baseline and against xargs (not a test; the machine is noisy).

    .venv/bin/python benchmarks/bench_server.py [-n ROUNDS] [--baseline REV]

Side by side, in interleaved rounds (A B C A B C ...), medians and ratios:
  1. 200 x `true` at maxParallel 8 through `agentd serve` (stdio, all notifications read), this
     tree and the baseline revision, beside `xargs -P 8` running the same 200 `sh -c true`
     (target: this tree at most 1.5x xargs);
  2. the first `agent/runGoal` (one `true` step) sent right after `initialized`, request to answer
     (target: within 50 ms), this tree and the baseline; and sent 2 s after it (2b), as when a
     person picks the goal;
  3. spawn -> `initialize` answer, this tree, the baseline and a bare pygls server.
The baseline is ``git archive REV engine server`` run with this venv (default: daadf9b, the last
commit before the house was rebuilt). Steps run unsandboxed in both (benchmarks/bench_sandbox.py
measures what the sandbox adds). Prints ``uptime`` with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import uptime, xargs_trues  # noqa: E402

BARE_SERVER = (
    'from pygls.lsp.server import LanguageServer\nLanguageServer("bare", "0").start_io()\n'
)
TRUES = {"steps": [{"kind": "runCli", "cmd": "true"}] * 200, "maxParallel": 8}
ONE = {"steps": [{"kind": "runCli", "cmd": "true"}]}


class Server:
    """A server over stdio with a minimal blocking client that reads every message it sends."""

    def __init__(self, argv: list[str], pythonpath: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self._next_id = 0

    def send(self, method: str, params: Any, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            self._next_id += 1
            message["id"] = self._next_id
        self._write(message)
        return self._next_id

    def answer(self, msg_id: int) -> Any:
        assert self.proc.stdout is not None
        while True:
            message = read_message(self.proc.stdout)
            if "method" in message and "id" in message:  # a request to us: not supported
                self._write({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601}})
            elif message.get("id") == msg_id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result")

    def call(self, method: str, params: Any) -> Any:
        return self.answer(self.send(method, params))

    def initialize(self, workspace: Path) -> None:
        self.call(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": workspace.as_uri(),
                "capabilities": {},
                # the server's own cost: bench_sandbox.py measures what the sandbox adds
                "initializationOptions": {"agent": {"sandbox": "off"}},
            },
        )

    def close(self) -> None:
        try:
            self.call("shutdown", None)
            self.send("exit", None, notify=True)
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, EOFError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()


def read_message(stdout: IO[bytes]) -> dict[str, Any]:
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process itself has used: steady where wall time is not."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def run_trues(server: Server, workspace: Path) -> None:
    result = server.call("agent/runGoal", {**TRUES, "workspace": str(workspace)})
    assert result["status"] == "succeeded", result["status"]


def first_run_goal(argv: list[str], tree: Path, workspace: Path, pause_s: float = 0.0) -> float:
    """The first runGoal's request-to-answer time, sent ``pause_s`` after ``initialized``."""
    server = Server(argv, tree)
    try:
        server.initialize(workspace)
        server.send("initialized", {}, notify=True)
        time.sleep(pause_s)
        return timed(lambda: server.call("agent/runGoal", {**ONE, "workspace": str(workspace)}))
    finally:
        server.close()


def spawn_initialize(argv: list[str], tree: Path, workspace: Path) -> float:
    began = time.perf_counter()
    server = Server(argv, tree)
    server.initialize(workspace)
    elapsed = time.perf_counter() - began
    server.close()
    return elapsed


def report(title: str, columns: dict[str, list[float]], reference: str | None = None) -> None:
    print(f"\n{title}")
    medians = {name: statistics.median(values) for name, values in columns.items()}
    for name, median in medians.items():
        ratio = f"  {median / medians[reference]:.2f}x {reference}" if reference else ""
        print(f"  {name:<22} median {median * 1000:8.1f} ms{ratio}")


def baseline_tree(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", revision, "engine", "server"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=11, help="rounds (default 11)")
    parser.add_argument("--baseline", default="daadf9b", help="revision to compare with")
    args = parser.parse_args()
    print(f"uptime: {uptime()}")
    print(f"python {sys.version.split()[0]}, {args.n} interleaved rounds, baseline {args.baseline}")
    with tempfile.TemporaryDirectory() as tmp:
        workspace, old_dir = Path(tmp) / "ws", Path(tmp) / "baseline"
        workspace.mkdir()
        old_dir.mkdir()
        baseline = baseline_tree(args.baseline, old_dir)
        (Path(tmp) / "bare.py").write_text(BARE_SERVER)
        serve = [sys.executable, "-m", "server"]
        trees = {"agentd (this tree)": ROOT, f"agentd ({args.baseline})": baseline}

        servers = {name: Server(serve, tree) for name, tree in trees.items()}
        for server in servers.values():
            server.initialize(workspace)
            server.send("initialized", {}, notify=True)
            run_trues(server, workspace)  # warm-up: imports, first spawns
        spawns: dict[str, list[float]] = {name: [] for name in [*servers, "xargs -P 8"]}
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.n):
            for name, server in servers.items():
                before = cpu_seconds(server.proc.pid)
                spawns[name].append(timed(lambda s=server: run_trues(s, workspace)))  # type: ignore[misc]
                cpu[name].append((cpu_seconds(server.proc.pid) - before) / 200)
            spawns["xargs -P 8"].append(xargs_trues())
        for server in servers.values():
            server.close()
        report("1. 200 x true, maxParallel 8 (target <= 1.5x xargs)", spawns, "xargs -P 8")
        print("   the server's own CPU per step (median):")
        for name, per_step in cpu.items():
            print(f"  {name:<22} {statistics.median(per_step) * 1e6:8.0f} µs")

        firsts: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.n):
            for name, tree in trees.items():
                firsts[name].append(first_run_goal(serve, tree, workspace))
        report("2. first agent/runGoal right after initialized (target <= 50 ms)", firsts)
        later: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.n):
            for name, tree in trees.items():
                later[name].append(first_run_goal(serve, tree, workspace, pause_s=2.0))
        report("2b. first agent/runGoal 2 s after initialized (a person picking a goal)", later)

        starts: dict[str, list[float]] = {name: [] for name in [*trees, "bare pygls"]}
        for _ in range(args.n):
            for name, tree in trees.items():
                starts[name].append(spawn_initialize(serve, tree, workspace))
            bare = [sys.executable, str(Path(tmp) / "bare.py")]
            starts["bare pygls"].append(spawn_initialize(bare, ROOT, workspace))
        report("3. spawn -> initialize answer", starts, "bare pygls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
