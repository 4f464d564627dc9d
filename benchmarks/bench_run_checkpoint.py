"""What a checkpoint adds to a run (not a test: this machine is shared and noisy).

    .venv/bin/python benchmarks/bench_run_checkpoint.py [--files 1000] [--reps 9]

A git repository of small files; medians of interleaved runs through the Engine of one step
each: `cat` (reads: no checkpoint), `touch` (a command: the whole workspace is checkpointed
before and sealed after) and a writeFile (only its path is checkpointed). The differences to the
`cat` run are what checkpoints cost a run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import uptime
from engine.config import EngineConfig
from engine.engine import Engine
from engine.models import RunGoalParams

STEPS: dict[str, dict[str, Any]] = {
    "cat (reads)": {"kind": "runCli", "cmd": "cat pkg0/m0.py"},
    "touch (command)": {"kind": "runCli", "cmd": "touch pkg0/m0.py"},
    "writeFile": {"kind": "writeFile", "path": "out/note.txt", "content": "x\n"},
}


async def timed_run(engine: Engine, ws: Path, step: dict[str, Any]) -> float:
    params = RunGoalParams.model_validate({"steps": [step]})
    began = time.perf_counter()
    result = await engine.start(params, workspace=ws).result()
    elapsed = time.perf_counter() - began
    assert result.status == "succeeded", result.status
    return elapsed * 1000


def make_repository(ws: Path, files: int) -> None:
    for index in range(files):
        folder = ws / f"pkg{index // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"m{index % 100}.py").write_text(f"x = {index}\n" * 20)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for args in (["init", "-q"], ["add", "."], [*identity, "commit", "-qm", "files"]):
        subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True)


async def main(files: int, reps: int) -> None:
    engine = Engine(EngineConfig())
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        make_repository(ws, files)
        for step in STEPS.values():  # warm-up: imports, the checkpoint store's first snapshot
            await timed_run(engine, ws, step)
        times: dict[str, list[float]] = {name: [] for name in STEPS}
        for _ in range(reps):
            for name, step in STEPS.items():
                times[name].append(await timed_run(engine, ws, step))
    print(f"uptime: {uptime()}")
    print(f"{files} files, {reps} reps (interleaved), python {sys.version.split()[0]}")
    base = statistics.median(times["cat (reads)"])
    for name, taken in times.items():
        median = statistics.median(taken)
        print(f"  {name:16} median {median:6.1f} ms   (+{median - base:5.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=9)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.files, arguments.reps))
