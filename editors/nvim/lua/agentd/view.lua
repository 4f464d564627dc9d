-- The `agentd://run/<id>` buffer: a run's steps, their status and risk, and their output as it
-- streams; it can be opened at any time (`:AgentOutput`, `:edit agentd://run/<id>`).
local M = {}

local PREFIX = 'agentd://run/'
local MAX_LINES = 1000 -- per step and stream; the complete output stays in the trace folder

local buffers = {} ---@type table<string, integer> run id -> buffer
local scheduled = {} ---@type table<string, boolean>

---@param text string|nil
---@param mark string
---@param lines string[]
local function add_output(text, mark, lines)
  if text == nil or text == '' then
    return
  end
  local trimmed = text:gsub('\n$', '')
  local out = vim.split(trimmed, '\n', { plain = true })
  local first = math.max(#out - MAX_LINES + 1, 1)
  if first > 1 then
    table.insert(lines, string.format('  %s ... %d earlier lines (see :AgentTrace)', mark, first - 1))
  end
  for i = first, #out do
    table.insert(lines, '  ' .. mark .. ' ' .. out[i])
  end
end

local FINAL = {
  succeeded = true,
  failed = true,
  timedOut = true,
  cancelled = true,
  denied = true,
  rejected = true,
  skipped = true,
  planned = true,
}

---@param run agentd.Run
---@return string[]
function M.lines(run)
  local step_line = require('agentd.approvals').step_line
  local lines = {
    'agentd run ' .. run.id,
    string.format('goal: %s   planner: %s   status: %s', run.goal, run.planner or '-', run.status),
    'workspace: ' .. vim.fn.fnamemodify(run.root, ':~'),
  }
  if run.progress.message then
    table.insert(lines, 'progress: ' .. run.progress.message)
  end
  table.insert(lines, '')
  local id_width = 0
  for _, step in ipairs(run.steps) do
    id_width = math.max(id_width, #step.id)
  end
  for _, step in ipairs(run.steps) do
    local risk = step.risk or {}
    local detail = string.format('(%s, %s)', risk.level or '?', step.decision or '?')
    if step.exitCode ~= nil and step.status ~= 'succeeded' then
      detail = detail .. ' exit ' .. step.exitCode
    end
    local row = '%-' .. id_width .. 's  %-9s  %s  %s'
    table.insert(lines, string.format(row, step.id, step.status, step_line(step), detail))
    -- Live deltas until the step's final StepResult, which carries its whole captured output.
    local output = FINAL[step.status] and step or run.output[step.id] or {}
    add_output(output.stdout, '|', lines)
    add_output(output.stderr, '!', lines)
  end
  if run.result then
    local result = run.result
    table.insert(lines, '')
    table.insert(lines, string.format('result: %s   trust %s', result.status, (result.bits or {}).t or '-'))
    if result.deliverables and #result.deliverables > 0 then
      table.insert(lines, 'deliverables: ' .. table.concat(result.deliverables, ', '))
    end
    table.insert(lines, 'trace: ' .. (result.trace or '-'))
  elseif run.error then
    table.insert(lines, '')
    table.insert(lines, 'error: ' .. run.error)
  end
  return lines
end

---@param bufnr integer
---@param lines string[]
local function set_lines(bufnr, lines)
  -- Windows whose cursor sat on the last line follow the output (like tail -f).
  local last = vim.api.nvim_buf_line_count(bufnr)
  local following = {}
  for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
    if vim.api.nvim_win_get_cursor(win)[1] == last then
      table.insert(following, win)
    end
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false
  for _, win in ipairs(following) do
    vim.api.nvim_win_set_cursor(win, { #lines, 0 })
  end
end

local function prepare(bufnr)
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].filetype = 'agentd'
end

--- Fills the buffer named agentd://run/<id> (the BufReadCmd of plugin/agentd.lua).
---@param bufnr integer
function M.read(bufnr)
  local id = vim.api.nvim_buf_get_name(bufnr):sub(#PREFIX + 1)
  prepare(bufnr)
  local run = require('agentd.runs').get(id)
  if run == nil then
    set_lines(bufnr, { 'agentd: no run ' .. id .. ' in this session; its trace: :AgentTrace ' .. id })
    return
  end
  buffers[run.id] = bufnr
  set_lines(bufnr, M.lines(run))
end

--- Re-renders the run's buffer, once per batch of notifications, when it has one.
---@param run agentd.Run
function M.changed(run)
  local bufnr = buffers[run.id]
  if bufnr == nil or scheduled[run.id] then
    return
  end
  scheduled[run.id] = true
  vim.schedule(function()
    scheduled[run.id] = nil
    if vim.api.nvim_buf_is_valid(bufnr) then
      set_lines(bufnr, M.lines(run))
    else
      buffers[run.id] = nil
    end
  end)
end

--- Shows the run's buffer in a window (a split below, unless one shows it already).
---@param run agentd.Run
---@param opts {focus: boolean}|nil
---@return integer bufnr
function M.open(run, opts)
  local bufnr = buffers[run.id]
  if bufnr == nil or not vim.api.nvim_buf_is_valid(bufnr) then
    bufnr = vim.api.nvim_create_buf(true, false)
    vim.api.nvim_buf_set_name(bufnr, PREFIX .. run.id)
    prepare(bufnr)
    buffers[run.id] = bufnr
    set_lines(bufnr, M.lines(run))
  end
  local wins = vim.fn.win_findbuf(bufnr)
  local previous = vim.api.nvim_get_current_win()
  if #wins == 0 then
    vim.cmd('botright 12split')
    vim.api.nvim_win_set_buf(0, bufnr)
    -- On the last line: the window follows the output as it comes.
    vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
  else
    vim.api.nvim_set_current_win(wins[1])
  end
  if opts and opts.focus == false then
    vim.api.nvim_set_current_win(previous)
  end
  return bufnr
end

return M
