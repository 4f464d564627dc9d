"""Engine overhead, measured side by side (not a test: this machine is shared and noisy).

    .venv/bin/python benchmarks/bench_engine.py [--reps 5]

Prints medians of interleaved repetitions:
  1. wall time of 32 x `sleep 0.5` steps run at once (maxParallel 32; target <= 0.7 s);
  2. 200 x `true` steps at maxParallel 8 through the engine vs `xargs -P 8` running the same
     200 commands (target ratio <= 1.5). Both spawn `sh -c true` with piped output, unsandboxed
     (benchmarks/bench_sandbox.py measures what the sandbox adds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import uptime, xargs_trues
from engine.config import EngineConfig
from engine.engine import Engine
from engine.models import RunGoalParams


async def engine_run(engine: Engine, ws: Path, cmd: str, n: int, parallel: int) -> float:
    params = RunGoalParams.model_validate(
        {"steps": [{"kind": "runCli", "cmd": cmd}] * n, "maxParallel": parallel}
    )
    began = time.perf_counter()
    result = await engine.start(params, workspace=ws).result()
    elapsed = time.perf_counter() - began
    assert result.status == "succeeded", result.status
    return elapsed


async def main(reps: int) -> None:
    engine = Engine(EngineConfig(sandbox="off"))  # the engine's own cost (see bench_sandbox.py)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        await engine_run(engine, ws, "true", 20, 8)  # warm-up: imports, child watcher
        xargs_trues(20)
        sleeps: list[float] = []
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(reps):
            sleeps.append(await engine_run(engine, ws, "sleep 0.5", 32, 32))
            ours.append(await engine_run(engine, ws, "true", 200, 8))
            theirs.append(xargs_trues())
    sleep_median = statistics.median(sleeps)
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"uptime: {uptime()}")
    print(f"reps: {reps} (interleaved), python {sys.version.split()[0]}")
    print(f"32 x sleep 0.5, maxParallel 32: median {sleep_median:.3f} s   (target <= 0.7 s)")
    print(f"200 x true, maxParallel 8:      agentd {ours_median * 1000:.0f} ms")
    print(f"200 x true, xargs -P 8:         xargs  {theirs_median * 1000:.0f} ms")
    print(f"ratio agentd / xargs:           {ours_median / theirs_median:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    asyncio.run(main(parser.parse_args().reps))
