"""A run's checkpoint: taken once, before the first round that may change files executes, and
sealed when the run ends (also on cancel or failure), so that the run can be reverted
(docs/gate.md "Checkpoints and revert"). Each stage is traced; a failure is traced and the run goes
on, except a trusted run, which relies on revert and refuses to start without one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.aio import to_the_end
from engine.execute.checkpoint import Checkpoint, CheckpointError
from engine.execute.steps import StepExecution, deliverable_path
from engine.models import WriteFileStep
from engine.vocab import SessionMode

log = logging.getLogger(__name__)


class RunCheckpoint:
    def __init__(
        self, workspace: Path, run_id: str, mode: SessionMode, trace: Callable[..., Any]
    ) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.mode = mode
        self.trace = trace
        self.tried = False  # taken, or failed: one per run
        self.point: Checkpoint | None = None

    async def take(self, executions: list[StepExecution], only_round: bool) -> None:
        """Store what the run may change before ``executions`` (a round) run: the written paths
        when that round is the run's only one and only writes files, else the whole workspace
        (later rounds may run anything). Nothing when a checkpoint was tried already or every
        step of the round only reads."""
        if self.tried or not any(s.verdict is None or s.verdict.changes for s in executions):
            return
        self.tried = True
        writes = [s.step.path for s in executions if isinstance(s.step, WriteFileStep)]
        only_writes = only_round and len(writes) == len(executions)
        scope = [deliverable_path(p) for p in writes] if only_writes else None
        taking = asyncio.to_thread(Checkpoint.take, self.workspace, self.run_id, scope)
        try:
            # to the end even if cancelled meanwhile: the run then seals it and stops
            point = await to_the_end(taking)
        except Exception as exc:
            self._failed("take", exc)
            if self.mode == "trusted":
                raise CheckpointError(
                    "mode: a trusted run relies on revert, and its checkpoint could not be "
                    f"taken ({exc}); nothing ran"
                ) from None
            return
        self.point = point
        stored = None if point.scope is None else list(point.scope)
        self.trace("checkpoint.taken", scope=stored, skipped=list(point.skipped))

    async def seal(self) -> None:
        """Store what the run left (nothing to do without a checkpoint)."""
        if self.point is None:
            return
        point, self.point = self.point, None
        try:
            sealed = await to_the_end(asyncio.to_thread(point.seal))
        except Exception as exc:
            self._failed("seal", exc)
            return
        self.trace("checkpoint.sealed", skipped=list(sealed.skipped))

    def _failed(self, stage: str, exc: Exception) -> None:
        if isinstance(exc, CheckpointError):
            log.warning("run %s: checkpoint %s failed: %s", self.run_id, stage, exc)
        else:
            log.exception("run %s: checkpoint %s failed unexpectedly", self.run_id, stage)
        self.trace("checkpoint.failed", stage=stage, error=str(exc) or repr(exc))
