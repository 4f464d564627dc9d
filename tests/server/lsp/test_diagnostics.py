"""Trace diagnostics (PROTOCOL.md section 4): on the trace file and on workspace source files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import DiagnosticSeverity

from tests.server.agent_client import (
    AgentClient,
    call,
    step,
    trace_records,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAILING = "echo 'src/a.py:3:1: boom'; echo 'missing.py:1: x'; echo '/etc/passwd:1: y' >&2; exit 1"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a = 1\nb = 2\nc = 3\n")
    return tmp_path


async def run(client: AgentClient, workspace: Path, steps: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = await call(
        client, "agent/runGoal", {"workspace": str(workspace), "steps": steps}
    )
    return result


async def test_one_diagnostic_per_step_on_its_trace_line(
    client: AgentClient, workspace: Path
) -> None:
    steps = [
        step("echo ok", id="ok"),
        step(FAILING, id="bad"),
        step("rm -rf /", id="denied"),
        step("echo never", id="skipped", after=["bad"]),
    ]
    result = await run(client, workspace, steps)
    trace_uri = (workspace / result["trace"]).as_uri()
    diagnostics = {d.code: d for d in client.diagnostics[trace_uri]}
    assert set(diagnostics) == {"succeeded", "failed", "denied", "skipped"}
    severities = {code: d.severity for code, d in diagnostics.items()}
    assert severities == {
        "succeeded": DiagnosticSeverity.Hint,
        "failed": DiagnosticSeverity.Error,
        "denied": DiagnosticSeverity.Warning,
        "skipped": DiagnosticSeverity.Warning,
    }
    lines = {
        r["stepId"]: index
        for index, r in enumerate(trace_records(workspace, result["runId"]))
        if r["type"] == "step.finished"
    }
    by_step = {r["id"]: r["status"] for r in result["results"]}
    for step_id, status in by_step.items():
        assert diagnostics[status].range.start.line == lines[step_id]
        assert diagnostics[status].source == "agent"
        assert step_id in diagnostics[status].message


async def test_failed_output_points_at_workspace_files(
    client: AgentClient, workspace: Path
) -> None:
    await run(client, workspace, [step(FAILING)])
    (diagnostic,) = client.diagnostics[(workspace / "src" / "a.py").as_uri()]
    assert (diagnostic.range.start.line, diagnostic.range.start.character) == (2, 0)
    assert diagnostic.message.startswith("boom")
    assert diagnostic.severity == DiagnosticSeverity.Error
    assert diagnostic.source == "agent"
    assert Path("/etc/passwd").as_uri() not in client.diagnostics  # outside the workspace
    assert (workspace / "missing.py").as_uri() not in client.diagnostics  # no such file


async def test_a_symlinked_workspace_keeps_its_uris(
    client: AgentClient, workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    link = tmp_path_factory.mktemp("links") / "ws"
    link.symlink_to(workspace)
    await run(client, link, [step(FAILING)])
    (diagnostic,) = client.diagnostics[(link / "src" / "a.py").as_uri()]
    assert diagnostic.message.startswith("boom")


async def test_a_rerun_replaces_the_previous_diagnostics(
    client: AgentClient, workspace: Path
) -> None:
    first = await run(client, workspace, [step(FAILING)])
    source_uri = (workspace / "src" / "a.py").as_uri()
    assert client.diagnostics[source_uri]
    # Another goal in the same workspace leaves them alone ...
    await call(client, "agent/runGoal", {"goal": "demo.test", "workspace": str(workspace)})
    assert client.diagnostics[source_uri]
    # ... the same goal again replaces them.
    second = await run(client, workspace, [step("echo fine")])
    assert list(client.diagnostics[source_uri]) == []
    assert list(client.diagnostics[(workspace / first["trace"]).as_uri()]) == []
    (hint,) = client.diagnostics[(workspace / second["trace"]).as_uri()]
    assert hint.severity == DiagnosticSeverity.Hint
