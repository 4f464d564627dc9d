"""Verify: turn step outcomes into the run's status and trust bits."""

from __future__ import annotations

from engine.models import Bits, RunStatus, StepResult


def trust(results: list[StepResult], *, dry_run: bool = False) -> float:
    """``t = round(0.9 * succeeded / total, 3)``; 0.0 for an empty plan and for a dry run."""
    if dry_run or not results:
        return 0.0
    succeeded = sum(1 for r in results if r.status == "succeeded")
    return round(0.9 * succeeded / len(results), 3)


def bits(results: list[StepResult], *, dry_run: bool = False) -> Bits:
    return Bits(t=trust(results, dry_run=dry_run))


def run_status(results: list[StepResult], *, dry_run: bool, cancelled: bool) -> RunStatus:
    """``succeeded`` only when there were steps and every one succeeded."""
    if cancelled:
        return "cancelled"
    if dry_run:
        return "planned"
    if results and all(r.status == "succeeded" for r in results):
        return "succeeded"
    return "failed"
