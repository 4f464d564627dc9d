"""The gate's cost per command, the rebuilt gate beside the first one (not a test: this machine
is shared and noisy, so it prints figures instead of asserting them).

    .venv/bin/python benchmarks/bench_gate.py [--rounds 7]

The first gate is loaded from git revision daadf9b (``git archive daadf9b engine``, unpacked into
a temporary folder and imported from there), so none of its code stays in the tree. Both gates
judge the same commands (the tables of cases in tests/engine/gate/cases*.py: built-in goals,
everyday developer commands and hostile ones) in interleaved rounds; each command's time is the
median over rounds, and the figures are the median and 90th percentile over commands.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import uptime  # noqa: E402
from engine.gate.rules import assess_command  # noqa: E402
from tests.engine.gate.cases import ALL  # noqa: E402

OLD_REVISION = "daadf9b"
Assess = Callable[[str, Path], object]


def load_old_gate(folder: Path) -> Assess:
    """``assess_command`` of the first gate, imported from its own copy of ``engine``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", OLD_REVISION, "engine"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    ours = {k: v for k, v in sys.modules.items() if k == "engine" or k.startswith("engine.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        old: Assess = importlib.import_module("engine.gate.rules").assess_command
    finally:
        sys.path.remove(str(folder))
        for name in [k for k in sys.modules if k == "engine" or k.startswith("engine.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    return old


def time_each(assess: Assess, commands: list[str], workspace: Path) -> list[float]:
    times = []
    for cmd in commands:
        began = time.perf_counter_ns()
        assess(cmd, workspace)
        times.append((time.perf_counter_ns() - began) / 1000)
    return times


def main(rounds: int) -> None:
    commands = [case.cmd for case in ALL]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as ws:
        workspace = Path(ws)
        old = load_old_gate(Path(tmp))
        gates: dict[str, Assess] = {"old": old, "new": assess_command}
        for assess in gates.values():  # warm-up: imports, tree-sitter's parser, caches
            time_each(assess, commands, workspace)
        samples: dict[str, list[list[float]]] = {name: [] for name in gates}
        for index in range(rounds):
            order = list(gates) if index % 2 == 0 else list(reversed(gates))
            for name in order:
                samples[name].append(time_each(gates[name], commands, workspace))
    print(f"{len(commands)} commands, {rounds} interleaved rounds, python {sys.version.split()[0]}")
    print(f"uptime: {uptime()}")
    medians = {}
    for name, runs in samples.items():
        per_command = [statistics.median(times) for times in zip(*runs, strict=True)]
        median = statistics.median(per_command)
        p90 = statistics.quantiles(per_command, n=10)[-1]
        medians[name] = median
        label = "first gate (daadf9b)" if name == "old" else "rebuilt gate"
        print(f"{label:22} median {median:7.1f} µs/command   p90 {p90:7.1f} µs")
    print(f"ratio rebuilt / first:  {medians['new'] / medians['old']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    main(parser.parse_args().rounds)
