"""What the sandbox costs (not a test; the machine is noisy).

    .venv/bin/python benchmarks/bench_sandbox.py [-n ROUNDS]

Side by side, in interleaved rounds, medians:
  1. one step (`true`) through the runner: unsandboxed, bubblewrap, Landlock; the sandboxes'
     overhead per step (goal: at most 12 ms);
  2. 200 x `true` at maxParallel 8 through the engine, unsandboxed and with bubblewrap, beside
     `xargs -P 8` running the same 200 `sh -c true`.
Prints ``uptime`` with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import uptime, xargs_trues
from engine.config import EngineConfig
from engine.engine import Engine
from engine.environment import step_environment
from engine.execute.process import ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.execute.sandbox import Plan, SandboxKind, in_effect, new_scratch, remove_scratch
from engine.models import RunGoalParams


async def one_step(runner: SubprocessRunner, kind: SandboxKind, ws: Path, scratch: Path) -> float:
    spec = ProcessSpec(
        argv=["/bin/sh", "-c", "true"],
        cwd=ws,
        env=step_environment(os.environ),
        timeout_s=60,
        output_cap=1 << 16,
        spill_dir=scratch,
        spill_name="s",
        sandbox=None if kind == "off" else Plan(kind, ws, scratch),
    )
    began = time.perf_counter()
    result = await runner.run(spec)
    assert result.exit_code == 0
    return time.perf_counter() - began


async def trues(engine: Engine, ws: Path) -> float:
    params = RunGoalParams.model_validate(
        {"steps": [{"kind": "runCli", "cmd": "true"}] * 200, "maxParallel": 8}
    )
    began = time.perf_counter()
    result = await engine.start(params, workspace=ws).result()
    assert result.status == "succeeded", result.status
    return time.perf_counter() - began


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms"


async def main(rounds: int) -> None:
    print(f"uptime: {uptime()}")
    kinds: list[SandboxKind] = ["off", *(k for k in ("bwrap", "landlock") if in_effect(k) == k)]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        scratch = new_scratch(f"bench-{os.getpid()}")
        runner = SubprocessRunner()
        singles: dict[str, list[float]] = {kind: [] for kind in kinds}
        for kind in kinds:
            await one_step(runner, kind, ws, scratch)  # warm-up
        for _ in range(rounds * 5):
            for kind in kinds:
                singles[kind].append(await one_step(runner, kind, ws, scratch))
        print(f"\n1. one step (`true`), {rounds * 5} interleaved rounds, median wall time")
        for kind in kinds:
            over = statistics.median(singles[kind]) - statistics.median(singles["off"])
            extra = "" if kind == "off" else f"  (+{over * 1000:.1f} ms a step; goal <= 12 ms)"
            print(f"  {kind:<9} {ms(singles[kind])}{extra}")
        remove_scratch(scratch)

        engines = {
            "agentd, no sandbox": Engine(EngineConfig(sandbox="off")),
            "agentd, bwrap": Engine(EngineConfig(sandbox="auto")),
        }
        many: dict[str, list[float]] = {name: [] for name in [*engines, "xargs -P 8"]}
        for engine in engines.values():
            await trues(engine, ws)  # warm-up
        for _ in range(rounds):
            for name, engine in engines.items():
                many[name].append(await trues(engine, ws))
            many["xargs -P 8"].append(xargs_trues())
        print(f"\n2. 200 x true, maxParallel 8, {rounds} interleaved rounds, median wall time")
        reference = statistics.median(many["xargs -P 8"])
        for name, values in many.items():
            print(f"  {name:<20} {ms(values)}  {statistics.median(values) / reference:.2f}x xargs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="rounds (default 7)")
    asyncio.run(main(parser.parse_args().n))
