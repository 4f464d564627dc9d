-- agentd for Neovim: the public Lua API. Every :Agent* command calls one of these functions,
-- so users can map keys to them. See :help agentd.
local config = require('agentd.config')
local runs = require('agentd.runs')
local server = require('agentd.server')

local M = {}

--- Configures the plugin (optional: the defaults work). Calling it again applies the new
--- options; new `settings` are pushed to running servers.
---@param opts table|nil see :help agentd-setup
function M.setup(opts)
  local options = config.resolve(opts) -- raises on a bad option; the previous options stay
  local settings_changed = not vim.deep_equal(options.settings, config.options.settings)
  config.options = options
  require('agentd.commands').define()
  server.register()
  if settings_changed then
    server.configure(options.settings)
  end
end

---@param opts table|nil
---@return string
local function root_of(opts)
  return opts and opts.root or config.root_for(0)
end

---@param root string
---@param params table RunGoalParams without workspace and token
local function start_run(root, params)
  local token = runs.expect(root, false)
  params.workspace = root
  params.workDoneToken = token
  server.request(root, 'agent/runGoal', params, function(result)
    runs.answered(token, nil, result)
  end, function(err)
    runs.answered(token, err, nil)
  end)
end

--- Runs a goal (a goal id, or free text for a language model); without one, asks which.
---@param goal string|nil
---@param opts table|nil { root = workspace }
function M.run(goal, opts)
  local root = root_of(opts)
  if goal == nil or goal == '' then
    require('agentd.goals').pick(root, 'agentd: run which goal?', function(id)
      M.run(id, { root = root })
    end)
    return
  end
  start_run(root, { goal = goal })
end

--- Runs explicit steps (see the Step shape in :help agentd-steps).
---@param steps table[]
---@param opts table|nil { root = workspace }
function M.run_steps(steps, opts)
  start_run(root_of(opts), { steps = steps })
end

--- Runs a recorded run's plan again, gated again and without any model (planner "replay").
---@param run_id string
---@param opts table|nil { root = workspace, step_ids = only these steps }
function M.replay(run_id, opts)
  local params = { planner = 'replay', runId = run_id }
  if opts and opts.step_ids then
    params.stepIds = opts.step_ids
  end
  start_run(root_of(opts), params)
end

--- Shows the gated plan of a goal in a floating window; <CR> there runs it as planned.
---@param goal string|nil
---@param opts table|nil
function M.plan(goal, opts)
  local root = root_of(opts)
  if goal == nil or goal == '' then
    require('agentd.goals').pick(root, 'agentd: plan which goal?', function(id)
      require('agentd.plan').show(root, id)
    end)
    return
  end
  require('agentd.plan').show(root, goal)
end

--- Cancels a run (default: the latest one still going); its processes are killed.
---@param run_id string|nil
function M.cancel(run_id)
  local run
  if run_id then
    run = runs.get(run_id)
  else
    local active = runs.active()
    run = active[#active]
  end
  if run == nil then
    vim.notify('agentd: no run to cancel' .. (run_id and (' named ' .. run_id) or ''), vim.log.levels.WARN)
    return
  end
  server.request(run.root, 'agent/cancel', { runId = run.id }, function(result)
    if not result.cancelled then
      vim.notify('agentd: run ' .. run.id .. ' is not going any more', vim.log.levels.WARN)
    end
  end)
end

--- Opens a run's trace (default: the latest run of this session); its diagnostics offer the
--- server's code actions.
---@param run_id string|nil
---@param opts table|nil { root = workspace }
function M.trace(run_id, opts)
  local run = runs.get(run_id)
  local root = run and run.root or root_of(opts)
  local id = run and run.id or run_id
  if id == nil then
    vim.notify('agentd: no run yet; name one: :AgentTrace RUN_ID', vim.log.levels.WARN)
    return
  end
  local path = root .. '/.agent/runs/' .. id .. '.jsonl'
  if vim.fn.filereadable(path) ~= 1 then
    vim.notify('agentd: no trace of run ' .. id .. ' in ' .. root, vim.log.levels.ERROR)
    return
  end
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
end

--- Reverts a run's file changes (default: the latest run), when the server offers agent/revert.
---@param run_id string|nil
---@param opts table|nil { root = workspace }
function M.revert(run_id, opts)
  local run = runs.get(run_id)
  local root = run and run.root or root_of(opts)
  local id = run and run.id or run_id
  server.with_client(root, function()
    if not server.offers(root, 'agent/revert') then
      vim.notify('agentd: this server does not offer agent/revert (it needs a newer agentd)', vim.log.levels.WARN)
    elseif id == nil then
      vim.notify('agentd: no run yet; name one: :AgentRevert RUN_ID', vim.log.levels.WARN)
    else
      server.request(root, 'agent/revert', { runId = id, workspace = root }, function(result)
        require('agentd.results').reverted(result)
      end)
    end
  end)
end

--- Opens the server's log (the `log_file` option; else Neovim's LSP log, which gets its stderr).
function M.log()
  local path = config.options.log_file or require('agentd.compat').lsp_log_path()
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
end

--- Opens the agentd://run/<id> buffer of a run (default: the latest).
---@param run_id string|nil
function M.output(run_id)
  local run = runs.get(run_id)
  if run == nil then
    vim.notify('agentd: no run ' .. (run_id or 'yet') .. ' in this session', vim.log.levels.WARN)
    return
  end
  require('agentd.view').open(run, { focus = true })
end

--- The RunResult of the latest finished run, as a Lua table (nil before any).
---@return table|nil
function M.last_result()
  return runs.last_result()
end

return M
