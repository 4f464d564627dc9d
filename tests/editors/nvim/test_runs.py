""":AgentRun end to end in a real Neovim: progress, the output buffer, the result, the User
autocmds, the quickfix list and the summary; :AgentCancel leaves no process behind."""

from __future__ import annotations

from pathlib import Path

from tests.editors.nvim.editor import Editor, write_goals
from tests.procs import alive, living, run_processes


def test_a_run_streams_into_its_buffer_and_ends_with_its_result(
    nvim: Editor, workspace: Path
) -> None:
    write_goals(
        workspace,
        {
            "greet": [
                {"id": "hello", "run": "printf 'line one\\nline two\\n'"},
                {"id": "wait", "run": "echo streaming; while [ ! -e go ]; do sleep 0.05; done"},
                {"id": "note", "write": "out/note.txt", "content": "noted\n", "after": ["hello"]},
            ]
        },
    )
    nvim.command("AgentRun greet")
    nvim.wait("#T.started == 1", "AgentRunStarted fired")
    run_id = nvim.lua("return require('agentd.runs').get().id")
    nvim.command("AgentOutput")
    name = f"agentd://run/{run_id}"
    assert nvim.lua("return vim.api.nvim_buf_get_name(0)") == name
    # Live output of a step still running: streamed deltas, before its final StepResult.
    nvim.wait(
        f"vim.tbl_contains(T.buffer_lines('{name}'), '  | streaming')", "streamed output shown"
    )
    assert nvim.lua("return require('agentd.runs').get().status") == "running"
    (workspace / "go").touch()

    result = nvim.wait_finished()
    assert result["runId"] == run_id
    assert result["status"] == "succeeded"
    assert [step["status"] for step in result["results"]] == ["succeeded"] * 3
    assert result["deliverables"] == ["out/note.txt"]
    assert (workspace / "out" / "note.txt").read_text() == "noted\n"
    if nvim.version != "0.7":  # autocmd data arrives on 0.8+
        assert nvim.lua("return T.started[1]") == {"runId": run_id, "goal": "greet"}
        assert nvim.lua("return T.finished[1]") == {
            "runId": run_id,
            "goal": "greet",
            "status": "succeeded",
        }
    assert nvim.lua("return #T.finished") == 1

    nvim.wait(f"vim.tbl_contains(T.buffer_lines('{name}'), 'result: succeeded   trust 0.9')", "")
    lines = nvim.buffer(name)
    assert lines[0] == f"agentd run {run_id}"
    assert "hello  succeeded  printf 'line one\\nline two\\n'  (low, allow)" in lines
    assert "  | line one" in lines and "  | line two" in lines
    assert "deliverables: out/note.txt" in lines

    kinds = [event["kind"] for event in nvim.lua("return T.progress")]
    assert "end" in kinds and "report" in kinds, kinds  # native progress: statuslines see it
    assert "agentd greet: succeeded: 3/3 steps succeeded, trust 0.9" in nvim.messages()
    assert nvim.lua("return vim.fn.getqflist()") == []  # nothing failed


def test_failures_land_in_the_quickfix_list(nvim: Editor, workspace: Path) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("first\nsecond\n")
    write_goals(
        workspace,
        {
            "broken": [
                {"id": "build", "run": "echo 'src/app.py:2: boom'; exit 3"},
                {"id": "escape", "write": "../outside.txt", "content": "no\n"},  # denied
            ]
        },
    )
    nvim.command("AgentRun broken")
    result = nvim.wait_finished()
    assert result["status"] == "failed"
    assert {s["id"]: s["status"] for s in result["results"]} == {
        "build": "failed",
        "escape": "denied",
    }
    assert not (workspace.parent / "outside.txt").exists()

    items = nvim.lua(
        """return vim.tbl_map(function(item)
             return { file = vim.fn.bufname(item.bufnr), lnum = item.lnum, text = item.text }
           end, vim.fn.getqflist())"""
    )
    trace = f".agent/runs/{result['runId']}.jsonl"
    files = [Path(item["file"]).as_posix() for item in items]
    assert files.count(f"{workspace}/{trace}") + files.count(trace) == 2, items
    texts = "\n".join(item["text"] for item in items)
    assert "step build failed: echo 'src/app.py:2: boom'; exit 3 (exit code 3)" in texts
    assert "step escape denied: write ../outside.txt" in texts
    mapped = [item for item in items if item["file"].endswith("src/app.py")]
    assert len(mapped) == 1 and mapped[0]["lnum"] == 2, items
    assert "boom" in mapped[0]["text"]
    title = nvim.lua("return vim.fn.getqflist({ title = 0 }).title")
    assert title.startswith("agentd broken: failed")
    assert "agentd broken: failed: 0/2 steps succeeded, trust 0.0 (3 in quickfix)" in (
        nvim.messages()
    )

    # A good run afterwards replaces our list instead of leaving stale failures.
    nvim.command("AgentRun demo.test")
    assert nvim.wait_finished(2)["status"] == "succeeded"
    assert nvim.lua("return vim.fn.getqflist()") == []


def test_cancel_stops_the_run_and_its_processes(nvim: Editor, workspace: Path) -> None:
    write_goals(workspace, {"slow": [{"id": "sleep", "run": "touch started; exec sleep 60"}]})
    nvim.command("AgentRun slow")
    nvim.wait(f"vim.fn.filereadable('{workspace / 'started'}') == 1", "the step started")
    run_id = nvim.lua("return require('agentd.runs').get().id")
    # Seen from the host (a sandboxed step's $$ is a pid in its own namespace).
    pids = run_processes(run_id)
    assert pids, f"no process of run {run_id} found"
    assert nvim.lua("return vim.fn.getcompletion('AgentCancel ', 'cmdline')") == [run_id]
    nvim.command("AgentCancel nothing")  # a wrong id cancels nothing
    assert "agentd: no run to cancel named nothing" in nvim.messages()
    assert living(pids) and nvim.lua("return #require('agentd.runs').active()") == 1
    nvim.command("AgentCancel")
    result = nvim.wait_finished()
    assert result["status"] == "cancelled"
    assert result["results"][0]["status"] == "cancelled"
    assert not alive(pids, settle_s=20.0), f"processes of run {run_id} survived the cancel"
    assert not run_processes(run_id)
    assert "agentd slow: cancelled" in nvim.messages()
    nvim.command("AgentCancel")  # nothing left to cancel: said, not an error
    assert "agentd: no run to cancel" in nvim.messages()
