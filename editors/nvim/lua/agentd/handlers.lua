-- The client's handlers: agentd's notifications into the run registry, approvals, and the
-- built-in handlers chained so that Neovim's own progress (LspProgress, vim.lsp.status()) and
-- diagnostics keep working for statusline plugins.
local compat = require('agentd.compat')

local M = {}

local function runs()
  return require('agentd.runs')
end

--- A notification handler of the run registry, with JSON nulls made nil.
local function to_runs(name)
  return function(_, params, ctx)
    runs()[name](compat.without_nulls(params), ctx.client_id)
  end
end

--- window/showDocument for Neovim versions without a built-in handler (0.7): the server sends it
--- to open a step's output (agent/showOutput).
local function show_document(_, params)
  if params.external then
    return { success = false }
  end
  local bufnr = vim.uri_to_bufnr(params.uri)
  vim.fn.bufload(bufnr)
  vim.bo[bufnr].buflisted = true
  if params.takeFocus ~= false then
    vim.api.nvim_win_set_buf(0, bufnr)
    local start = params.selection and params.selection.start
    if start then
      local last = vim.api.nvim_buf_line_count(bufnr)
      vim.api.nvim_win_set_cursor(0, { math.min(start.line + 1, last), start.character })
    end
  end
  return { success = true }
end

---@return table<string, function>
function M.table()
  local handlers = {
    ['agent/runStarted'] = to_runs('started'),
    ['agent/planReady'] = to_runs('plan_ready'),
    ['agent/stepUpdated'] = to_runs('step_updated'),
    ['agent/outputDelta'] = to_runs('output_delta'),
    ['agent/requestPermission'] = function(_, params, ctx)
      return require('agentd.approvals').ask(compat.without_nulls(params), ctx.client_id)
    end,
    ['$/progress'] = function(err, params, ctx, handler_config)
      local builtin = vim.lsp.handlers['$/progress'] -- looked up now: plugins may wrap it
      if builtin then
        builtin(err, params, ctx, handler_config)
      end
      runs().progress(compat.without_nulls(params), ctx.client_id)
    end,
    -- The answer to workspace/executeCommand that we did not send ourselves: runs and reverts
    -- started from code actions arrive here.
    ['workspace/executeCommand'] = function(err, result, ctx)
      runs().command_answered(ctx.client_id, err, compat.without_nulls(result))
    end,
  }
  if vim.lsp.handlers['window/showDocument'] == nil then
    handlers['window/showDocument'] = show_document
  end
  return handlers
end

return M
