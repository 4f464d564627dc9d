-- Loaded at start-up: only the commands and autocmds; the rest loads on first use.
if vim.g.loaded_agentd then
  return
end
vim.g.loaded_agentd = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'agentd needs Neovim 0.7 or newer', 'ErrorMsg' } }, true, {})
  return
end

require('agentd.commands').define()
