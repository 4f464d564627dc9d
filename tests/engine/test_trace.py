"""The trace: hash chain, valid prefixes after a kill, tampering detected, git-ignored."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import TraceError, WorkspaceError
from engine.trace import TraceWriter, ensure_runs_dir, read_trace, trace_path


def write_sample(path: Path, n: int = 5) -> None:
    writer = TraceWriter(path)
    writer.write("run.started", runId="r1", goal="g")
    for i in range(n - 2):
        writer.write("step.finished", stepId=f"s{i}", text="é ünïcode\nline")
    writer.write("run.finished", status="succeeded")
    writer.close()


def test_chain_verifies_and_prev_is_the_previous_lines_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path)
    report = read_trace(path)
    assert report.verified and report.complete and not report.truncated
    lines = path.read_bytes().splitlines()
    assert [r["seq"] for r in report.records] == list(range(5))
    assert report.records[0]["prev"] == ""
    assert report.records[3]["prev"] == hashlib.sha256(lines[2]).hexdigest()
    assert {"seq", "ts", "type", "prev"} <= report.records[0].keys()


def test_truncated_trace_keeps_a_verifiable_prefix(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path, 6)
    data = path.read_bytes()
    cut = data[: data.rfind(b"\n", 0, len(data) - 1) + 20]  # mid-way through the last line
    path.write_bytes(cut)
    report = read_trace(path)
    assert report.truncated and report.verified and not report.complete
    assert len(report.records) == 5


def test_a_killed_writer_leaves_a_valid_prefix(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from engine.trace import TraceWriter\n"
        f"w = TraceWriter(Path({str(path)!r}))\n"
        "i = 0\n"
        "while True:\n"
        "    w.write('step.output', i=i, pad='x' * 3000)\n"
        "    i += 1\n"
        "    if i == 2000: os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[2], check=False
    )
    assert proc.returncode == -9
    report = read_trace(path)
    assert report.verified and len(report.records) == 2000


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda rs: rs[2].update(stepId="evil"), "line 4: prev does not match"),
        (lambda rs: rs.pop(1), "seq is 2, expected 1"),
        (lambda rs: rs[1].update(seq=7), "line 2: seq is 7"),
    ],
)
def test_tampering_is_detected(tmp_path: Path, edit, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.jsonl"
    write_sample(path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    edit(records)
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    report = read_trace(path)
    assert not report.verified
    assert any(problem in p for p in report.problems), report.problems


def test_garbage_line_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_sample(path)
    path.write_bytes(path.read_bytes() + b"\xff\xfenot json\n")
    report = read_trace(path)
    assert not report.verified and "not JSON" in report.problems[0]


def test_redaction_runs_before_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path, redact=lambda line: line.replace("hunter2", "[REDACTED]"))
    writer.write("run.started", note="password hunter2")
    writer.write("run.finished")
    writer.close()
    assert "hunter2" not in path.read_text()
    assert read_trace(path).verified


def test_missing_trace_and_bad_run_ids_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no trace at"):
        read_trace(tmp_path / "nope.jsonl")
    for bad in ["../../etc/passwd", "a/b", "", ".hidden"]:
        with pytest.raises(TraceError, match="not a valid run id"):
            trace_path(tmp_path, bad)


def test_runs_dir_stays_out_of_git_status(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    runs = ensure_runs_dir(tmp_path)
    (runs / "r1.jsonl").write_text("{}\n")
    (tmp_path / ".agent" / "goals.toml").write_text("")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "runs" not in status
    assert ".agent/goals.toml" in status  # only the runs folder is ignored


def test_a_symlinked_runs_dir_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ws = tmp_path / "ws"
    (ws / ".agent").mkdir(parents=True)
    (ws / ".agent" / "runs").symlink_to(elsewhere)
    with pytest.raises(WorkspaceError, match="symlink"):
        ensure_runs_dir(ws)
    assert list(elsewhere.iterdir()) == []


KEY = bytes(range(32))


def _keyed(path: Path) -> None:
    writer = TraceWriter(path, key=KEY)
    writer.write("run.started", runId="r1")
    writer.write("step.finished", stepId="s1", step={"cmd": "echo hi", "stdout": "hi\n"})
    writer.write("run.finished", status="succeeded")
    writer.close()


def test_a_keyed_trace_is_known_to_be_ours(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    _keyed(path)
    report = read_trace(path, key=KEY)
    assert report.verified and report.complete and report.keyed
    assert all(line.endswith('"}') and ',"mac":"' in line for line in path.read_text().splitlines())


def test_an_edit_with_a_recomputed_hash_chain_is_still_caught(tmp_path: Path) -> None:
    """What an attacker did: change a command, then recompute every plain SHA-256 ``prev``."""
    path = tmp_path / "t.jsonl"
    _keyed(path)
    lines = path.read_bytes().split(b"\n")[:-1]
    lines[1] = lines[1].replace(b"echo hi", b"echo ok")
    forged, prev = [], ""
    for line in lines:
        record = json.loads(line)
        record["prev"] = prev
        raw = json.dumps(record, separators=(",", ":")).encode()
        forged.append(raw)
        prev = hashlib.sha256(raw).hexdigest()
    path.write_bytes(b"\n".join(forged) + b"\n")
    report = read_trace(path, key=KEY)
    assert not report.verified and not report.keyed
    assert any("mac does not match" in p for p in report.problems)


def test_another_key_or_none_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    _keyed(path)
    assert not read_trace(path, key=bytes(32)).verified  # another user's agentd, or a forger
    plain = tmp_path / "plain.jsonl"
    writer = TraceWriter(plain)
    writer.write("run.finished", status="succeeded")
    writer.close()
    report = read_trace(plain, key=KEY)
    assert report.verified and report.unkeyed and not report.keyed
