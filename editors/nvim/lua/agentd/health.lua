-- :checkhealth agentd: does the server start here, which version, planner, sandbox and model
-- configuration is in effect (from agent/health), with advice for each problem.
local compat = require('agentd.compat')
local config = require('agentd.config')

local M = {}

local TIMEOUT_MS = 10000

--- The sandbox in effect: `auto` picks the strongest one this machine has, so a different name
--- in effect is only a problem when none is (steps then run with the user's own rights).
local function check_sandbox(health, h)
  local requested = h.sandboxRequested or h.sandbox
  if h.sandbox == 'off' and requested ~= 'off' then
    health.warn(
      string.format('sandbox: %s requested, none in effect: steps run with your rights', requested),
      'Install bubblewrap (apt install bubblewrap) or use a kernel with Landlock; see README "Safety"'
    )
  elseif h.sandbox == 'off' then
    health.info('sandbox: off (the setting agent.sandbox): steps run with your rights')
  elseif requested == h.sandbox or requested == 'auto' then
    health.ok('sandbox: ' .. h.sandbox .. (requested == 'auto' and ' (auto)' or ''))
  else
    health.warn(
      string.format('sandbox: %s requested, %s in effect', requested, h.sandbox),
      'This agentd cannot provide that sandbox here; see README "Safety"'
    )
  end
  for _, protection in ipairs(h.sandboxProtections or {}) do
    if not protection.active then
      local note = protection.note and protection.note ~= vim.NIL and (' (' .. protection.note .. ')') or ''
      health.info('not protected: ' .. protection.name .. note)
    end
  end
end

local function check_server(health, h)
  health.ok(string.format('agentd %s (Python %s, %s)', h.version, h.python, h.platform))
  if h.planner == 'stub' then
    health.ok('planner: stub (offline: goal ids; free-text goals need agent.planner = "openai")')
  elseif h.modelConfigured then
    health.ok('planner: ' .. h.planner)
  else
    health.warn(
      'planner: ' .. h.planner .. ' without an API key: free-text goals will fail',
      'Export OPENAI_API_KEY in the environment Neovim starts from (it is never a setting)'
    )
  end
  check_sandbox(health, h)
  if h.approvals == 'requestPermission' then
    health.ok('approvals: agent/requestPermission, answered with vim.ui.select')
  else
    health.warn('approvals: ' .. tostring(h.approvals), 'Steps the gate asks about will be rejected')
  end
  health.info(
    string.format(
      'maxParallel %s, stepTimeoutMs %s, approvalTimeoutMs %s',
      h.maxParallel,
      h.stepTimeoutMs,
      h.approvalTimeoutMs
    )
  )
end

local function check_goals(health, client, root)
  local answer = compat.request_sync(client, 'agent/listGoals', { workspace = root }, TIMEOUT_MS)
  if answer == nil or answer.err then
    local message = answer and answer.err and answer.err.message or 'no answer'
    health.warn('goals: ' .. message, 'Fix .agent/goals.toml; the built-in goals still work')
    return
  end
  local goals = answer.result.goals or {}
  health.ok(string.format('goals: %d (%s)', #goals, root))
  for _, problem in ipairs(answer.result.problems or {}) do
    health.warn(problem.path .. ': ' .. problem.message, 'Fix the file; the other goals still work')
  end
end

function M.check()
  local health = compat.health()
  health.start('agentd')
  local version = vim.version()
  health.ok(string.format('Neovim %d.%d.%d', version.major, version.minor, version.patch))
  local root = config.root_for(0)
  health.info('workspace root: ' .. root)
  local cmd, problem = config.server_cmd(root)
  if cmd == nil then
    health.error('server command: ' .. problem, 'Install agentd, or set the cmd option (:help agentd-setup)')
    return
  end
  health.ok('server command: ' .. table.concat(cmd, ' '))
  health.info('server log: ' .. (config.options.log_file or compat.lsp_log_path()))
  local client = require('agentd.server').client_sync(root, TIMEOUT_MS)
  if client == nil then
    health.error('the server did not start within 10 s', 'Run the command above in a shell; see :AgentLog')
    return
  end
  local answer = compat.request_sync(client, 'agent/health', vim.empty_dict(), TIMEOUT_MS)
  if answer == nil or answer.err then
    local message = answer and answer.err and answer.err.message or 'no answer'
    health.error('agent/health: ' .. message, 'See :AgentLog')
    return
  end
  check_server(health, answer.result)
  check_goals(health, client, root)
end

return M
