-- Headless Neovim (0.7+) driving aiiac-ls through the documented setup (docs/editors/aiiac.lua):
-- diagnostics, code action applied, hover on YAML, then a .tf file of the same project served by
-- the same server. Environment: AIIAC_CMD (JSON list), AIIAC_SETUP, AIIAC_FILE, AIIAC_TF,
-- AIIAC_OUT (results as JSON).
local cmd = vim.fn.json_decode(os.getenv("AIIAC_CMD"))
local file = os.getenv("AIIAC_FILE")
local aiiac = dofile(os.getenv("AIIAC_SETUP"))
aiiac.setup({ cmd = cmd })
local out = os.getenv("AIIAC_OUT")
local result = { steps = {} }

local function finish(ok, message)
  result.ok = ok
  result.message = message
  local handle = io.open(out, "w")
  handle:write(vim.fn.json_encode(result))
  handle:close()
  vim.cmd(ok and "qa!" or "cquit 1")
end

local function codes(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(found, string.format("%s:%d:%d", d.code or d.user_data and d.user_data.lsp.code or "?", d.lnum, d.col))
  end
  table.sort(found)
  return found
end

local function run()
  vim.cmd("edit " .. file) -- the FileType autocommand of the setup attaches the server
  local bufnr = vim.api.nvim_get_current_buf()
  assert(vim.wait(20000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50), "no diagnostics")
  result.steps.diagnostics = codes(bufnr)

  -- hover on the finding before fixing it
  local target
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if (d.code or d.user_data.lsp.code) == "AIS201" then target = d end
  end
  assert(target, "no AIS201 diagnostic")
  local hover = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = target.lnum, character = target.col + 1 },
  }, 10000)
  for _, response in pairs(hover or {}) do
    if response.result then result.steps.hover = response.result.contents.value end
  end

  -- the LoadBalancer finding: request its code actions and apply the preferred fix
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = target.lnum, character = target.col },
              ["end"] = { line = target.end_lnum, character = target.end_col } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, target.lnum) },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 10000)
  local fix
  for _, response in pairs(responses or {}) do
    for _, action in ipairs(response.result or {}) do
      if action.isPreferred then fix = action end
    end
  end
  assert(fix, "no preferred code action")
  result.steps.action = fix.title
  vim.lsp.util.apply_workspace_edit(fix.edit, "utf-16")
  result.steps.line = vim.api.nvim_buf_get_lines(bufnr, target.lnum, target.lnum + 1, false)[1]
  assert(vim.wait(20000, function()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if (d.code or d.user_data.lsp.code) == "AIS201" then return false end
    end
    return true
  end, 50), "AIS201 still reported after the fix")
  result.steps.after = codes(bufnr)
  vim.cmd("write")

  -- a .tf file of the same project, in another folder: the same server serves it
  vim.cmd("edit " .. os.getenv("AIIAC_TF"))
  local tf = vim.api.nvim_get_current_buf()
  result.steps.tf_filetype = vim.bo[tf].filetype
  assert(vim.wait(20000, function() return #vim.diagnostic.get(tf) > 0 end, 50), "no diagnostics on the .tf file")
  result.steps.tf = codes(tf)
  local clients = vim.lsp.get_active_clients()
  result.steps.clients = #clients
  result.steps.root = clients[1].config.root_dir
  for _, client in ipairs(clients) do vim.lsp.stop_client(client.id) end
  finish(true, "ok")
end

local ok, err = pcall(run)
if not ok then finish(false, tostring(err)) end
