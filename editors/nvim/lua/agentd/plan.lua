-- `:AgentPlan goal`: the gated plan in a floating window, each step with its decision, risk and
-- reasons; <CR> runs exactly those steps (a replay of the plan's run), q closes.
local runs = require('agentd.runs')
local server = require('agentd.server')

local M = {}

---@param result table the RunResult of agent/plan (status `planned`)
---@return string[]
function M.lines(result)
  local step_line = require('agentd.approvals').step_line
  local count = #(result.results or {})
  local lines = {
    string.format('Plan for %s: %d step%s (planner %s)', result.goal, count, count == 1 and '' or 's', result.planner),
    '',
  }
  local id_width = 0
  for _, step in ipairs(result.results or {}) do
    id_width = math.max(id_width, #step.id)
  end
  for _, step in ipairs(result.results or {}) do
    local risk = step.risk or {}
    local row = '%-' .. id_width .. 's  %-5s %-8s %s'
    table.insert(lines, string.format(row, step.id, step.decision, risk.level or '?', step_line(step)))
    for _, reason in ipairs(risk.reasons or {}) do
      table.insert(lines, '    ' .. reason)
    end
    if step.after and #step.after > 0 then
      table.insert(lines, '    after: ' .. table.concat(step.after, ', '))
    end
  end
  table.insert(lines, '')
  table.insert(lines, '<CR> run these steps   q close')
  return lines
end

--- Runs the planned steps exactly as planned: a replay of the plan's recorded run (the server
--- keeps a writeFile's content beside the trace), gated again.
---@param root string
---@param run_id string
function M.run_planned(root, run_id)
  require('agentd').replay(run_id, { root = root })
end

---@param root string
---@param result table
---@return integer window
local function open_window(root, result)
  local lines = M.lines(result)
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].bufhidden = 'wipe'
  vim.bo[bufnr].filetype = 'agentd-plan'
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width + 2, vim.o.columns - 4)
  local height = math.min(#lines, vim.o.lines - 4)
  local win = vim.api.nvim_open_win(bufnr, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.floor((vim.o.lines - height) / 2) - 1,
    col = math.floor((vim.o.columns - width) / 2),
    style = 'minimal',
    border = 'rounded',
  })
  local function close()
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
  end
  local opts = { buffer = bufnr, nowait = true, silent = true }
  vim.keymap.set('n', '<CR>', function()
    close()
    M.run_planned(root, result.runId)
  end, opts)
  vim.keymap.set('n', 'q', close, opts)
  vim.keymap.set('n', '<Esc>', close, opts)
  return win
end

---@param root string
---@param goal string
function M.show(root, goal)
  local token = runs.expect(root, true)
  local params = { goal = goal, workspace = root, workDoneToken = token }
  server.request(root, 'agent/plan', params, function(result)
    runs.answered(token, nil, result)
    open_window(root, result)
  end, function(err)
    runs.answered(token, err, nil)
  end)
end

return M
