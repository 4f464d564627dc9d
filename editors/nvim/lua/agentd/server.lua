-- One agentd language server per workspace root: started on first use through Neovim's own LSP
-- client, requests held until it has answered `initialize`, and file buffers under the root
-- attached to it (so that its diagnostics' code actions work through vim.lsp.buf.code_action()).
local compat = require('agentd.compat')
local config = require('agentd.config')

local M = {}

---@class agentd.Server
---@field root string
---@field client_id integer|nil
---@field ready boolean
---@field waiting function[] callbacks to run with the client once it is ready
---@field agent table the initialize result's capabilities.experimental.agent (methods, version)
---@field info table|nil serverInfo from the initialize result
---@field health table|nil the latest agent/health answer (approvalTimeoutMs, planner, ...)

local servers = {} ---@type table<string, agentd.Server>

local function notify_error(message)
  vim.notify('agentd: ' .. message, vim.log.levels.ERROR)
end

---@param client_id integer
---@return agentd.Server|nil
function M.by_client(client_id)
  for _, server in pairs(servers) do
    if server.client_id == client_id then
      return server
    end
  end
  return nil
end

---@param root string
---@return agentd.Server|nil
function M.get(root)
  return servers[root]
end

---@return agentd.Server[]
function M.all()
  return vim.tbl_values(servers)
end

local function is_under(path, root)
  return path == root or path:sub(1, #root + 1) == root .. '/'
end

--- Attaches a file buffer to the server whose root holds it (the deepest root, when nested).
---@param bufnr integer
function M.attach(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local best ---@type agentd.Server|nil
  for root, server in pairs(servers) do
    if server.client_id and is_under(name, root) and (best == nil or #root > #best.root) then
      best = server
    end
  end
  if best then
    vim.lsp.buf_attach_client(bufnr, best.client_id)
  end
end

local function on_init(client, result)
  local server = servers[client.config.root_dir] or M.by_client(client.id)
  if server == nil then -- started by vim.lsp.enable (autostart), not by us
    server = { root = client.config.root_dir, waiting = {} }
    servers[server.root] = server
  end
  server.client_id = client.id
  server.ready = true
  local experimental = (result.capabilities or {}).experimental or {}
  server.agent = experimental.agent or {}
  server.info = result.serverInfo
  M.refresh_health(server, client)
  local waiting = server.waiting
  server.waiting = {}
  vim.schedule(function()
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      M.attach(bufnr)
    end
    for _, callback in ipairs(waiting) do
      callback(client)
    end
  end)
end

local function on_exit(code, signal, client_id)
  local server = M.by_client(client_id)
  if server == nil then
    return
  end
  servers[server.root] = nil
  vim.schedule(function()
    require('agentd.runs').server_exited(client_id)
    if code ~= 0 or signal ~= 0 then
      notify_error(
        string.format('the server for %s exited (code %d, signal %d); see :AgentLog', server.root, code, signal)
      )
    end
  end)
end

--- The client configuration shared by every way of starting: vim.lsp.config (0.11+), our start.
---@return table
function M.client_config()
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  -- Approvals come as agent/requestPermission (answered through vim.ui.select).
  capabilities.experimental = { agent = { requestPermission = true } }
  return {
    name = 'agentd',
    capabilities = capabilities,
    init_options = { agent = config.options.settings },
    settings = { agent = config.options.settings }, -- answers workspace/configuration
    handlers = require('agentd.handlers').table(),
    on_init = on_init,
    on_exit = on_exit,
  }
end

--- 0.11+: registers the configuration as vim.lsp.config('agentd') (users may extend it there) and
--- enables it when `autostart` is set; the command is resolved per root when a client starts.
function M.register()
  if not compat.has('0.11') then
    return
  end
  local base = M.client_config()
  base.root_dir = function(bufnr, on_dir)
    on_dir(config.root_for(bufnr))
  end
  base.cmd = function(dispatchers, client_config)
    local root = client_config and client_config.root_dir or config.root_for(0)
    local cmd = assert(config.server_cmd(root))
    return vim.lsp.rpc.start(cmd, dispatchers, { cwd = root })
  end
  vim.lsp.config('agentd', base)
  if config.options.autostart then
    vim.lsp.enable('agentd')
  end
end

local function start(root)
  local client_config = M.client_config()
  if compat.has('0.11') and vim.lsp.config.agentd then
    -- What users added with vim.lsp.config('agentd', {...}) applies, a cmd list included.
    client_config = vim.deepcopy(vim.lsp.config.agentd)
  end
  local cmd = client_config.cmd
  if type(cmd) ~= 'table' then -- ours (nil, or the 0.11+ function): resolved for this root
    local problem
    cmd, problem = config.server_cmd(root)
    if cmd == nil then
      notify_error(problem)
      return nil
    end
  end
  client_config.root_dir = root
  client_config.cmd = cmd
  client_config.cmd_cwd = root
  local server = { root = root, ready = false, waiting = {}, agent = {} }
  servers[root] = server
  server.client_id = compat.start_client(client_config)
  if server.client_id == nil then
    servers[root] = nil
    notify_error('could not start ' .. table.concat(cmd, ' ') .. '; see :AgentLog')
    return nil
  end
  return server
end

--- Runs `callback(client)` now if `server` is ready, else once it is.
---@param server table
---@param callback fun(client: table)
local function when_ready(server, callback)
  if server.ready then
    callback(vim.lsp.get_client_by_id(server.client_id))
  else
    table.insert(server.waiting, callback)
  end
end

--- Runs `callback(client)` once the server for `root` is ready, starting it if need be.
---@param root string
---@param callback fun(client: table)
function M.with_client(root, callback)
  local server = servers[root]
  if server == nil or (server.client_id and vim.lsp.get_client_by_id(server.client_id) == nil) then
    server = start(root)
    if server == nil then
      return
    end
  end
  when_ready(server, callback)
end

--- The ready client of `root`, waited for (the server starts if need be); nil after `timeout_ms`.
--- For what must answer at once: command-line completion, :checkhealth.
---@param root string
---@param timeout_ms integer
---@return table|nil
function M.client_sync(root, timeout_ms)
  local client
  M.with_client(root, function(ready)
    client = ready
  end)
  vim.wait(timeout_ms, function()
    return client ~= nil
  end, 10)
  return client
end

--- Keeps the server's agent/health answer (its settings in effect) on `server.health`.
function M.refresh_health(server, client)
  compat.request(client, 'agent/health', vim.empty_dict(), function(err, result)
    if not err then
      server.health = result
    end
  end)
end

--- Sends `method` to the server of `root`; `on_result(result, client)` on success. An error
--- answer goes to `on_error`, or is shown when there is none.
---@param root string
---@param method string
---@param params table
---@param on_result fun(result: any, client: table)|nil
---@param on_error fun(err: table)|nil
function M.request(root, method, params, on_result, on_error)
  M.with_client(root, function(client)
    compat.request(client, method, params, function(err, result)
      if err and on_error then
        on_error(err)
      elseif err then
        notify_error(method .. ': ' .. (err.message or vim.inspect(err)))
      elseif on_result then
        on_result(result, client)
      end
    end)
  end)
end

--- Whether the server of `root` offers a method (from its initialize result), e.g. agent/revert.
---@param root string
---@param method string
---@return boolean
function M.offers(root, method)
  local server = servers[root]
  return server ~= nil and vim.tbl_contains(server.agent.methods or {}, method)
end

--- New settings for every server (once ready): pushed, and kept for workspace/configuration.
---@param settings table
function M.configure(settings)
  for _, server in pairs(servers) do
    local function push(client)
      client.config.settings = { agent = settings }
      compat.notify(client, 'workspace/didChangeConfiguration', { settings = { agent = settings } })
      M.refresh_health(server, client)
    end
    when_ready(server, push)
  end
end

return M
