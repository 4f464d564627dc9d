"""What a run gives the gate (the sandbox in effect, the session mode, the policy files) and the
checkpoint it takes before it may change files: real files, real git, real processes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.errors import AgentError
from engine.events import Event, StepUpdated
from engine.execute.checkpoint import CheckpointError, has_checkpoint
from engine.models import RunGoalParams
from engine.userdirs import CONFIG_DIR_VAR
from tests.engine.runs import FAST, records, run, trace_types
from tests.procs import wait_for_file


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    write(ws / "keep.txt", "kept\n")
    write(ws / "edit.txt", "before\n")
    write(ws / "gone.txt", "deleted by the run\n")
    return ws


@pytest.fixture
def user_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's policy file, in a folder of this test's own."""
    monkeypatch.setenv(CONFIG_DIR_VAR, str(tmp_path / "config"))
    return tmp_path / "config" / "policy.toml"


async def test_a_run_that_changes_files_is_checkpointed_and_reverted(workspace: Path) -> None:
    steps = [
        {"kind": "runCli", "cmd": "echo after > edit.txt"},
        {"kind": "runCli", "cmd": "mkdir -p new/deep && echo made > new/deep/file.txt"},
        {"kind": "runCli", "cmd": "rm gone.txt"},
    ]
    result = await run(workspace, steps=steps, approval="allow")
    assert result.status == "succeeded"
    types = trace_types(workspace, result)
    # taken after the plan is gated and before the first step starts; sealed after the last
    assert types.index("checkpoint.taken") > types.index("gate.decided")
    assert types.index("checkpoint.taken") < types.index("step.started")
    assert types.index("checkpoint.sealed") > max(
        i for i, t in enumerate(types) if t == "step.finished"
    )
    (taken,) = records(workspace, result, "checkpoint.taken")
    assert taken["scope"] is None and taken["skipped"] == []  # commands: the whole workspace
    report = await Engine(FAST).revert(workspace, result.run_id)
    assert sorted(report.restored) == ["edit.txt", "gone.txt", "new/deep/file.txt"]
    assert report.conflicts == report.skipped == ()
    assert (workspace / "edit.txt").read_text() == "before\n"
    assert (workspace / "gone.txt").read_text() == "deleted by the run\n"
    assert not (workspace / "new").exists()  # folders the run created are gone too
    assert (workspace / "keep.txt").read_text() == "kept\n"


async def test_a_run_that_only_writes_files_stores_only_those(workspace: Path) -> None:
    steps = [
        {"kind": "writeFile", "path": "./out//a.txt", "content": "a\n"},
        {"kind": "writeFile", "path": "edit.txt", "content": "written\n"},
    ]
    result = await run(workspace, steps=steps)
    (taken,) = records(workspace, result, "checkpoint.taken")
    assert taken["scope"] == ["edit.txt", "out/a.txt"]
    (workspace / "keep.txt").write_text("changed by the user, outside the run's scope\n")
    report = await Engine(FAST).revert(workspace, result.run_id)
    assert sorted(report.restored) == ["edit.txt", "out/a.txt"]
    assert (workspace / "edit.txt").read_text() == "before\n"
    assert (workspace / "keep.txt").read_text().startswith("changed by the user")


async def test_what_the_user_changed_since_is_reported_not_overwritten(workspace: Path) -> None:
    steps = [
        {"kind": "writeFile", "path": "edit.txt", "content": "by the run\n"},
        {"kind": "writeFile", "path": "keep.txt", "content": "also by the run\n"},
    ]
    result = await run(workspace, steps=steps)
    (workspace / "edit.txt").write_text("by the user, later\n")
    report = await Engine(FAST).revert(workspace, result.run_id)
    assert (report.restored, report.conflicts) == (("keep.txt",), ("edit.txt",))
    assert (workspace / "edit.txt").read_text() == "by the user, later\n"
    assert (workspace / "keep.txt").read_text() == "kept\n"


async def test_runs_that_change_nothing_have_no_checkpoint(workspace: Path) -> None:
    engine = Engine(FAST)
    reading = await run(workspace, engine, goal="swe.analyze")
    planned = await run(
        workspace, engine, steps=[{"kind": "runCli", "cmd": "touch x"}], dryRun=True
    )
    for result, why in ((reading, "none of its steps could change files"), (planned, "dry run")):
        assert not any(t.startswith("checkpoint.") for t in trace_types(workspace, result))
        assert not has_checkpoint(workspace, result.run_id)
        with pytest.raises(CheckpointError, match=why):
            await engine.revert(workspace, result.run_id)
    with pytest.raises(CheckpointError, match="runId: no run 'nope'"):
        await engine.revert(workspace, "nope")


async def test_a_failed_checkpoint_is_traced_and_the_run_goes_on(workspace: Path) -> None:
    write(workspace / ".agent" / "checkpoints", "a file where the store's folder belongs\n")
    result = await run(workspace, steps=[{"kind": "runCli", "cmd": "echo x > made.txt"}])
    assert result.status == "succeeded" and (workspace / "made.txt").exists()
    (failed,) = records(workspace, result, "checkpoint.failed")
    assert failed["stage"] == "take" and failed["error"]
    with pytest.raises(CheckpointError, match="no checkpoint: it failed"):
        await Engine(FAST).revert(workspace, result.run_id)


