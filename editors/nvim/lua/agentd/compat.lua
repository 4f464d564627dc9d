-- What differs between Neovim 0.7 and 0.12, detected in one place so that the rest of the plugin
-- reads the same on every version and nothing deprecated is called where a successor exists.
local M = {}

---@param version string e.g. '0.11'
---@return boolean
function M.has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

M.uv = vim.uv or vim.loop
M.islist = vim.islist or vim.tbl_islist

-- 0.11 made client functions methods (`client:request`); calling them with a dot warns there.
local methods = M.has('0.11')

function M.request(client, method, params, handler, bufnr)
  if methods then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.request_sync(client, method, params, timeout_ms, bufnr)
  if methods then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

function M.notify(client, method, params)
  if methods then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.is_stopped(client)
  if methods then
    return client:is_stopped()
  end
  return client.is_stopped()
end

--- JSON null arrives as nil on 0.7 and as vim.NIL on later versions: made nil everywhere, so
--- that tables handed to users (last_result(), autocmd data) read the same on every version.
---@param value any
---@return any
function M.without_nulls(value)
  if value == vim.NIL then
    return nil
  end
  if type(value) == 'table' then
    for key, item in pairs(value) do
      value[key] = M.without_nulls(item)
    end
  end
  return value
end

--- Starts a language server without attaching any buffer; returns the client id (or nil).
---@param config table a vim.lsp.ClientConfig
---@return integer|nil
function M.start_client(config)
  if methods then
    -- vim.lsp.start would reuse a client of the same name and root; the caller checked there is none.
    return vim.lsp.start(config, { attach = false })
  end
  return vim.lsp.start_client(config)
end

--- The server's log path that Neovim itself keeps (stderr of every language server goes there).
---@return string
function M.lsp_log_path()
  if vim.lsp.log and vim.lsp.log.get_filename then
    return vim.lsp.log.get_filename()
  end
  return vim.lsp.get_log_path()
end

--- Where to keep our own log: stdpath('log') since 0.8, the cache directory on 0.7.
---@return string
function M.log_dir()
  local ok, dir = pcall(vim.fn.stdpath, 'log')
  if ok and type(dir) == 'string' then
    return dir
  end
  return vim.fn.stdpath('cache')
end

--- Fires `User <pattern>`; `data` reaches the autocmd's callback as `args.data` on 0.8+.
---@param pattern string
---@param data table
function M.user_autocmd(pattern, data)
  local opts = { pattern = pattern, modeline = false }
  if M.has('0.8') then
    opts.data = data
  end
  vim.api.nvim_exec_autocmds('User', opts)
end

--- `vim.health` grew new names in 0.10 (`start`, `ok`, ...); 0.7 has only the `health` module.
---@return table with start, ok, info, warn, error
function M.health()
  local h = vim.health
  if h and h.start then
    return h
  end
  h = h or require('health')
  return {
    start = h.report_start,
    ok = h.report_ok,
    info = h.report_info,
    warn = h.report_warn,
    error = h.report_error,
  }
end

--- The namespace in which Neovim keeps a client's published diagnostics.
---@param client_id integer
---@return integer
function M.diagnostic_namespace(client_id)
  return vim.lsp.diagnostic.get_namespace(client_id)
end

--- Whether the current function runs in a coroutine it may yield from: Neovim 0.10+ runs
--- server-request handlers in one (and answers with what the coroutine finally returns).
---@return thread|nil
function M.yieldable_coroutine()
  local co, main = coroutine.running()
  if co == nil or main then
    return nil
  end
  return co
end

return M
