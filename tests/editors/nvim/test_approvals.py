"""Approvals come through vim.ui.select (here a stub that answers like an asynchronous picker):
the prompt shows the command, its risk and the reasons; allow runs the step, reject does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.nvim.editor import Editor, write_goals

TASKS = ".vscode/tasks.json"  # an editor-executed file: the gate asks before writing it


@pytest.mark.parametrize(
    ("answer", "status", "written"),
    [("Allow once", "succeeded", True), ("Reject", "rejected", False), (None, "rejected", False)],
    ids=["allow", "reject", "dismiss"],
)
def test_an_asking_step_waits_for_the_user(
    nvim: Editor, workspace: Path, answer: str | None, status: str, written: bool
) -> None:
    write_goals(workspace, {"tasks": [{"id": "tasks", "write": TASKS, "content": "{}\n"}]})
    if answer is not None:
        nvim.answer(answer)
    nvim.command("AgentRun tasks")
    result = nvim.wait_finished()

    [asked] = nvim.lua("return T.selects")
    assert asked["kind"] == "agentd.approval"
    assert f"write {TASKS}" in asked["prompt"]
    assert "risk high" in asked["prompt"]
    assert "an editor or CI runs this file" in asked["prompt"]  # the gate's reason
    assert asked["labels"] == ["Allow once", "Allow always", "Reject", "Reject always"]
    [step] = result["results"]
    assert step["decision"] == "ask"
    assert step["status"] == status
    assert (workspace / TASKS).exists() is written
    if written:
        assert step["approvedBy"] == "user"
        assert nvim.lua("return vim.fn.getqflist()") == []
    else:
        [item] = nvim.lua("return vim.fn.getqflist()")
        assert "step tasks rejected" in item["text"]
