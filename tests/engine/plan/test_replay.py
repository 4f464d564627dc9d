"""Replay: a recorded run's plans (every round) run again without any model, from its trace and
the writeFile content kept beside it; and what a replay refuses."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from engine.engine import Engine
from engine.errors import ReplayError, UnknownGoal
from engine.models import RunGoalParams, RunResult
from engine.plan.content import content_sha256, load_content, store_content
from engine.plan.replay import recorded_step
from engine.trace import RUNS_DIR
from tests.engine.plan.conftest import GOAL, model_config, model_run
from tests.engine.plan.fake_openai import FakeOpenAI, Reply
from tests.engine.runs import FAST, records, run

ROUND_ONE: list[dict[str, Any]] = [
    {"kind": "writeFile", "id": "w", "path": "out/hi.txt", "content": "hi there\n"},
    {"kind": "runCli", "cmd": "cat out/hi.txt", "after": ["w"]},
]
ROUND_TWO: list[dict[str, Any]] = [{"kind": "runCli", "id": "c", "cmd": "wc -c < out/hi.txt"}]


async def recorded(fake: FakeOpenAI, ws: Path, **params: Any) -> RunResult:
    """A two-round run planned by the model."""
    fake.script(
        Reply.plan(ROUND_ONE, done=False), Reply.plan(ROUND_TWO, done=True, summary="counted")
    )
    return await model_run(ws, Engine(model_config(fake)), **params)


async def replay(ws: Path, run_id: str, **params: Any) -> RunResult:
    return await run(ws, Engine(FAST), planner="replay", runId=run_id, **params)


async def test_a_replay_reruns_every_round_without_a_model(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    original = await recorded(fake, tmp_path)
    (tmp_path / "out" / "hi.txt").unlink()

    again = await replay(tmp_path, original.run_id)

    assert len(fake.requests) == 2  # only the original asked the model
    assert again.planner == "replay" and again.goal == GOAL and again.usage is None
    assert (
        again.steps
        == original.steps
        == ["write out/hi.txt", "cat out/hi.txt", "wc -c < out/hi.txt"]
    )
    assert [r.id for r in again.results] == ["w", "s2", "r2.c"]
    assert again.stdout == original.stdout == "hi there\n\n9\n"
    assert again.summary == "counted" and again.status == "succeeded"
    assert (tmp_path / "out" / "hi.txt").read_text() == "hi there\n"
    planned = records(tmp_path, again, "plan.created")
    assert [(p["round"], p["done"]) for p in planned] == [(1, False), (2, True)]


async def test_a_replay_of_a_replay_and_of_a_dry_run(fake: FakeOpenAI, tmp_path: Path) -> None:
    dry = await recorded(fake, tmp_path, dryRun=True)  # plan with the model, run nothing
    assert dry.status == "planned" and not (tmp_path / "out").exists()
    executed = await replay(tmp_path, dry.run_id)
    assert executed.steps == ["write out/hi.txt", "cat out/hi.txt"]  # the one round planned
    assert executed.status == "succeeded"
    twice = await replay(tmp_path, executed.run_id, goal="again")
    assert twice.goal == "again" and twice.steps == executed.steps


async def test_a_replay_of_some_steps_only(fake: FakeOpenAI, tmp_path: Path) -> None:
    """What an editor's "re-run step" sends: those steps of any round, as one plan; an `after`
    on a step left out no longer applies."""
    original = await recorded(fake, tmp_path)
    (tmp_path / "out" / "hi.txt").write_text("changed\n")
    again = await replay(tmp_path, original.run_id, stepIds=["s2", "r2.c"])
    assert [(r.id, r.after) for r in again.results] == [("s2", []), ("r2.c", [])]
    assert again.stdout == "changed\n\n8\n" and again.status == "succeeded"
    assert (tmp_path / "out" / "hi.txt").read_text() == "changed\n"  # w was not run
    written = await replay(tmp_path, original.run_id, stepIds=["w"])
    assert written.steps == ["write out/hi.txt"] and written.status == "succeeded"
    assert (tmp_path / "out" / "hi.txt").read_text() == "hi there\n"
    with pytest.raises(ReplayError, match=r"stepIds: run '.+' has no step 'nope'"):
        await replay(tmp_path, original.run_id, stepIds=["w", "nope"])


async def test_a_replay_of_an_offline_run(tmp_path: Path) -> None:
    original = await run(tmp_path, goal="demo.test")
    again = await replay(tmp_path, original.run_id)
    assert again.steps == original.steps and again.deliverables == ["out/hello.txt"]


async def test_the_content_is_kept_private_and_by_its_hash(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    original = await recorded(fake, tmp_path)
    sha = content_sha256("hi there\n")
    kept = tmp_path / RUNS_DIR / original.run_id / "content" / sha
    assert kept.read_text() == "hi there\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    [traced] = [
        s
        for s in records(tmp_path, original, "plan.created")[0]["steps"]
        if s["kind"] == "writeFile"
    ]
    assert traced["contentSha256"] == sha and "content" not in traced


def test_a_planted_link_is_not_followed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "r1").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (runs / "r1" / "content").symlink_to(outside)  # what a step of run r1 could plant
    with pytest.raises(OSError):
        store_content(runs, "r1", "data", lambda text: text)
    assert list(outside.iterdir()) == []
    sha = content_sha256("data")
    (outside / sha).write_text("data")
    with pytest.raises(OSError):
        load_content(runs, "r1", sha)


def test_a_planted_file_is_replaced_not_followed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "r1" / "content").mkdir(parents=True)
    target = tmp_path / "target"
    target.write_text("untouched")
    sha = content_sha256("data")
    os.symlink(target, runs / "r1" / "content" / sha)
    assert store_content(runs, "r1", "data", lambda text: text) == sha
    assert target.read_text() == "untouched" and load_content(runs, "r1", sha) == b"data"


# --- what a replay refuses ------------------------------------------------------------------


async def test_no_such_run(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="runId: no trace of run 'nope'"):
        await replay(tmp_path, "nope")


async def test_a_tampered_trace(tmp_path: Path) -> None:
    original = await run(tmp_path, goal="swe.analyze")
    trace = tmp_path / original.trace
    trace.write_text(trace.read_text().replace("ls -la", "ls -lh"))
    with pytest.raises(ReplayError, match="does not verify"):
        await replay(tmp_path, original.run_id)


async def test_content_that_held_a_secret(fake: FakeOpenAI, tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4  # a token shape the redactor masks
    steps = [{"kind": "writeFile", "id": "w", "path": "token.txt", "content": f"{token}\n"}]
    fake.script(Reply.plan(steps))
    original = await model_run(tmp_path, Engine(model_config(fake)))
    with pytest.raises(ReplayError, match="step 'w': the kept content does not match"):
        await replay(tmp_path, original.run_id)


async def test_a_command_that_held_a_secret(fake: FakeOpenAI, tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4
    fake.script(Reply.plan([{"kind": "runCli", "id": "e", "cmd": f"echo {token} > /dev/null"}]))
    original = await model_run(tmp_path, Engine(model_config(fake)))
    with pytest.raises(ReplayError, match="step 'e': its command held a secret"):
        await replay(tmp_path, original.run_id)


async def test_content_that_was_not_kept(fake: FakeOpenAI, tmp_path: Path) -> None:
    original = await recorded(fake, tmp_path)
    for kept in (tmp_path / RUNS_DIR / original.run_id / "content").iterdir():
        kept.unlink()
    with pytest.raises(ReplayError, match="step 'w': the content it wrote was not kept"):
        await replay(tmp_path, original.run_id)


def test_a_recorded_step_cannot_name_a_path_as_its_content(tmp_path: Path) -> None:
    """The trace is keyed, so a forged one does not verify; should a record still name a path
    as its SHA-256, nothing is read from there."""
    runs = tmp_path / RUNS_DIR
    (runs / "r1" / "content").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not for a replay")
    for named in ("../../../secret.txt", "../../../../etc/passwd", ""):
        traced = {"id": "w", "kind": "writeFile", "path": "x", "contentSha256": named}
        with pytest.raises(ReplayError, match="the content it wrote was not kept"):
            recorded_step(tmp_path, "r1", traced)


async def test_a_run_that_planned_nothing(tmp_path: Path) -> None:
    with pytest.raises(UnknownGoal):
        await run(tmp_path, goal="no.such.goal")
    [trace] = (tmp_path / RUNS_DIR).glob("*.jsonl")
    with pytest.raises(ReplayError, match="recorded no plan"):
        await replay(tmp_path, trace.stem)


def test_replay_params_go_together() -> None:
    with pytest.raises(ValueError, match='runId: planner "replay" needs the runId'):
        RunGoalParams.model_validate({"planner": "replay"})
    with pytest.raises(ValueError, match='runId: only planner "replay" takes a runId'):
        RunGoalParams.model_validate({"goal": "x", "runId": "r1"})
    with pytest.raises(ValueError, match="planner: explicit steps are their own plan"):
        RunGoalParams.model_validate(
            {"steps": [{"kind": "runCli", "cmd": "ls"}], "planner": "replay", "runId": "r"}
        )
    assert RunGoalParams.model_validate({"planner": "replay", "runId": "r1"}).goal is None
    with pytest.raises(ValueError, match='stepIds: only planner "replay" takes stepIds'):
        RunGoalParams.model_validate({"goal": "x", "stepIds": ["s1"]})
    with pytest.raises(ValueError, match="stepIds"):
        RunGoalParams.model_validate({"planner": "replay", "runId": "r", "stepIds": []})
