-- The end of a run as a person sees it: the steps that did not succeed and the file locations
-- that failed steps printed, in the quickfix list (taken from the server's own diagnostics),
-- and a one-line summary.
local compat = require('agentd.compat')
local config = require('agentd.config')

local M = {}

local TITLE = 'agentd'
local FAILED = { failed = true, timedOut = true }
local NOT_SUCCEEDED = {
  failed = true,
  timedOut = true,
  denied = true,
  rejected = true,
  skipped = true,
  cancelled = true,
}

---@param run agentd.Run
---@return string
local function trace_path(run)
  return run.root .. '/' .. ((run.result and run.result.trace) or ('.agent/runs/' .. run.id .. '.jsonl'))
end

--- A source-file diagnostic of this run: tagged with its runId (data), or, from servers that do
--- not tag them, one naming a failed step of this run ("... (step s2: make)").
local function of_run(diagnostic, run, failed_ids)
  local lsp = diagnostic.user_data and diagnostic.user_data.lsp or {}
  if type(lsp.data) == 'table' and lsp.data.runId then
    return lsp.data.runId == run.id
  end
  local step_id = (diagnostic.message or ''):match('%(step ([^:%s]+): ')
  return step_id ~= nil and failed_ids[step_id] == true
end

--- Quickfix items: first the trace diagnostics of the steps that did not succeed (Error and
--- Warning), then the source-file diagnostics of the run's failed steps.
---@param run agentd.Run
---@return table[]
function M.quickfix_items(run)
  local trace = trace_path(run)
  local failed_ids = {}
  for _, step in ipairs(run.steps) do
    if FAILED[step.status] then
      failed_ids[step.id] = true
    end
  end
  local on_trace, on_files = {}, {}
  local namespace = compat.diagnostic_namespace(run.client_id)
  for _, diagnostic in ipairs(vim.diagnostic.get(nil, { namespace = namespace })) do
    if vim.api.nvim_buf_get_name(diagnostic.bufnr) == trace then
      if diagnostic.severity <= vim.diagnostic.severity.WARN then
        table.insert(on_trace, diagnostic)
      end
    elseif diagnostic.source == 'agent' and of_run(diagnostic, run, failed_ids) then
      table.insert(on_files, diagnostic)
    end
  end
  local items = vim.diagnostic.toqflist(on_trace)
  if #items == 0 then
    -- No trace diagnostics (a server that could not read its trace): still list the steps.
    for _, step in ipairs(run.steps) do
      if NOT_SUCCEEDED[step.status] then
        table.insert(items, {
          filename = trace,
          lnum = 1,
          col = 1,
          type = FAILED[step.status] and 'E' or 'W',
          text = string.format('step %s %s: %s', step.id, step.status, require('agentd.approvals').step_line(step)),
        })
      end
    end
  end
  return vim.list_extend(items, vim.diagnostic.toqflist(on_files))
end

--- Replaces our previous quickfix list, or pushes a new one when the current list is someone
--- else's (then only when there is something to show, so that a good run leaves theirs alone).
local function set_quickfix(run, items)
  local current = vim.fn.getqflist({ title = 0 }).title or ''
  local ours = current:sub(1, #TITLE) == TITLE
  if not ours and #items == 0 then
    return
  end
  vim.fn.setqflist({}, ours and 'r' or ' ', {
    title = string.format('%s %s: %s (run %s)', TITLE, run.goal, run.status, run.id),
    items = items,
  })
  if #items > 0 and config.options.open_quickfix then
    vim.cmd('botright copen')
  end
end

local LEVELS = {
  succeeded = vim.log.levels.INFO,
  planned = vim.log.levels.INFO,
  cancelled = vim.log.levels.WARN,
}

---@param run agentd.Run
function M.publish(run)
  local items = M.quickfix_items(run)
  set_quickfix(run, items)
  -- The server's own one-line outcome (progress end), e.g. `succeeded: 3/3 steps succeeded, trust 0.9`.
  local outcome = run.progress.ended and run.progress.message or run.status
  if run.error then
    outcome = 'failed: ' .. run.error
  end
  local text = string.format('agentd %s: %s', run.goal, outcome)
  if #items > 0 then
    text = text .. string.format(' (%d in quickfix)', #items)
  end
  vim.notify(text, LEVELS[run.status] or vim.log.levels.ERROR)
end

--- The answer to agent/revert.
---@param result table {runId, restored, conflicts}
function M.reverted(result)
  local conflicts = result.conflicts or {}
  local text = string.format('agentd: reverted run %s: %d file(s) restored', result.runId, #(result.restored or {}))
  if #conflicts > 0 then
    text = text .. '; changed since, left alone: ' .. table.concat(conflicts, ', ')
  end
  vim.notify(text, #conflicts > 0 and vim.log.levels.WARN or vim.log.levels.INFO)
end

return M
