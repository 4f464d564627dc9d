"""Clients that stop reading, with real processes: the server's loop never blocks on them, timeouts
and signals still work, no step survives, memory stays bounded and other connections are served."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from pathlib import Path
from typing import Any

from engine.trace import read_trace
from tests.procs import processes_running
from tests.server.agent_client import SERVER, server_env, wait_until
from tests.server.transport.servers import listening, read_frames, request

# Each step prints 300 KB: its final agent/stepUpdated carries 256 KB (the capture cap), so ten of
# them are far more than a pipe (64 KB) and the outbox's high water (1 MB) hold.
FLOOD = [{"kind": "runCli", "cmd": "head -c 300000 /dev/zero | tr '\\0' x"} for _ in range(10)]


def sleeper(seconds: str, timeout_ms: int | None = None) -> dict[str, Any]:
    """A step that sleeps for an odd number of seconds, so the host can find its process."""
    step: dict[str, Any] = {"kind": "runCli", "cmd": f"exec sleep {seconds}"}
    if timeout_ms is not None:
        step["timeoutMs"] = timeout_ms
    return step


def vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        match = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    assert match
    return int(match[1])


def trace(workspace: Path) -> list[dict[str, Any]]:
    """The whole records of the workspace's one run so far ([] before its trace exists)."""
    paths = list((workspace / ".agent" / "runs").glob("*.jsonl"))
    return read_trace(paths[0]).records if paths else []


def finished(workspace: Path) -> bool:
    records = trace(workspace)
    return bool(records) and records[-1]["type"] == "run.finished"


async def test_a_stdio_client_that_stops_reading_blocks_nothing(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    init: dict[str, Any] = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
    proc.stdin.write(request(1, "initialize", init))
    await proc.stdin.drain()
    await asyncio.wait_for(read_frames(proc.stdout, until_id=1), 30)
    # From here on the client reads nothing.
    timed, stopped = "61.5", "62.5"
    steps = [*FLOOD, sleeper(timed, timeout_ms=2000), sleeper(stopped)]
    proc.stdin.write(request(2, "agent/runGoal", {"workspace": str(tmp_path), "steps": steps}))
    await proc.stdin.drain()
    await wait_until(lambda: processes_running("sleep", stopped), timeout=60)
    # The 2 s timeout fires although nobody reads: the loop is not stuck in a write.
    await wait_until(lambda: not processes_running("sleep", timed), timeout=30)
    await wait_until(lambda: any(r.get("stepId") == "s11" for r in trace(tmp_path)[-3:]), 30)
    finished = {
        r["stepId"]: r["step"]["status"] for r in trace(tmp_path) if r["type"] == "step.finished"
    }
    assert finished["s11"] == "timedOut"
    # SIGTERM still ends the server, and its last step with it.
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.stdout.read(), 60)  # asyncio's wait() also waits for the pipe
    assert await asyncio.wait_for(proc.wait(), 60) == 1
    assert processes_running("sleep", stopped) == []
    assert trace(tmp_path)[-1]["status"] == "cancelled"
    assert "Traceback" not in (await proc.stderr.read()).decode()


async def stop(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    proc.send_signal(signal.SIGTERM)
    log = await asyncio.wait_for(proc.stderr.read(), 60)
    await asyncio.wait_for(proc.wait(), 60)
    return log.decode()


def flood_run(workspace: Path, seconds: str) -> bytes:
    """A sleeper (it starts at once) and 200 steps of 256 KB results: far more than any buffer
    on the way."""
    steps = [sleeper(seconds), *FLOOD * 20]
    return request(
        2, "agent/runGoal", {"workspace": str(workspace), "steps": steps, "maxParallel": 4}
    )


async def test_a_tcp_client_that_never_reads_is_given_up_and_others_are_served(
    tmp_path: Path,
) -> None:
    def initialize(token: str) -> bytes:
        options = {"token": token}
        init = {"rootUri": tmp_path.as_uri(), "capabilities": {}, "initializationOptions": options}
        return request(1, "initialize", {"processId": None, **init})

    # The baseline: the same run for a client that reads (the sleeper is cancelled at the end).
    proc, host, port, token, _ = await listening("--tcp", "127.0.0.1:0", "--log-level", "INFO")
    address = (host, port)
    baseline_ws = tmp_path / "baseline"
    baseline_ws.mkdir()
    try:
        reader, writer = await asyncio.open_connection(*address)
        writer.write(initialize(token) + flood_run(baseline_ws, "63.5"))

        # Every flood step is done (only the sleeper is left) before the run is cancelled.
        def flooded() -> bool:
            steps = [r for r in trace(baseline_ws) if r["type"] == "step.finished"]
            return len(steps) == 200

        await wait_until(flooded, timeout=120)
        writer.write(request(3, "agent/cancel", {"runId": trace(baseline_ws)[0]["runId"]}))
        await asyncio.wait_for(read_frames(reader, until_id=2), 120)
        baseline_kib = vm_hwm_kib(proc.pid)
        writer.close()
    finally:
        await stop(proc)

    args = ("--tcp", "127.0.0.1:0", "--log-level", "INFO", "--stall-timeout", "5")
    proc, host, port, token, printed = await listening(*args)
    address = (host, port)
    stuck_ws, other_ws = tmp_path / "stuck", tmp_path / "other"
    stuck_ws.mkdir()
    other_ws.mkdir()
    stuck = socket.create_connection(address)
    try:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that never reads
        stuck.sendall(initialize(token) + flood_run(stuck_ws, "64.5"))
        await wait_until(lambda: processes_running("sleep", "64.5"), timeout=120)
        # Another connection is served while the first one is stuck.
        reader, writer = await asyncio.open_connection(*address)
        echo = {"workspace": str(other_ws), "steps": [{"kind": "runCli", "cmd": "echo served"}]}
        writer.write(initialize(token) + request(2, "agent/runGoal", echo))
        answers = await asyncio.wait_for(read_frames(reader, until_id=2), 60)
        assert answers[-1]["result"]["stdout"] == "served\n"
        writer.close()
        # The stuck connection is given up (stall timeout), its run cancelled, its steps gone.
        await wait_until(lambda: finished(stuck_ws), timeout=120)
        assert trace(stuck_ws)[-1]["status"] == "cancelled"
        assert processes_running("sleep", "64.5") == []
        # What the stuck connection holds is bounded (the outbox gives it up), beside
        # what the same run costs anyway; it once grew without bound (815 MB).
        assert vm_hwm_kib(proc.pid) < baseline_kib + 96 * 1024, (vm_hwm_kib(proc.pid), baseline_kib)
    finally:
        stuck.close()
        log = printed + await stop(proc)
    assert "closing the connection: the client read nothing for 5 s" in log
