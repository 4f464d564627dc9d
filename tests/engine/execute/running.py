"""One process through the SubprocessRunner, as the runner's and the capture's tests run it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.execute.process import ProcessResult, ProcessSpec
from engine.execute.runner import SubprocessRunner
from engine.models import Stream

HANG_GUARD_S = 30.0  # generous: only catches hangs, never measures speed


def spec(tmp_path: Path, cmd: str, **changes: Any) -> ProcessSpec:
    values: dict[str, Any] = {
        "argv": ["/bin/sh", "-c", cmd],
        "cwd": tmp_path,
        "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
        "timeout_s": HANG_GUARD_S,
        "output_cap": 64 * 1024,
        "spill_dir": tmp_path / ".agent" / "runs" / "r1",
        "spill_name": "s1",
        "kill_grace_s": 0.5,
    }
    values.update(changes)
    return ProcessSpec(**values)


async def run(
    tmp_path: Path, cmd: str, sink: list[tuple[Stream, str]] | None = None, **changes: Any
) -> ProcessResult:
    """Run ``cmd``; pytest-timeout is the hang guard (wait_for would not wait for the cleanup)."""

    def on_output(stream: Stream, text: str) -> None:
        if sink is not None:
            sink.append((stream, text))

    return await SubprocessRunner().run(spec(tmp_path, cmd, **changes), on_output)
