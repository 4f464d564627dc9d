"""Trust bits and run status exactly as the contract defines them."""

from __future__ import annotations

import pytest

from engine.models import Risk, StepResult
from engine.verify import run_status, trust


def results(*statuses: str) -> list[StepResult]:
    return [
        StepResult(
            id=f"s{i}",
            kind="runCli",
            cmd="x",
            risk=Risk(level="low"),
            decision="allow",
            status=s,  # type: ignore[arg-type]
        )
        for i, s in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("statuses", "t"),
    [
        (["succeeded"] * 4, 0.9),
        (["succeeded", "failed"], 0.45),
        (["succeeded", "succeeded", "skipped"], 0.6),
        (["succeeded", "denied", "rejected"], 0.3),
        (["timedOut", "cancelled"], 0.0),
        ([], 0.0),
    ],
)
def test_trust(statuses: list[str], t: float) -> None:
    assert trust(results(*statuses)) == t


def test_trust_rounds_to_three_places() -> None:
    assert trust(results("succeeded", "failed", "failed")) == 0.3
    assert trust(results("succeeded", "succeeded", "failed")) == 0.6
    assert trust(results(*(["succeeded"] * 2 + ["failed"] * 5))) == 0.257


def test_dry_run_trust_is_zero_and_status_planned() -> None:
    planned = results("planned", "planned")
    assert trust(planned, dry_run=True) == 0.0
    assert run_status(planned, dry_run=True, cancelled=False) == "planned"


def test_status() -> None:
    assert run_status(results("succeeded"), dry_run=False, cancelled=False) == "succeeded"
    assert run_status(results("succeeded", "skipped"), dry_run=False, cancelled=False) == "failed"
    assert run_status([], dry_run=False, cancelled=False) == "failed"
    assert run_status(results("succeeded"), dry_run=False, cancelled=True) == "cancelled"
