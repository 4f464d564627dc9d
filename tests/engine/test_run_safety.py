"""Safety through the pipeline: approvals, denials, secrets, confined writes, capped output."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.events import ApprovalOutcome, ApprovalRequest
from engine.gate.base import GateContext, Verdict
from engine.models import Risk, RunCliStep, RunGoalParams, WriteFileStep
from tests.engine.runs import FAST, records, run, trace_types

ASK_STEP = {"id": "rm", "kind": "runCli", "cmd": "rm -f ./nonexistent-file"}


@pytest.mark.parametrize(
    ("approval", "status", "approved_by"),
    [("allow", "succeeded", "run"), ("reject", "rejected", None), ("prompt", "rejected", None)],
)
async def test_approval_modes_without_a_callback(
    tmp_path: Path, approval: str, status: str, approved_by: str | None
) -> None:
    result = await run(tmp_path, steps=[ASK_STEP], approval=approval)
    step = result.results[0]
    assert step.decision == "ask" and step.status == status and step.approved_by == approved_by


async def test_approval_callback_allow_deny_and_timeout(tmp_path: Path) -> None:
    asked: list[ApprovalRequest] = []

    async def ask(request: ApprovalRequest) -> ApprovalOutcome:
        asked.append(request)
        if request.step.id == "yes":
            return ApprovalOutcome(True, "user", option_id="allow_once")
        if request.step.id == "no":
            return ApprovalOutcome(False, "user", option_id="reject_once")
        await asyncio.sleep(60)  # never answers: the engine's approval timeout rejects it
        raise AssertionError("unreachable")

    steps = [{**ASK_STEP, "id": name} for name in ("yes", "no", "slow")]
    engine = Engine(FAST)
    handle = engine.start(RunGoalParams(steps=steps), workspace=tmp_path, ask=ask)  # type: ignore[arg-type]
    result = await handle.result()
    trace_types(tmp_path, result)
    by_id = {r.id: r for r in result.results}
    assert (by_id["yes"].status, by_id["yes"].approved_by) == ("succeeded", "user")
    assert by_id["no"].status == "rejected" and by_id["slow"].status == "rejected"
    assert {r.step.status for r in asked} == {"awaitingApproval"}
    resolved = {
        r["stepId"]: (r["allowed"], r["by"], r["optionId"])
        for r in records(tmp_path, result, "approval.resolved")
    }
    assert resolved == {
        "yes": (True, "user", "allow_once"),
        "no": (False, "user", "reject_once"),
        "slow": (False, "timeout", None),
    }


async def test_every_approval_outcome_is_in_the_trace(tmp_path: Path) -> None:
    result = await run(tmp_path, steps=[ASK_STEP], approval="allow")
    resolved = records(tmp_path, result, "approval.resolved")
    assert [(r["allowed"], r["by"]) for r in resolved] == [(True, "run")]


async def test_denied_steps_never_run_and_block_dependents(tmp_path: Path) -> None:
    steps = [
        {"id": "nuke", "kind": "runCli", "cmd": "rm -rf /"},
        {"id": "after", "kind": "runCli", "cmd": "echo after", "after": ["nuke"]},
        {"id": "escape", "kind": "writeFile", "path": "../outside.txt", "content": "x"},
    ]
    result = await run(tmp_path, steps=steps, approval="allow")  # allow never overrides deny
    assert [r.status for r in result.results] == ["denied", "skipped", "denied"]
    assert result.results[0].risk.level == "critical" and result.results[0].risk.reasons
    assert not (tmp_path.parent / "outside.txt").exists()


async def test_secrets_never_reach_steps_or_the_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-3f9a8b7c6d5e")
    key = "sk-proj-abcdefghijklmnop0123456789"
    engine = Engine(FAST.merged(api_key=key))
    steps = [
        {"kind": "runCli", "cmd": 'echo "env=[$MY_SERVICE_TOKEN]"'},
        {"kind": "runCli", "cmd": f"echo leaked tok-3f9a8b7c6d5e {key}"},
    ]
    result = await run(tmp_path, engine=engine, steps=steps)
    assert result.results[0].stdout == "env=[]\n"
    text = (tmp_path / result.trace).read_text()
    for secret in ("tok-3f9a8b7c6d5e", key):
        assert secret not in text and secret not in result.stdout
    assert "[REDACTED]" in result.results[1].stdout


async def test_output_flood_is_capped_and_spilled(tmp_path: Path) -> None:
    engine = Engine(FAST.merged(output_cap_bytes=4096))
    result = await run(
        tmp_path,
        engine=engine,
        steps=[{"kind": "runCli", "cmd": "head -c 20000000 /dev/zero | tr '\\0' a"}],
    )
    step = result.results[0]
    assert step.status == "succeeded" and step.truncated and len(step.stdout) == 4096
    finished = records(tmp_path, result, "step.finished")
    spill = tmp_path / finished[0]["spilled"]["stdout"]
    assert spill.stat().st_size == 20_000_000


class AllowAll:
    def assess(
        self,
        step: RunCliStep | WriteFileStep,
        workspace: Path,
        context: GateContext | None = None,
    ) -> Verdict:
        return Verdict(Risk(level="low"), "allow")


async def test_the_writer_refuses_escapes_even_when_the_gate_allows(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(outside)
    engine = Engine(FAST, gate=AllowAll())
    result = await run(
        ws, engine=engine, steps=[{"kind": "writeFile", "path": "link/x", "content": "x"}]
    )
    assert result.results[0].status == "failed" and "refused" in result.results[0].stderr
    assert list(outside.iterdir()) == []


async def test_spilled_output_is_redacted_and_capped(tmp_path: Path) -> None:
    key = "sk-proj-abcdefghijklmnop0123456789"
    engine = Engine(FAST.merged(api_key=key, output_cap_bytes=1024, spill_cap_bytes=100_000))
    cmd = f"i=0; while [ $i -lt 5000 ]; do echo line $i {key}; i=$((i+1)); done"
    result = await run(tmp_path, engine=engine, steps=[{"kind": "runCli", "cmd": cmd}])
    finished = records(tmp_path, result, "step.finished")
    assert finished[0]["spillTruncated"] is True
    spill = (tmp_path / finished[0]["spilled"]["stdout"]).read_text()
    assert key not in spill and "[REDACTED]" in spill and len(spill) <= 100_000
