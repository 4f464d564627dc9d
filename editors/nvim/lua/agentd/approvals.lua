-- agent/requestPermission answered through vim.ui.select only, so that whatever picker the user
-- installed (telescope, fzf-lua, dressing, mini.pick, ...) asks: command, risk and reasons shown.
local compat = require('agentd.compat')

local M = {}

local DEFAULT_TIMEOUT_MS = 60000 -- the server's default approvalTimeoutMs

---@param step table StepResult
---@return string the command, or `write <path>` for a writeFile step
function M.step_line(step)
  if step.kind == 'writeFile' then
    return 'write ' .. (step.path or '?')
  end
  return step.cmd or '?'
end

---@param params table agent/requestPermission params
---@return string
function M.prompt(params)
  local risk = params.risk or {}
  local reasons = risk.reasons or {}
  local text = string.format(
    'agentd: allow step %s? %s  [risk %s%s]',
    params.step.id,
    M.step_line(params.step),
    risk.level or 'unknown',
    #reasons > 0 and (': ' .. table.concat(reasons, '; ')) or ''
  )
  return text
end

---@param params table
---@param on_answer fun(answer: table)
local function select(params, on_answer)
  vim.ui.select(params.options or {}, {
    prompt = M.prompt(params),
    kind = 'agentd.approval',
    format_item = function(option)
      return option.name
    end,
  }, function(option)
    if option then
      on_answer({ outcome = 'selected', optionId = option.optionId })
    else
      on_answer({ outcome = 'cancelled' })
    end
  end)
end

--- The handler: returns the answer. Neovim 0.10+ runs it in a coroutine, so it waits for the
--- picker by yielding; older versions answer what it returns at once, so there it waits with
--- vim.wait (enough for the built-in inputlist picker, which answers before it returns, and
--- for pickers that answer from the event loop), bounded by the approval timeout.
---@param params table
---@param client_id integer
---@return table
function M.ask(params, client_id)
  local co = compat.yieldable_coroutine()
  if co then
    local answered = false
    select(params, function(answer)
      if not answered then
        answered = true
        vim.schedule(function() -- resume outside the picker's callback stack
          coroutine.resume(co, answer)
        end)
      end
    end)
    return coroutine.yield()
  end
  local answer
  select(params, function(result)
    answer = answer or result
  end)
  local server = require('agentd.server').by_client(client_id)
  local health = server and server.health or {}
  local timeout = health.approvalTimeoutMs or DEFAULT_TIMEOUT_MS
  vim.wait(timeout, function()
    return answer ~= nil
  end, 20)
  return answer or { outcome = 'cancelled' }
end

return M
