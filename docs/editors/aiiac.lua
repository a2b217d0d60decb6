-- aiiac-ls in Neovim 0.7 to 0.11 without plugins: one server per project root, shared by every
-- .tf, .tfvars, YAML and Helm buffer below it.
--
--   local aiiac = dofile(vim.fn.stdpath("config") .. "/aiiac.lua")   -- or require("aiiac") from lua/
--   aiiac.setup({ cmd = { "aiiac-ls" } })                            -- the defaults shown
--
-- The root is the nearest folder above the file holding .git, else .aiiac.toml or pyproject.toml,
-- else the file's own folder. Nested .aiiac.toml files below the root apply to their own files:
-- the server resolves them per file, as `aiiac-ls --check` does.
local M = {}

M.filetypes = { "terraform", "terraform-vars", "tf", "hcl", "yaml", "helm" }
M.markers = { ".git", ".aiiac.toml", "pyproject.toml" }

local clients = {} -- root folder -> client id

--- The project root of `path` (vim.fn.finddir/findfile: available from Neovim 0.7 on).
function M.root_dir(path)
  local folder = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(M.markers) do
    local found = vim.fn.finddir(marker, folder .. ";")
    if found == "" then
      found = vim.fn.findfile(marker, folder .. ";")
    end
    if found ~= "" then -- the marker's own path, without the trailing slash of a folder
      local full = (vim.fn.fnamemodify(found, ":p"):gsub("/$", ""))
      return vim.fn.fnamemodify(full, ":h")
    end
  end
  return folder
end

--- Attach the root's server to buffer `bufnr`, starting it on the first buffer of that root.
function M.attach(bufnr, cmd)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return
  end
  local root = M.root_dir(name)
  local id = clients[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client({
      name = "aiiac-ls",
      cmd = cmd or { "aiiac-ls" },
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    })
    clients[root] = id
  end
  if id ~= nil then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

function M.setup(opts)
  opts = opts or {}
  vim.api.nvim_create_autocmd("FileType", {
    pattern = opts.filetypes or M.filetypes,
    callback = function(args)
      M.attach(args.buf, opts.cmd)
    end,
  })
end

return M
