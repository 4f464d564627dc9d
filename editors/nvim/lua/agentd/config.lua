-- Options of require('agentd').setup(), their checks, and what they resolve to for a workspace:
-- its root (found from a buffer by marker files) and the command that starts the server there.
local compat = require('agentd.compat')

local M = {}

local function defaults()
  return {
    cmd = nil, -- nil: <root>/.venv/bin/agentd serve when present, else agentd serve from PATH
    root_markers = { '.git', 'pyproject.toml', 'package.json', '.agent' },
    settings = vim.empty_dict(), -- the server's `agent` section: planner, model, maxParallel, ...
    log_file = compat.log_dir() .. '/agentd.log', -- false: the server logs to Neovim's LSP log
    log_level = 'INFO',
    progress = true, -- echo progress in the command line (LspProgress fires either way)
    open_output = false, -- open the agentd://run/<id> buffer in a split when a run starts
    open_quickfix = false, -- open the quickfix window when a run leaves entries in it
    autostart = false, -- 0.11+: vim.lsp.enable('agentd'), start with any file buffer
  }
end

M.options = defaults()

local function is_string_list(value)
  if type(value) ~= 'table' or #value == 0 then
    return false
  end
  for _, item in ipairs(value) do
    if type(item) ~= 'string' then
      return false
    end
  end
  return true
end

local function is_boolean(v)
  return type(v) == 'boolean'
end

-- Each option: whether a value is acceptable, and what was expected otherwise.
local checks = {
  cmd = {
    function(v)
      return v == nil or is_string_list(v)
    end,
    'a non-empty list of strings',
  },
  root_markers = { is_string_list, 'a non-empty list of strings' },
  settings = {
    function(v)
      return type(v) == 'table' and (next(v) == nil or not compat.islist(v))
    end,
    'a table of settings',
  },
  log_file = {
    function(v)
      return v == false or (type(v) == 'string' and v ~= '')
    end,
    'a path or false',
  },
  log_level = {
    function(v)
      return v == 'DEBUG' or v == 'INFO' or v == 'WARNING' or v == 'ERROR'
    end,
    'one of DEBUG, INFO, WARNING, ERROR',
  },
  progress = { is_boolean, 'true or false' },
  open_output = { is_boolean, 'true or false' },
  open_quickfix = { is_boolean, 'true or false' },
  autostart = { is_boolean, 'true or false' },
}

--- Checks `opts` and returns the merged options; raises a message naming each bad option, so
--- that a typo never silently falls back to a default and the previous options stay in force.
---@param opts table|nil
---@return table
function M.resolve(opts)
  if opts ~= nil and type(opts) ~= 'table' then
    error('agentd.setup: expected a table of options, got ' .. type(opts), 0)
  end
  local merged = defaults()
  local problems = {}
  for key, value in pairs(opts or {}) do
    local check = checks[key]
    if check == nil then
      table.insert(problems, string.format("unknown option '%s'", tostring(key)))
    else
      local acceptable, expected = check[1], check[2]
      if acceptable(value) then
        merged[key] = value
      else
        table.insert(problems, string.format('%s: expected %s, got %s', key, expected, vim.inspect(value)))
      end
    end
  end
  if #problems > 0 then
    table.sort(problems)
    error('agentd.setup: ' .. table.concat(problems, '; '), 0)
  end
  if next(merged.settings) == nil then
    merged.settings = vim.empty_dict() -- JSON {}, not []
  end
  return merged
end

---@param path string
---@return boolean
local function exists(path)
  return compat.uv.fs_stat(path) ~= nil
end

--- The directory a buffer belongs to: its file's directory, or the working directory for
--- buffers without a file (scratch, help, agentd:// buffers).
---@param bufnr integer
---@return string
local function start_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name ~= '' and vim.bo[bufnr].buftype == '' and not name:match('^%a[%w+.-]*://') then
    return vim.fn.fnamemodify(name, ':p:h')
  end
  return vim.fn.getcwd()
end

--- The workspace root for a buffer: the nearest directory upwards holding one of the markers,
--- else the working directory (where `agentd run` would work too).
---@param bufnr integer|nil 0 or nil for the current buffer
---@return string
function M.root_for(bufnr)
  local dir = start_dir(bufnr or 0)
  while true do
    for _, marker in ipairs(M.options.root_markers) do
      if exists(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return vim.fn.getcwd()
    end
    dir = parent
  end
end

--- The server command for a workspace: the `cmd` option, else the project's virtualenv, else PATH.
--- Returns nil and advice when there is none.
---@param root string
---@return string[]|nil, string|nil
function M.server_cmd(root)
  local cmd = M.options.cmd
  if cmd == nil then
    local venv = root .. '/.venv/bin/agentd'
    if vim.fn.executable(venv) == 1 then
      cmd = { venv, 'serve' }
    elseif vim.fn.executable('agentd') == 1 then
      cmd = { vim.fn.exepath('agentd'), 'serve' }
    else
      return nil,
        'agentd is neither in ' .. root .. "/.venv/bin nor on PATH: install it (pip install agentd) "
          .. "or set require('agentd').setup({ cmd = { '/path/to/agentd', 'serve' } })"
    end
  elseif vim.fn.executable(cmd[1]) ~= 1 then
    return nil, "cmd: '" .. cmd[1] .. "' is not an executable file"
  end
  cmd = vim.deepcopy(cmd)
  if M.options.log_file then
    vim.fn.mkdir(vim.fn.fnamemodify(M.options.log_file, ':h'), 'p')
    vim.list_extend(cmd, { '--log-file', M.options.log_file, '--log-level', M.options.log_level })
  end
  return cmd, nil
end

return M