async def test_a_trusted_run_refuses_to_start_without_a_checkpoint(workspace: Path) -> None:
    write(workspace / ".agent" / "checkpoints", "a file where the store's folder belongs\n")
    engine = Engine(FAST)
    params = RunGoalParams.model_validate(
        {"steps": [{"kind": "runCli", "cmd": "rm gone.txt"}], "mode": "trusted"}
    )
    handle = engine.start(params, workspace=workspace)
    with pytest.raises(AgentError, match="mode: a trusted run relies on revert"):
        await handle.result()
    assert (workspace / "gone.txt").exists()  # nothing ran
    trace = workspace / ".agent" / "runs" / f"{handle.run_id}.jsonl"
    text = trace.read_text()
    assert '"checkpoint.failed"' in text and '"step.started"' not in text


async def test_a_cancelled_run_is_sealed_and_can_be_reverted(workspace: Path) -> None:
    engine = Engine(FAST)
    running = asyncio.Event()

    def listener(event: Event) -> None:
        if isinstance(event, StepUpdated) and event.step.status == "running":
            running.set()

    cmd = "echo changed > edit.txt; echo $$ > started; sleep 300"
    params = RunGoalParams.model_validate({"steps": [{"kind": "runCli", "cmd": cmd}]})
    handle = engine.start(params, workspace=workspace, listener=listener)
    await asyncio.wait_for(running.wait(), 10)
    await wait_for_file(workspace / "started")
    handle.cancel()
    result = await handle.result()
    assert result.status == "cancelled"
    assert "checkpoint.sealed" in trace_types(workspace, result)
    report = await engine.revert(workspace, result.run_id)
    assert sorted(report.restored) == ["edit.txt", "started"]
    assert (workspace / "edit.txt").read_text() == "before\n"


async def test_a_run_in_progress_is_not_reverted(workspace: Path) -> None:
    engine = Engine(FAST)
    params = RunGoalParams.model_validate(
        {"steps": [{"kind": "runCli", "cmd": "echo x > edit.txt; echo go > started; sleep 300"}]}
    )
    handle = engine.start(params, workspace=workspace)
    await wait_for_file(workspace / "started")
    with pytest.raises(CheckpointError, match="has not ended yet"):
        await engine.revert(workspace, handle.run_id)
    handle.cancel()
    await handle.result()


@pytest.mark.parametrize(
    ("mode", "cmd", "decision"),
    [
        ("default", "rm gone.txt", "ask"),
        ("trusted", "rm gone.txt", "allow"),  # a checkpoint can revert it
        ("trusted", "curl https://example.com", "ask"),  # the network cannot be reverted
        ("readOnly", "touch x", "ask"),
        ("readOnly", "cat keep.txt", "allow"),
        ("trusted", "rm -rf /", "deny"),  # no mode lowers a denial
    ],
)
async def test_the_session_mode_reaches_the_gate(
    workspace: Path, mode: str, cmd: str, decision: str
) -> None:
    result = await run(workspace, steps=[{"kind": "runCli", "cmd": cmd}], mode=mode, dryRun=True)
    step = result.results[0]
    assert step.decision == decision
    if mode == "trusted" and decision == "allow":
        assert step.relied_on == [
            "trusted session, revertible: rm deletes gone.txt inside the workspace"
        ]
    (started,) = records(workspace, result, "run.started")
    assert started["params"]["mode"] == mode


async def test_relied_on_and_widenings_are_in_the_result_and_the_trace(
    workspace: Path, user_policy: Path
) -> None:
    write(user_policy, '[[rule]]\naction = "allow"\ntool = "curl"\n')
    steps = [
        {"id": "net", "kind": "runCli", "cmd": "curl https://example.com"},
        {"id": "git", "kind": "runCli", "cmd": "git commit -m x"},
        {"id": "plain", "kind": "runCli", "cmd": "echo hi"},
    ]
    result = await run(workspace, steps=steps, dryRun=True)
    by_id = {r.id: r for r in result.results}
    assert by_id["net"].decision == "allow" and by_id["net"].widenings == ["network"]
    assert by_id["net"].relied_on == [f"policy rule 1 of {user_policy} (allow curl) allows curl"]
    assert by_id["git"].widenings == ["gitWrite"] and by_id["git"].relied_on == []
    wire = by_id["plain"].wire()
    assert "reliedOn" not in wire and "widenings" not in wire  # left out when empty
    decided = {r["stepId"]: r for r in records(workspace, result, "gate.decided")}
    assert decided["net"]["reliedOn"] == by_id["net"].relied_on
    assert decided["net"]["widenings"] == ["network"]
    assert "reliedOn" not in decided["plain"] and "widenings" not in decided["plain"]


async def test_the_policy_is_read_for_each_run(workspace: Path, user_policy: Path) -> None:
    engine = Engine(FAST)
    curl = [{"kind": "runCli", "cmd": "curl https://example.com"}]
    assert (await run(workspace, engine, steps=curl, dryRun=True)).results[0].decision == "ask"
    write(user_policy, '[[rule]]\naction = "deny"\ntool = "curl"\n')
    assert (await run(workspace, engine, steps=curl, dryRun=True)).results[0].decision == "deny"
    write(workspace / ".agent" / "policy.toml", "[[rule]]\nacton = 'deny'\n")  # broken
    echo = await run(workspace, engine, steps=[{"kind": "runCli", "cmd": "echo hi"}], dryRun=True)
    assert echo.results[0].decision == "ask"  # a broken policy file never loosens
    assert any("policy file broken" in r for r in echo.results[0].risk.reasons)
    assert os.environ[CONFIG_DIR_VAR] == str(user_policy.parent)
