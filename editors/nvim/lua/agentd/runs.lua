-- Every run this session hears of (its own and those started by code actions): their plan,
-- steps, streamed output and progress, from agent/runStarted to the RunResult. Views, the
-- quickfix list and the User autocmds all read from here.
local compat = require('agentd.compat')
local config = require('agentd.config')

local M = {}

---@class agentd.Run
---@field id string
---@field goal string
---@field root string
---@field client_id integer
---@field token string|integer|nil
---@field own boolean started by this plugin (the answer to its own request finishes it)
---@field planner string|nil
---@field steps table[] StepResults in plan order, updated as they change
---@field output table<string, {stdout: string, stderr: string}> streamed output per step
---@field progress {message: string|nil, percentage: integer|nil, ended: boolean|nil}
---@field status string 'running', then the RunResult's status (or 'failed' on an error)
---@field result table|nil the RunResult
---@field error string|nil why a run ended without a RunResult

local runs = {} ---@type table<string, agentd.Run>
local order = {} ---@type string[] run ids, oldest first
local expected = {} ---@type table<string, table> our request's token -> {root, dry, run_id}
local by_token = {} ---@type table<string, string> client id .. token -> run id (for $/progress)
local last_result = nil
local token_count = 0

local function token_key(client_id, token)
  return tostring(client_id) .. ':' .. tostring(token)
end

local function changed(run)
  require('agentd.view').changed(run)
end

--- A fresh progress token for a request of ours; `dry` runs (agent/plan) are not tracked.
---@param root string
---@param dry boolean
---@return string
function M.expect(root, dry)
  token_count = token_count + 1
  local token = string.format('agentd-nvim-%d-%d', vim.fn.getpid(), token_count)
  expected[token] = { root = root, dry = dry }
  return token
end

---@param id string|nil
---@return agentd.Run|nil
function M.get(id)
  if id == nil or id == '' then
    return runs[order[#order]]
  end
  return runs[id]
end

---@return agentd.Run[] runs still going, oldest first
function M.active()
  local active = {}
  for _, id in ipairs(order) do
    if runs[id].status == 'running' then
      table.insert(active, runs[id])
    end
  end
  return active
end

---@return string[] every run id of this session, newest first
function M.ids()
  local ids = {}
  for i = #order, 1, -1 do
    table.insert(ids, order[i])
  end
  return ids
end

---@return table|nil
function M.last_result()
  return last_result and vim.deepcopy(last_result)
end

function M.started(params, client_id)
  local wanted = params.workDoneToken ~= nil and expected[params.workDoneToken] or nil
  if wanted and wanted.dry then
    return -- a plan (agent/plan): shown by the plan window, not a run
  end
  local server = require('agentd.server').by_client(client_id)
  local run = {
    id = params.runId,
    goal = params.goal,
    root = wanted and wanted.root or (server and server.root) or vim.fn.getcwd(),
    client_id = client_id,
    token = params.workDoneToken,
    own = wanted ~= nil,
    steps = {},
    output = {},
    progress = {},
    status = 'running',
  }
  runs[run.id] = run
  table.insert(order, run.id)
  if wanted then
    wanted.run_id = run.id
  end
  if run.token ~= nil then
    by_token[token_key(client_id, run.token)] = run.id
  end
  compat.user_autocmd('AgentRunStarted', { runId = run.id, goal = run.goal })
  if config.options.open_output then
    -- Not everywhere possible (the command line, a prompt): then the run goes on without it.
    local ok, problem = pcall(require('agentd.view').open, run, { focus = false })
    if not ok then
      local text = string.format('agentd: cannot show run %s now (%s); see :AgentOutput', run.id, problem)
      vim.notify(text, vim.log.levels.WARN)
    end
  end
  changed(run)
end

function M.plan_ready(params)
  local run = runs[params.runId]
  if run then
    run.planner = params.planner
    run.steps = params.steps or {}
    changed(run)
  end
end

function M.step_updated(params)
  local run = runs[params.runId]
  if run == nil then
    return
  end
  for i, step in ipairs(run.steps) do
    if step.id == params.step.id then
      run.steps[i] = params.step
      changed(run)
      return
    end
  end
  table.insert(run.steps, params.step)
  changed(run)
end

function M.output_delta(params)
  local run = runs[params.runId]
  if run == nil then
    return
  end
  local output = run.output[params.stepId] or { stdout = '', stderr = '' }
  run.output[params.stepId] = output
  output[params.stream] = (output[params.stream] or '') .. params.text
  changed(run)
end

local function echo_progress(run)
  local progress = run.progress
  local text = string.format('agentd %s: %s', run.goal, progress.message or '')
  if progress.percentage then
    text = text .. string.format(' (%d%%)', progress.percentage)
  end
  -- Transient, like a statusline: no history, and cut to fit so that it never asks for Enter.
  vim.api.nvim_echo({ { vim.fn.strcharpart(text, 0, math.max(vim.o.columns - 12, 20)) } }, false, {})
end

function M.progress(params, client_id)
  local run = runs[by_token[token_key(client_id, params.token)] or '']
  local value = params.value
  if run == nil or type(value) ~= 'table' then
    return
  end
  run.progress = { message = value.message or run.progress.message, percentage = value.percentage }
  if value.kind == 'end' then
    run.progress.ended = true
    by_token[token_key(client_id, params.token)] = nil -- the server may reuse the token later
  elseif config.options.progress then
    echo_progress(run)
  end
  changed(run)
end

--- The run is over: its RunResult (or the error that ended it) recorded, the quickfix list
--- filled, the summary echoed, and AgentRunFinished fired.
---@param run agentd.Run
---@param result table|nil
---@param error_message string|nil
local function finish(run, result, error_message)
  if run.status ~= 'running' then
    return
  end
  run.result = result
  run.error = error_message
  run.status = result and result.status or 'failed'
  if result then
    run.steps = result.results or run.steps
    last_result = result
  end
  require('agentd.results').publish(run)
  compat.user_autocmd('AgentRunFinished', { runId = run.id, goal = run.goal, status = run.status })
  changed(run)
end

--- The answer to our own agent/runGoal request.
---@param token string
---@param err table|nil
---@param result table|nil
function M.answered(token, err, result)
  local wanted = expected[token] or {}
  expected[token] = nil
  result = compat.without_nulls(result)
  local run = runs[wanted.run_id or ''] -- none when the request failed before the run started
  if run then
    finish(run, result, err and err.message)
  elseif err then
    vim.notify('agentd: ' .. (err.message or 'the request failed'), vim.log.levels.ERROR)
  end
end

--- workspace/executeCommand answers we did not ask for ourselves (code actions, user code).
function M.command_answered(client_id, err, result)
  if type(result) == 'table' and result.runId and result.results then
    local run = runs[result.runId]
    if run then
      finish(run, result, nil)
    end
  elseif type(result) == 'table' and result.restored then
    require('agentd.results').reverted(result)
  elseif err then
    -- A run that failed this way has no RunResult to name it: end the ones whose progress ended.
    for _, run in pairs(runs) do
      if run.client_id == client_id and not run.own and run.progress.ended then
        finish(run, nil, err.message)
      end
    end
    vim.notify('agentd: ' .. (err.message or 'command failed'), vim.log.levels.ERROR)
  end
end

--- The server went away: every run it had going is over.
function M.server_exited(client_id)
  for _, run in pairs(runs) do
    if run.client_id == client_id then
      finish(run, nil, 'the server exited')
    end
  end
end

return M
