"""The process-runner interface; the sandbox (engine.execute.sandbox) wraps ``argv`` behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.execute.sandbox import Limits, Plan
from engine.models import Stream

DEFAULT_SPILL_CAP = 1 << 30  # 1 GiB per stream: `yes` under a long timeout must not fill the disk

OutputSink = Callable[[Stream, str], None]
"""Receives decoded output as it arrives, only up to the capture cap (never the flood past it)."""


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    timeout_s: float
    output_cap: int  # bytes kept per stream; the rest is drained and spilled
    spill_dir: Path  # full output goes to spill_dir/<spill_name>.<stream> once past the cap
    spill_name: str
    kill_grace_s: float = 2.0
    # Masks secrets in what is spilled to disk; the captured text and ``on_output`` are left
    # to the caller. Applied to whole lines (see ``engine.secrets.StreamRedactor``).
    redact: Callable[[str], str] | None = None
    spill_cap: int = DEFAULT_SPILL_CAP  # bytes at most in each spill file; the rest is drained
    sandbox: Plan | None = None  # None: run as is (cwd and env as given)
    limits: Limits | None = None  # per-step resource limits


@dataclass(slots=True)
class ProcessResult:
    exit_code: int | None  # None when killed by a signal (timeout, cancel) before exiting
    stdout: str
    stderr: str
    truncated: bool
    timed_out: bool
    duration_ms: int
    spilled: dict[Stream, Path] = field(default_factory=dict)
    spill_truncated: bool = False  # a spill file stopped at spill_cap: it holds only the start


class ProcessRunner(Protocol):
    """Runs one command to completion.

    The process gets its own session/process group and stdin from /dev/null. On timeout the whole
    group is killed (TERM, then KILL after the grace) and ``timed_out`` is set. If the awaiting task
    is cancelled, the whole group is killed and reaped before CancelledError propagates.
    """

    async def run(
        self, spec: ProcessSpec, on_output: OutputSink | None = None
    ) -> ProcessResult: ...
