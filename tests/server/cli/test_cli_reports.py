"""`agentd goals`, `agentd trace` and `agentd doctor`: their reports alone, then end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from server.cli.reports import health_report
from server.cli.traceview import trace_view
from tests.server.cli.cli_helpers import agentd, run_json


def test_health_report_in_words() -> None:
    health = {"version": "0.1.0", "planner": "stub", "sandbox": "off", "python": "3.11.7"}
    goals = {"goals": [{"id": "check", "source": "workspace"}, {"id": "x", "source": "builtin"}]}
    healthy, text = health_report(health, "/w", goals, None)
    assert healthy and "planner: stub" in text and "goals: 2, 1 of them" in text
    limits = {"stepTimeoutMs": 600000, "approvalTimeoutMs": 60000, "approvals": "requestPermission"}
    _, text = health_report(health | limits, "/w", goals, None)
    assert "step time limit: 10 min (setting agent.stepTimeoutMs)" in text
    assert "approval time limit: 1 min (setting agent.approvalTimeoutMs)" in text
    assert "approvals: asked here, at the terminal" in text and "requestPermission" not in text
    healthy, text = health_report(health, "/w", None, "goals.toml: line 3: bad")
    assert not healthy and "problem: goals.toml: line 3: bad" in text


def test_the_trace_verdict_says_whether_the_chain_holds(tmp_path: Path) -> None:
    marks = {"succeeded": "+", "failed": "x", "": "-", "more": "..."}
    path = tmp_path / "t.jsonl"
    records = [{"seq": 0, "ts": "t", "type": "run.finished", "prev": "", "status": "succeeded"}]
    ok = trace_view(path, records, [], truncated=False, complete=True, marks=marks)
    assert ok.endswith(f"Trace: {path}\n+ hash chain verified (1 record)")
    bad = trace_view(path, records, ["line 1: prev"], truncated=False, complete=False, marks=marks)
    assert bad.endswith("x hash chain BROKEN:\n  line 1: prev")
    started = [{"seq": 0, "ts": "t", "type": "run.started", "prev": ""}]
    unfinished = trace_view(path, started, [], truncated=False, complete=False, marks=marks)
    assert unfinished.endswith(
        "+ hash chain verified (1 record)\nx incomplete: the run did not finish (no run.finished)"
    )
    cut = trace_view(path, started, [], truncated=True, complete=False, marks=marks)
    assert cut.endswith("\nx cut short: the writer stopped mid-record")


def test_goals_lists_builtin_and_workspace_goals(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text(
        '[goals.check]\ntitle = "Lint and test"\nsteps = [{ id = "t", run = "true" }]\n'
    )
    done = agentd("goals", cwd=tmp_path)
    assert done.returncode == 0
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "swe.analyze" in rows and "builtin" in rows["swe.analyze"]
    assert "Lint and test" in rows["check"] and "workspace" in rows["check"]
    goals = json.loads(agentd("goals", "--json", cwd=tmp_path).stdout)["goals"]
    assert {"id": "check", "title": "Lint and test", "source": "workspace"}.items() <= next(
        g for g in goals if g["id"] == "check"
    ).items()


def test_a_broken_goals_file_still_lists_the_builtin_goals(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text("[goals.broken\n")
    done = agentd("goals", cwd=tmp_path)
    assert done.returncode == 1
    assert {"demo.test", "swe.analyze", "swe.test"} <= {
        line.split()[0] for line in done.stdout.splitlines()[1:]
    }
    assert done.stderr.startswith("agentd: ") and "goals.toml" in done.stderr
    ids = agentd("goals", "--ids", cwd=tmp_path)
    assert ids.returncode == 1 and "swe.test" in ids.stdout.split()


def test_trace_verifies_the_hash_chain(tmp_path: Path) -> None:
    _, result = run_json("swe.analyze", cwd=tmp_path)
    done = agentd("trace", result["runId"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "hash chain verified" in done.stdout and "trust 0.9: 4 of 4 steps" in done.stdout
    report = json.loads(agentd("trace", result["runId"], "--json", cwd=tmp_path).stdout)
    assert report["verified"] and report["complete"]
    path = tmp_path / result["trace"]
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"seq":1', '"seq":1,"forged":true')
    path.write_text("".join(lines))
    tampered = agentd("trace", result["runId"], cwd=tmp_path)
    assert tampered.returncode == 1 and "BROKEN" in tampered.stdout
    missing = agentd("trace", "no-such-run", cwd=tmp_path)
    assert missing.returncode == 2 and "no trace" in missing.stderr


def test_trace_of_a_run_that_never_finished_exits_1(tmp_path: Path) -> None:
    """A server killed mid-run leaves a chain that verifies but has no run.finished."""
    _, result = run_json("--step", "echo one", "--step", "echo two", cwd=tmp_path)
    path = tmp_path / result["trace"]
    lines = path.read_text().splitlines(keepends=True)
    assert '"type":"run.finished"' in lines[-1]
    path.write_text("".join(lines[:-1]))
    done = agentd("trace", result["runId"], cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "hash chain verified" in done.stdout and "incomplete: the run did not finish" in done.stdout
    )
    report = json.loads(agentd("trace", str(path), "--json", cwd=tmp_path).stdout)
    assert (report["verified"], report["truncated"], report["complete"]) == (True, False, False)
    path.write_text("".join(lines[:-1]) + lines[-1][:20])  # the writer killed mid-line
    done = agentd("trace", result["runId"], cwd=tmp_path)
    assert done.returncode == 1 and "cut short" in done.stdout


def test_doctor_reports_health_in_words(tmp_path: Path) -> None:
    done = agentd("doctor", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("agentd 0.1.0") and done.stdout.rstrip().endswith("healthy")
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "goals.toml").write_text("[goals.broken\n")
    sick = agentd("doctor", cwd=tmp_path)
    assert sick.returncode == 1 and "goals.toml" in sick.stdout


def test_a_forged_trace_is_told_from_ours(tmp_path: Path) -> None:
    code, result = run_json("demo.test", cwd=tmp_path)
    assert code == 0
    path = tmp_path / result["trace"]
    shown = agentd("trace", result["runId"], cwd=tmp_path)
    assert shown.returncode == 0 and "written by this user's agentd" in shown.stdout
    lines = path.read_text().splitlines()
    forged, prev = [], ""
    for line in lines:  # rewrite the written path, then recompute the plain hash chain
        record = json.loads(line.replace("out/hello.txt", "out/other.txt"))
        record["prev"] = prev
        text = json.dumps(record, separators=(",", ":"))
        forged.append(text)
        prev = hashlib.sha256(text.encode()).hexdigest()
    path.write_text("\n".join(forged) + "\n")
    caught = agentd("trace", result["runId"], cwd=tmp_path)
    assert caught.returncode == 1 and "mac does not match" in caught.stdout
