-- The init file of the Neovim under test: the plugin and the server from this worktree, and
-- recorders that the pytest side reads through pynvim (the global table T).
-- luacheck: globals T
vim.opt.rtp:prepend(vim.env.AGENTD_TEST_PLUGIN)
vim.cmd('cd ' .. vim.fn.fnameescape(vim.env.AGENTD_TEST_WORKSPACE))

_G.T = { started = {}, finished = {}, progress = {}, deprecated = {}, selects = {}, answers = {} }

-- Every deprecation warning, whatever would show it (0.12 must have none).
local deprecate = vim.deprecate
vim.deprecate = function(name, alternative, ...)
  table.insert(T.deprecated, tostring(name) .. ' -> ' .. tostring(alternative) .. '\n' .. debug.traceback())
  return deprecate(name, alternative, ...)
end

for _, pattern in ipairs({ 'AgentRunStarted', 'AgentRunFinished' }) do
  local events = pattern == 'AgentRunStarted' and T.started or T.finished
  vim.api.nvim_create_autocmd('User', {
    pattern = pattern,
    callback = function(args)
      table.insert(events, args.data or vim.empty_dict()) -- data comes on 0.8+
    end,
  })
end

-- Native progress, as statusline plugins see it: LspProgress (0.10+), else LspProgressUpdate.
if vim.fn.has('nvim-0.10') == 1 then
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(args)
      local value = args.data.params.value
      table.insert(T.progress, { kind = value.kind, title = value.title, message = value.message })
    end,
  })
else
  vim.api.nvim_create_autocmd('User', {
    pattern = 'LspProgressUpdate',
    callback = function()
      for _, message in ipairs(vim.lsp.util.get_progress_messages()) do
        table.insert(T.progress, {
          kind = message.done and 'end' or 'report',
          title = message.title,
          message = message.message,
        })
      end
    end,
  })
end

-- vim.ui.select answered like an asynchronous picker would: each call takes the next entry of
-- T.answers and picks the first item whose label contains it (no entry, or no match: dismissed).
vim.ui.select = function(items, opts, on_choice)
  local format = opts.format_item or tostring
  local labels = {}
  for i, item in ipairs(items) do
    labels[i] = format(item)
  end
  table.insert(T.selects, { prompt = opts.prompt, kind = opts.kind, labels = labels })
  local answer = table.remove(T.answers, 1)
  local choice = nil
  for i, label in ipairs(labels) do
    if answer and label:find(answer, 1, true) then
      choice = items[i]
      break
    end
  end
  vim.schedule(function()
    on_choice(choice)
  end)
end

function T.messages()
  if vim.api.nvim_exec2 then
    return vim.api.nvim_exec2('messages', { output = true }).output
  end
  return vim.api.nvim_exec('messages', true)
end

-- The agentd client of the working directory, started if need be.
function T.client()
  return require('agentd.server').client_sync(vim.fn.getcwd(), 30000)
end

-- A request to that server, answered synchronously: { result = ... } or { err = ... }.
function T.request(method, params)
  if next(params) == nil then
    params = vim.empty_dict() -- JSON {}, not []
  end
  return require('agentd.compat').request_sync(T.client(), method, params, 30000)
end

-- workspace/executeCommand sent the way code actions send it (the client's own handler answers).
function T.exec(command)
  local client = T.client()
  if client.exec_cmd then
    client:exec_cmd(command)
  else
    client.request('workspace/executeCommand', command)
  end
end

function T.buffer_lines(name)
  local bufnr = vim.fn.bufnr(name)
  if bufnr == -1 then
    return nil
  end
  return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
end

require('agentd').setup({
  cmd = { vim.env.AGENTD_TEST_SERVER, 'serve' },
  log_file = vim.env.AGENTD_TEST_LOG,
  log_level = 'DEBUG',
})
