"""What the editors' contract with the server adds (see the report): settings, runs the plugin
did not start itself, the server's code actions, goals-file problems, and revert.

The code-action and goals-problem tests need the server side of that contract; until it lands
they fail at their first assertion, which names the missing piece."""

from __future__ import annotations

from pathlib import Path

from tests.editors.nvim.editor import Editor, write_goals

BROKEN = {"broken": [{"id": "build", "run": "echo 'src/app.py:2: boom'; exit 3"}]}


def request(nvim: Editor, method: str, params: dict[str, object]) -> dict[str, object]:
    answer: dict[str, object] = nvim.lua("return T.request(...)", method, params)
    return answer


def health(nvim: Editor) -> dict[str, object]:
    result = request(nvim, "agent/health", {})["result"]
    assert isinstance(result, dict)
    return result


def test_settings_reach_the_server_and_changes_follow(nvim: Editor) -> None:
    nvim.setup(settings={"maxParallel": 3, "approvalTimeoutMs": 5000})
    assert health(nvim)["maxParallel"] == 3
    assert health(nvim)["approvalTimeoutMs"] == 5000
    nvim.setup(settings={"maxParallel": 5})
    # didChangeConfiguration is a notification: the next request is answered after it.
    assert health(nvim)["maxParallel"] == 5
    assert health(nvim)["approvalTimeoutMs"] == 60000  # a key no longer sent is its default


def test_a_run_started_elsewhere_is_shown_like_our_own(nvim: Editor, workspace: Path) -> None:
    nvim.lua("T.exec(...)", {"command": "agent/runGoal", "arguments": [{"goal": "demo.test"}]})
    result = nvim.wait_finished()
    assert result["goal"] == "demo.test" and result["status"] == "succeeded"
    assert nvim.lua("return #T.started") == 1
    run = nvim.lua("local r = require('agentd.runs').get(); return { r.id, r.own, r.root }")
    assert run == [result["runId"], False, str(workspace)]
    assert "agentd demo.test: succeeded: 1/1 steps succeeded, trust 0.9" in nvim.messages()


def offers_code_actions(nvim: Editor) -> bool:
    return bool(nvim.lua("return T.client().server_capabilities.codeActionProvider ~= nil"))


def code_action(nvim: Editor, title: str) -> None:
    """Asks for the code actions at the cursor and picks the one titled `title`."""
    asked = nvim.lua("return #T.selects")
    nvim.answer(title)
    nvim.lua("vim.lsp.buf.code_action()")
    nvim.wait(f"#T.selects > {asked}", f"code actions offered ({title})")
    labels = nvim.lua("return T.selects[#T.selects].labels")
    assert any(title in label for label in labels), labels


def test_code_actions_rerun_a_step_and_its_goal_and_open_its_output(
    nvim: Editor, workspace: Path
) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("first\nsecond\n")
    write_goals(workspace, BROKEN)
    nvim.command("AgentRun broken")
    first = nvim.wait_finished()
    assert offers_code_actions(nvim), "the server offers no textDocument/codeAction (contract 2)"

    nvim.command("AgentTrace")
    line = nvim.lua(
        "return vim.diagnostic.get(0, { severity = vim.diagnostic.severity.ERROR })[1].lnum"
    )
    nvim.lua(f"vim.api.nvim_win_set_cursor(0, {{ {line + 1}, 0 }})")
    code_action(nvim, "Re-run step build")
    rerun = nvim.wait_finished(2)
    assert rerun["runId"] != first["runId"]
    assert rerun["steps"] == ["echo 'src/app.py:2: boom'; exit 3"]
    assert nvim.lua("return #T.started") == 2  # shown like a run of our own

    nvim.command("edit src/app.py")
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 2, 0 })")
    code_action(nvim, "Re-run goal broken")
    assert nvim.wait_finished(3)["goal"] == "broken"

    nvim.command("AgentTrace")
    nvim.lua(f"vim.api.nvim_win_set_cursor(0, {{ {line + 1}, 0 }})")
    trace = nvim.lua("return vim.api.nvim_buf_get_name(0)")
    code_action(nvim, "Open output of step build")
    nvim.wait(f"vim.api.nvim_buf_get_name(0) ~= '{trace}'", "the step's output opened")


def test_a_broken_goals_file_is_listed_beside_the_goals(nvim: Editor, workspace: Path) -> None:
    goals_file = workspace / ".agent" / "goals.toml"
    goals_file.write_text('[goals.check]\nsteps = [ { rn = "true" } ]\n')
    answer = request(nvim, "agent/listGoals", {"workspace": str(workspace)})
    assert answer.get("err") is None, f"listGoals still fails on a broken file: {answer['err']}"

    nvim.answer("goals.toml")
    nvim.command("AgentRun")
    nvim.wait("#T.selects == 1", "the goal picker asked")
    labels = nvim.lua("return T.selects[1].labels")
    assert any(label.startswith("demo.test") for label in labels), labels
    [problem] = [label for label in labels if label.startswith("! ")]
    assert str(goals_file) in problem and "rn" in problem
    nvim.wait(f"vim.api.nvim_buf_get_name(0) == '{goals_file}'", "picking the problem opens it")


def test_show_document_opens_the_file_at_the_selection(nvim: Editor, workspace: Path) -> None:
    """What `Open output of step ...` makes the server send; 0.7 has no handler of its own."""
    (workspace / "out.log").write_text("one\ntwo\nthree\n")
    params = {
        "uri": (workspace / "out.log").as_uri(),
        "takeFocus": True,
        "selection": {"start": {"line": 2, "character": 1}, "end": {"line": 2, "character": 1}},
    }
    answer = nvim.lua(
        """local client = T.client()
           local handler = client.handlers['window/showDocument']
             or vim.lsp.handlers['window/showDocument']
           local ctx = { method = 'window/showDocument', client_id = client.id }
           return handler(nil, ..., ctx)""",
        params,
    )
    assert answer == {"success": True}
    assert nvim.lua("return vim.api.nvim_buf_get_name(0)") == str(workspace / "out.log")
    assert nvim.lua("return vim.api.nvim_win_get_cursor(0)") == [3, 1]


def test_revert_is_offered_only_by_a_server_that_has_it(nvim: Editor, workspace: Path) -> None:
    nvim.command("AgentRun demo.test")
    result = nvim.wait_finished()
    methods = nvim.lua("return require('agentd.server').get(vim.fn.getcwd()).agent.methods")
    nvim.command("AgentRevert")
    if "agent/revert" not in methods:
        nvim.wait(
            "vim.fn.execute('messages'):find('does not offer agent/revert') ~= nil",
            "said that revert is not offered",
        )
        return
    nvim.wait(
        # plain find: a run id's '-' is a pattern character to Lua
        f"vim.fn.execute('messages'):find('reverted run {result['runId']}', 1, true) ~= nil",
        "reverted",
    )
    assert not (workspace / "out" / "hello.txt").exists()
