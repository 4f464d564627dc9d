-- Goals from agent/listGoals: the picker of `:AgentRun` without an argument, and completion.
-- A broken .agent/goals.toml is listed beside the goals ("problems"); picking it opens the file.
local compat = require('agentd.compat')
local server = require('agentd.server')

local M = {}

local listed = {} ---@type table<string, table> root -> the last agent/listGoals answer
local SYNC_TIMEOUT_MS = 5000

---@param root string
---@param callback fun(result: table)|nil
function M.fetch(root, callback)
  server.request(root, 'agent/listGoals', { workspace = root }, function(result)
    listed[root] = result
    if callback then
      callback(result)
    end
  end)
end

--- The goals of `root` for completion: the last answer, refreshed in the background; the very
--- first time, waited for (the server starts), since completion must answer at once.
---@param root string
---@return table[]
local function known_goals(root)
  if listed[root] then
    M.fetch(root)
    return listed[root].goals or {}
  end
  local client = server.client_sync(root, SYNC_TIMEOUT_MS)
  if client == nil then
    return {}
  end
  local answer = compat.request_sync(client, 'agent/listGoals', { workspace = root }, SYNC_TIMEOUT_MS)
  if answer and answer.result then
    listed[root] = answer.result
  end
  return listed[root] and listed[root].goals or {}
end

--- Command-line completion of goal ids.
---@param root string
---@param arglead string
---@return string[]
function M.complete(root, arglead)
  local ids = {}
  for _, goal in ipairs(known_goals(root)) do
    if goal.id:sub(1, #arglead) == arglead then
      table.insert(ids, goal.id)
    end
  end
  table.sort(ids)
  return ids
end

local function format_item(item)
  if item.problem then
    return string.format('! %s: %s', item.problem.path, item.problem.message)
  end
  local goal = item.goal
  local text = string.format('%s  %s  [%s]', goal.id, goal.title or '', goal.source or '?')
  if goal.needsModel then
    text = text .. ' (needs a language model)'
  end
  return text
end

--- Asks which goal to use (vim.ui.select), then calls `on_goal(id)`.
---@param root string
---@param prompt string
---@param on_goal fun(id: string)
function M.pick(root, prompt, on_goal)
  M.fetch(root, function(result)
    local items = {}
    for _, goal in ipairs(result.goals or {}) do
      table.insert(items, { goal = goal })
    end
    for _, problem in ipairs(result.problems or {}) do
      table.insert(items, { problem = problem })
    end
    vim.ui.select(items, { prompt = prompt, kind = 'agentd.goal', format_item = format_item }, function(item)
      if item == nil then
        return
      elseif item.problem then
        vim.cmd('edit ' .. vim.fn.fnameescape(item.problem.path))
      else
        on_goal(item.goal.id)
      end
    end)
  end)
end

return M
