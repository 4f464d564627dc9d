"""Where a command runs and what it remembers: the workspace root found like git finds its own,
`agentd runs`, `agentd trace last` / `-N` / RUN_ID / PATH and what the trace view shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli.workspace import find_root, workspace_for
from tests.server.cli.cli_helpers import agentd, run_json


@pytest.mark.parametrize(
    "marker", [".agent/", ".git/", ".git", "pyproject.toml", "package.json", "Cargo.toml", "go.mod"]
)
def test_the_root_is_the_nearest_folder_with_a_marker(tmp_path: Path, marker: str) -> None:
    project, deep = tmp_path / "project", tmp_path / "project" / "src" / "pkg"
    deep.mkdir(parents=True)
    if marker.endswith("/"):
        (project / marker).mkdir()
    else:
        (project / marker).write_text("")  # `.git` as a file: a worktree or a submodule
    assert find_root(deep) == project
    assert workspace_for(None, cwd=deep) == project
    assert workspace_for(str(deep)) == deep  # --workspace is taken as given


def test_a_file_named_agent_is_no_marker_and_no_root_means_here(tmp_path: Path) -> None:
    if find_root(tmp_path) is not None:
        pytest.skip(f"{find_root(tmp_path)} above the test's folder holds a marker")
    (tmp_path / ".agent").write_text("")  # a file, not the folder agentd makes
    lone = tmp_path / "lone"
    lone.mkdir()
    assert find_root(lone) is None
    assert workspace_for(None, cwd=lone) == lone


def test_a_run_from_a_subfolder_runs_at_the_root_and_writes_only_there(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals.where]\ntitle = "Where"\nsteps = [{ id = "pwd", run = "pwd" }]\n'
    )
    tests = tmp_path / "tests"
    tests.mkdir()
    code, result = run_json("where", cwd=tests)  # a workspace goal, found from tests/
    assert code == 0 and result["stdout"] == f"{tmp_path}\n"
    assert not (tests / ".agent").exists()  # nothing stray where the command was typed
    assert (tmp_path / result["trace"]).is_file()
    listed = agentd("goals", cwd=tests)
    assert "where" in listed.stdout and "workspace" in listed.stdout


def test_runs_lists_the_recent_runs_newest_first(tmp_path: Path) -> None:
    empty = agentd("runs", cwd=tmp_path)
    assert empty.returncode == 0 and empty.stdout.startswith(f"No runs yet in {tmp_path}")
    assert json.loads(agentd("runs", "--json", cwd=tmp_path).stdout) == []
    _, first = run_json("--step", "echo one", "--step", "exit 4", cwd=tmp_path)
    _, second = run_json("demo.test", cwd=tmp_path)
    _, third = run_json("demo.test", "--dry-run", cwd=tmp_path)
    done = agentd("runs", cwd=tmp_path)
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["RUN", "GOAL", "STATUS", "STEPS", "STARTED", "TOOK"]
    assert [row.split()[0] for row in rows] == [third["runId"], second["runId"], first["runId"]]
    assert rows[0].split()[1:3] == ["demo.test", "dry"]  # "dry run"
    assert "succeeded  1 of 1 succeeded" in rows[1]
    assert rows[2].split()[1:7] == ["explicit", "failed", "1", "of", "2", "succeeded"]
    assert " ago " in rows[2]
    listed = json.loads(agentd("runs", "--json", "--limit", "2", cwd=tmp_path).stdout)
    assert [r["runId"] for r in listed] == [third["runId"], second["runId"]]
    assert listed[1] | {"started": "", "durationMs": 0} == {
        "runId": second["runId"],
        "goal": "demo.test",
        "status": "succeeded",
        "steps": 1,
        "succeeded": 1,
        "started": "",
        "durationMs": 0,
        "dryRun": False,
        "trace": str(tmp_path / second["trace"]),
    }
    ids = agentd("runs", "--ids", cwd=tmp_path).stdout.split()
    assert ids == [third["runId"], second["runId"], first["runId"]]


def test_a_run_whose_server_died_is_listed_as_not_finished(tmp_path: Path) -> None:
    _, result = run_json("demo.test", cwd=tmp_path)
    path = tmp_path / result["trace"]
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    row = agentd("runs", cwd=tmp_path).stdout.splitlines()[1]
    assert "did not finish" in row
    shown = agentd("trace", "last", cwd=tmp_path)
    assert shown.returncode == 1 and "did not finish" in shown.stdout


def test_trace_last_and_minus_n_pick_runs_by_age(tmp_path: Path) -> None:
    none = agentd("trace", cwd=tmp_path)
    assert none.returncode == 2 and none.stderr.startswith(f"agentd: no runs yet in {tmp_path} ")
    _, older = run_json("--step", "echo older", cwd=tmp_path)
    _, newer = run_json("--step", "echo newer", cwd=tmp_path)
    for ref, run in (("last", newer), ("-1", newer), ("-2", older), (older["runId"], older)):
        done = agentd("trace", ref, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Run {run['runId']}: explicit"), ref
    assert agentd("trace", cwd=tmp_path).stdout.startswith(f"Run {newer['runId']}")  # default
    by_path = agentd("trace", str(tmp_path / older["trace"]), cwd=Path("/"))
    assert by_path.returncode == 0 and f"Run {older['runId']}" in by_path.stdout
    missing = agentd("trace", "-3", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == f"agentd: no run -3 in {tmp_path}/.agent/runs (it has 2)\n"
    for bad, says in (("no-such-run", "no trace for run 'no-such-run'"), ("../x", "no trace at")):
        done = agentd("trace", bad, cwd=tmp_path)
        assert done.returncode == 2 and says in done.stderr, done.stderr


def test_the_trace_view_shows_each_step_and_its_output(tmp_path: Path) -> None:
    failing = "echo partial; echo oops >&2; exit 3"
    _, result = run_json("--step", "echo hi; echo warn >&2", "--step", failing, cwd=tmp_path)
    done = agentd("trace", "last", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        f"Run {result['runId']}: explicit (planner explicit)",
        f"  workspace {tmp_path}",
        lines[2],
    ]
    assert lines[2].startswith("  started 20") and ", took " in lines[2]
    assert lines[3].startswith("+ s1 echo hi; echo warn >&2 (succeeded, ") or lines[3].startswith(
        "✓ s1 echo hi; echo warn >&2 (succeeded, "
    )
    assert lines[4:6] == ["    | hi", "    ! warn"]
    assert f"s2 {failing} (failed with exit code 3, " in lines[6]
    assert lines[7:9] == ["    | partial", "    ! oops"]
    assert lines[9].endswith(" failed, trust 0.45: 1 of 2 steps succeeded (1 failed).")
    assert lines[10] == f"Trace: {tmp_path / result['trace']}"
    assert lines[11].endswith("hash chain verified (9 records)")
    records = agentd("trace", "last", "--records", cwd=tmp_path).stdout
    assert "   0  20" in records and "run.started" in records and "step.finished" in records


def test_trace_output_shows_all_of_it(tmp_path: Path) -> None:
    run_json("--step", "seq 30", cwd=tmp_path)
    tail = agentd("trace", cwd=tmp_path).stdout
    assert "10 more lines" in tail and "    | 10\n" not in tail and "    | 30\n" in tail
    whole = agentd("trace", "--output", cwd=tmp_path).stdout
    assert "more lines" not in whole and all(f"    | {n}\n" in whole for n in range(1, 31))
