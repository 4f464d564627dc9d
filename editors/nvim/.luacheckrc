-- luacheck configuration for the agentd Neovim plugin (run `luacheck .` in editors/nvim)
std = 'luajit'
globals = { 'vim' } -- the plugin sets fields of vim (vim.g, vim.bo)
max_line_length = 120
