"""The trace on a disk that fills up or is read-only (a small tmpfs each test mounts): a record is
written whole or not at all, a run whose trace cannot be written ends ``failed`` with the reason,
and nothing reports ``succeeded`` over a broken trace."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.errors import WorkspaceError
from engine.events import Event, StepUpdated
from engine.models import RunGoalParams
from engine.trace import read_trace
from tests.engine.runs import FAST, RECORD


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """A file that takes all the room but ``leave`` bytes."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    room = stat.f_bavail * stat.f_frsize
    with filler.open("wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(room - leave, 0))
        f.flush()
        os.fsync(f.fileno())
    return filler


LOUD = [{"kind": "runCli", "cmd": f"seq 1 {300 + i}"} for i in range(6)]


async def test_a_disk_that_stays_full_fails_the_run_and_leaves_whole_records(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        fill(disk)
        params = RunGoalParams(steps=LOUD)  # type: ignore[arg-type]
        with pytest.raises(WorkspaceError, match=r"cannot write traces in .*No space left"):
            Engine(FAST).start(params, workspace=disk)  # not even the runs folder fits
        (disk / "filler").unlink()
        dry = RunGoalParams(goal="demo.test", dry_run=True)
        await Engine(FAST).start(dry, workspace=disk).result()  # sets the runs folder up
        fill(disk)  # the runs folder is ready now; the trace's first record finds no room
        handle = Engine(FAST).start(params, workspace=disk)
        result = await handle.result()
        assert result.status == "failed"
        assert result.error and "No space left on device" in result.error
        report = read_trace(disk / result.trace)
        assert report.verified and not report.truncated  # whole records only, however few
        assert report.records == []  # not even run.started fitted


async def test_a_disk_full_for_a_moment_breaks_nothing_it_does_not_say(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        (disk / ".agent" / "runs").mkdir(parents=True)
        engine = Engine(FAST)
        filler: list[Path] = []

        def on_event(event: Event) -> None:
            # The first step's output fills what little room is left; once the run has given up
            # (its steps are being stopped), the disk has room again for the closing record.
            if isinstance(event, StepUpdated) and event.step.status == "running" and not filler:
                filler.append(fill(disk, leave=600))
            if isinstance(event, StepUpdated) and event.step.status == "cancelled" and filler:
                filler.pop().unlink()

        slow = [*LOUD, {"kind": "runCli", "cmd": "sleep 30", "after": ["s1"]}]
        params = RunGoalParams(steps=slow, max_parallel=1)  # type: ignore[arg-type]
        result = await engine.start(params, workspace=disk, listener=on_event).result()
        assert result.status == "failed"
        assert result.error and "cannot write the trace" in result.error
        assert {r.status for r in result.results} <= {"succeeded", "cancelled", "skipped"}
        report = read_trace(disk / result.trace)
        assert report.verified and report.complete  # no half record glued to the next one
        for record in report.records:
            RECORD.validate_python(record)
        closing = report.records[-1]
        assert (closing["type"], closing["status"]) == ("run.finished", "failed")
        assert "No space left on device" in closing["error"]


async def test_a_read_only_runs_folder_is_the_callers_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        runs = disk / ".agent" / "runs"
        runs.mkdir(parents=True)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)  # noqa: ASYNC221
        with pytest.raises(WorkspaceError) as caught:
            Engine(FAST).start(RunGoalParams(goal="demo.test"), workspace=disk)
        assert str(caught.value).startswith(f"workspace: cannot write traces in {runs}")
        assert "Read-only file system" in str(caught.value)
