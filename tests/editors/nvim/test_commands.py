""":AgentPlan's window, goal completion and the goal picker, :AgentTrace, :AgentLog, and what
each bad input gets: a clear message, nothing lost."""

from __future__ import annotations

from pathlib import Path

from tests.editors.nvim.editor import Editor, Goals, write_goals

NOTE = {"id": "note", "write": "out/plan.txt", "content": "exactly this\n", "after": ["ask"]}
GOALS: Goals = {"planned": [{"id": "ask", "write": ".vscode/tasks.json", "content": "{}\n"}, NOTE]}


def test_plan_shows_each_step_and_runs_exactly_that_plan(nvim: Editor, workspace: Path) -> None:
    write_goals(workspace, GOALS)
    nvim.command("AgentPlan planned")
    nvim.wait("vim.bo.filetype == 'agentd-plan'", "the plan window opened")
    assert nvim.lua("return vim.api.nvim_win_get_config(0).relative") == "editor"  # floating
    lines = nvim.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    assert lines[0] == "Plan for planned: 2 steps (planner stub)"
    assert "ask   ask   high     write .vscode/tasks.json" in lines
    assert "    write .vscode/tasks.json: an editor or CI runs this file (high)" in lines
    assert "note  allow low      write out/plan.txt" in lines
    assert "    after: ask" in lines
    assert nvim.lua("return #T.started") == 0  # a plan is not a run
    assert not (workspace / "out").exists()

    nvim.answer("Allow once")
    nvim.nvim.input("<CR>")
    result = nvim.wait_finished()
    assert result["planner"] == "replay"  # the planned steps themselves, not a new plan
    assert result["goal"] == "planned"
    assert [s["status"] for s in result["results"]] == ["succeeded", "succeeded"]
    assert (workspace / "out" / "plan.txt").read_text() == "exactly this\n"
    assert nvim.lua("return vim.bo.filetype") != "agentd-plan"  # the window closed


def test_goals_complete_and_the_picker_runs_the_chosen_one(nvim: Editor, workspace: Path) -> None:
    write_goals(workspace, GOALS)
    completions = nvim.lua("return vim.fn.getcompletion('AgentRun ', 'cmdline')")
    assert {"demo.test", "swe.analyze", "planned"} <= set(completions)
    assert nvim.lua("return vim.fn.getcompletion('AgentPlan sw', 'cmdline')") == [
        c for c in completions if c.startswith("sw")
    ]

    nvim.answer("demo.test")
    nvim.command("AgentRun")
    result = nvim.wait_finished()
    [picked] = nvim.lua("return T.selects")
    assert picked["kind"] == "agentd.goal"
    assert any(label.startswith("planned  Planned  [workspace]") for label in picked["labels"])
    assert result["goal"] == "demo.test" and result["status"] == "succeeded"

    nvim.command("AgentRun")  # dismissed: nothing runs
    nvim.wait("#T.selects == 2", "the picker asked again")
    assert nvim.lua("return #T.started") == 1


def test_trace_and_log_open_their_files(nvim: Editor, workspace: Path) -> None:
    nvim.command("AgentRun demo.test")
    result = nvim.wait_finished()
    nvim.command("AgentTrace")
    assert nvim.lua("return vim.api.nvim_buf_get_name(0)") == str(workspace / result["trace"])
    assert '"type":"run.finished"' in nvim.lua("return vim.fn.getline('$')")
    assert result["runId"] in nvim.lua("return vim.fn.getcompletion('AgentTrace ', 'cmdline')")
    nvim.command("AgentLog")
    log = nvim.lua("return vim.api.nvim_buf_get_name(0)")
    assert log.endswith("agentd.log")
    assert "serving on stdio" in Path(log).read_text()


def test_bad_input_gets_a_clear_message(nvim: Editor, workspace: Path) -> None:
    nvim.command("AgentRun no.such.goal")
    nvim.command("AgentRun tidy up the readme")  # free text without a language model
    nvim.wait("#T.finished == 2", "both runs ended")
    assert nvim.lua("return require('agentd').last_result()") is None  # no RunResult came
    messages = nvim.messages()
    assert "agentd no.such.goal: failed: goal: unknown goal 'no.such.goal'" in messages
    assert "agentd tidy up the readme: failed: goal: 'tidy up the readme' is free text" in messages
    assert "OPENAI_API_KEY" in messages  # how to configure a model
    if nvim.version != "0.7":
        assert [e["status"] for e in nvim.lua("return T.finished")] == ["failed", "failed"]

    error = nvim.lua("local ok, e = pcall(require('agentd').setup, { sttings = {} }); return e")
    assert error == "agentd.setup: unknown option 'sttings'"
    error = nvim.lua("local ok, e = pcall(require('agentd').setup, { cmd = 'agentd' }); return e")
    assert error == 'agentd.setup: cmd: expected a non-empty list of strings, got "agentd"'
    # The options in force before stay: a run still works.
    nvim.command("AgentRun demo.test")
    assert nvim.wait_finished(3)["status"] == "succeeded"

    error = nvim.command_error("AgentTrace 20000101T000000-nothing")
    assert f"agentd: no trace of run 20000101T000000-nothing in {workspace}" in error
    nvim.command("AgentOutput nothing")
    assert "agentd: no run nothing in this session" in nvim.messages()


def test_autostart_starts_the_server_with_the_first_file(nvim: Editor, workspace: Path) -> None:
    (workspace / "app.py").write_text("print('hi')\n")
    nvim.setup(autostart=True)
    nvim.command("edit app.py")
    nvim.wait(
        "require('agentd.server').get(vim.fn.getcwd()) ~= nil"
        " and require('agentd.server').get(vim.fn.getcwd()).ready",
        "the server started",
    )
    client_id = nvim.lua("return require('agentd.server').get(vim.fn.getcwd()).client_id")
    nvim.wait(f"vim.lsp.buf_is_attached(0, {client_id})", "the file is attached to it")
    nvim.command("AgentRun demo.test")  # the same server runs the goal
    assert nvim.wait_finished()["status"] == "succeeded"
    assert len(nvim.server_pids()) == 1
