-- The :Agent* commands with their completion, and the autocmds that the plugin needs from the
-- start (the agentd://run/<id> buffers, attaching opened files to the server of their root).
local M = {}

local function agentd()
  return require('agentd')
end

local function root()
  return require('agentd.config').root_for(0)
end

local function starting_with(items, arglead)
  local matches = {}
  for _, item in ipairs(items) do
    if item:sub(1, #arglead) == arglead and not vim.tbl_contains(matches, item) then
      table.insert(matches, item)
    end
  end
  return matches
end

local function complete_goals(arglead)
  return require('agentd.goals').complete(root(), arglead)
end

local function complete_active_runs(arglead)
  local ids = {}
  for _, run in ipairs(require('agentd.runs').active()) do
    table.insert(ids, 1, run.id)
  end
  return starting_with(ids, arglead)
end

-- This session's runs, then the traces on disk (newest first: run ids start with a timestamp).
local function complete_traces(arglead)
  local ids = require('agentd.runs').ids()
  local traces = vim.fn.glob(root() .. '/.agent/runs/*.jsonl', false, true)
  table.sort(traces, function(a, b)
    return a > b
  end)
  for _, path in ipairs(traces) do
    table.insert(ids, vim.fn.fnamemodify(path, ':t:r'))
  end
  return starting_with(ids, arglead)
end

local function optional(args)
  return args.args ~= '' and args.args or nil
end

local commands = {
  AgentRun = {
    function(args)
      agentd().run(optional(args))
    end,
    { nargs = '*', complete = complete_goals, desc = 'agentd: run a goal (no argument: pick one)' },
  },
  AgentPlan = {
    function(args)
      agentd().plan(optional(args))
    end,
    { nargs = '*', complete = complete_goals, desc = "agentd: show a goal's gated plan" },
  },
  AgentCancel = {
    function(args)
      agentd().cancel(optional(args))
    end,
    { nargs = '?', complete = complete_active_runs, desc = 'agentd: cancel a run (default: the latest)' },
  },
  AgentTrace = {
    function(args)
      agentd().trace(optional(args))
    end,
    { nargs = '?', complete = complete_traces, desc = "agentd: open a run's trace" },
  },
  AgentRevert = {
    function(args)
      agentd().revert(optional(args))
    end,
    { nargs = '?', complete = complete_traces, desc = "agentd: revert a run's file changes" },
  },
  AgentLog = {
    function()
      agentd().log()
    end,
    { nargs = 0, desc = "agentd: open the server's log" },
  },
  AgentOutput = {
    function(args)
      agentd().output(optional(args))
    end,
    { nargs = '?', complete = complete_traces, desc = "agentd: open a run's output buffer" },
  },
}

--- Defines the commands and autocmds; safe to call again (everything is replaced).
function M.define()
  for name, spec in pairs(commands) do
    vim.api.nvim_create_user_command(name, spec[1], spec[2])
  end
  local group = vim.api.nvim_create_augroup('agentd', { clear = true })
  vim.api.nvim_create_autocmd('BufReadCmd', {
    group = group,
    pattern = 'agentd://run/*',
    callback = function(args)
      require('agentd.view').read(args.buf)
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
    group = group,
    callback = function(args)
      local config = package.loaded['agentd.config']
      if config and config.options.autostart and vim.fn.has('nvim-0.11') == 0 then
        -- 0.11+ starts it through vim.lsp.enable; before, the first file of a root does.
        if vim.bo[args.buf].buftype == '' then
          require('agentd.server').with_client(config.root_for(args.buf), function() end)
        end
      end
      local server = package.loaded['agentd.server'] -- not loaded: no server runs yet
      if server then
        server.attach(args.buf)
      end
    end,
  })
end

return M
