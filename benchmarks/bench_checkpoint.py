"""What a checkpoint costs (not a test: this machine is shared and noisy, so it prints figures).

    .venv/bin/python benchmarks/bench_checkpoint.py [--files 5000] [--rounds 5]

A git repository of small files: the first checkpoint (every file hashed), then rounds of
checkpoint, one edited file, seal and revert, with the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import uptime
from engine.execute.checkpoint import Checkpoint
from engine.execute.revert import revert

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    result = work()
    return (time.perf_counter() - began) * 1000, result


def main(files: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        for index in range(files):
            folder = ws / f"pkg{index // 100}"
            folder.mkdir(exist_ok=True)
            (folder / f"m{index % 100}.py").write_text(f"x = {index}\n" * 20)
        identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        for args in (["init", "-q"], ["add", "."], [*identity, "commit", "-qm", "files"]):
            subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True)
        first, point = timed(lambda: Checkpoint.take(ws, "first"))
        point.seal()
        takes, seals, reverts = [], [], []
        for index in range(rounds):
            run_id = f"round-{index}"
            took, point = timed(partial(Checkpoint.take, ws, run_id))
            (ws / "pkg0" / "m0.py").write_text(f"edited in round {index}\n")
            sealed, _ = timed(point.seal)
            reverted, _ = timed(partial(revert, ws, run_id))
            takes.append(took)
            seals.append(sealed)
            reverts.append(reverted)
    print(f"{files} files in a git repository, {rounds} rounds; uptime: {uptime()}")
    print(f"first checkpoint (hashes every file): {first:7.0f} ms")
    print(f"later checkpoint, median:             {statistics.median(takes):7.0f} ms")
    print(f"seal, median:                         {statistics.median(seals):7.0f} ms")
    print(f"revert of one edited file, median:    {statistics.median(reverts):7.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.files, arguments.rounds)
