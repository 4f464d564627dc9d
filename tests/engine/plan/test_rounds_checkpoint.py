"""A run planned in rounds is checkpointed once, before its first round that may change files,
and broadly enough for every round: reverting it puts back what any round changed."""

from __future__ import annotations

from pathlib import Path

from engine.engine import Engine
from tests.engine.plan.conftest import model_config, model_run
from tests.engine.plan.fake_openai import FakeOpenAI, Reply
from tests.engine.runs import records


async def test_a_checkpoint_covers_every_round(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("original\n")
    fake.script(
        Reply.plan([{"kind": "runCli", "id": "look", "cmd": "cat notes.txt"}], done=False),
        Reply.plan(
            [{"kind": "writeFile", "id": "w", "path": "out/hi.txt", "content": "hi\n"}],
            done=False,
        ),
        Reply.plan([{"kind": "runCli", "id": "more", "cmd": "echo more >> notes.txt"}], done=True),
    )
    engine = Engine(model_config(fake))
    result = await model_run(tmp_path, engine)
    assert result.status == "succeeded"
    assert (tmp_path / "notes.txt").read_text() == "original\nmore\n"

    # Round 1 only read: no checkpoint for it. Round 2 only writes, but a later round may run
    # anything, so the whole workspace is stored, once.
    (taken,) = records(tmp_path, result, "checkpoint.taken")
    assert taken["scope"] is None
    assert len(records(tmp_path, result, "checkpoint.sealed")) == 1

    report = await engine.revert(tmp_path, result.run_id)
    assert sorted(report.restored) == ["notes.txt", "out/hi.txt"]
    assert (tmp_path / "notes.txt").read_text() == "original\n"
    assert not (tmp_path / "out" / "hi.txt").exists()


async def test_a_single_round_of_writes_stores_only_their_paths(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(b"\0" * 1024)  # not the run's business: not stored
    step = {"kind": "writeFile", "id": "w", "path": "out/hi.txt", "content": "hi\n"}
    fake.script(Reply.plan([step], done=True))
    result = await model_run(tmp_path, Engine(model_config(fake)))
    (taken,) = records(tmp_path, result, "checkpoint.taken")
    assert taken["scope"] == ["out/hi.txt"]
