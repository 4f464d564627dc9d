"""A run in flight, as its caller holds it: the run id at once, the RunResult when it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.models import RunResult


class RunHandle:
    """A run in flight: its id at once, its RunResult when it ends."""

    def __init__(self, run_id: str, goal: str, workspace: Path) -> None:
        self.run_id = run_id
        self.goal = goal
        self.workspace = workspace
        self._task: asyncio.Task[RunResult] | None = None
        self._cancel_requested = False
        self.failure: str | None = None  # why the run was stopped as failed (see fail())
        self._running = False  # the pipeline has begun; before that a cancel is only a flag

    def attach(self, task: asyncio.Task[RunResult]) -> None:
        """The task that runs the pipeline (set once, by Engine.start)."""
        self._task = task

    def mark_running(self) -> None:
        """The pipeline has begun: from now on a cancel cancels its task."""
        self._running = True

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def cancel(self) -> bool:
        """Ask the run to stop. Idempotent; True while the run is still active."""
        if self._task is None or self._task.done():
            return False
        if not self._cancel_requested:
            self._cancel_requested = True
            if self._running:
                self._task.cancel()
        return True

    def fail(self, reason: str) -> None:
        """Stop the run because it cannot go on (its trace cannot be written): it ends ``failed``
        with ``reason`` as its error, its running steps stopped."""
        if self.failure is None:
            self.failure = reason
        self.cancel()

    async def result(self) -> RunResult:
        """The RunResult (status ``cancelled`` after cancel()). If the caller is cancelled, the
        run is cancelled too and fully cleaned up before CancelledError reaches the caller."""
        assert self._task is not None
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if self._task.done() and not self._task.cancelled():
                return self._task.result()  # the run ended; it is only the caller being cancelled
            self.cancel()
            await asyncio.wait({self._task})
            raise
