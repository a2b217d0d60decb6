const test = require("node:test");
const assert = require("node:assert/strict");
const { findServer, which } = require("../../out/discovery.js");

const executables = new Set(["/opt/aiiac/bin/aiiac-ls", "/usr/local/bin/aiiac-ls", "C:\\tools\\aiiac-ls.exe"]);
const isExecutable = (file) => executables.has(file);

test("aiiac.server.path wins when it is executable", () => {
  const found = findServer({ serverPath: "/opt/aiiac/bin/aiiac-ls", interpreter: "/usr/bin/python3", isExecutable });
  assert.deepEqual(found, { ok: true, server: { command: "/opt/aiiac/bin/aiiac-ls", args: ["--stdio"], source: "aiiac.server.path" } });
});

test("a server path that is not executable is a clear error, not a silent fallback", () => {
  const found = findServer({ serverPath: "/nope/aiiac-ls", envPath: "/usr/local/bin", isExecutable });
  assert.equal(found.ok, false);
  assert.match(found.reason, /aiiac\.server\.path is set to "\/nope\/aiiac-ls", which is not an executable file/);
});

test("aiiac.server.interpreter runs the module", () => {
  const found = findServer({ interpreter: "/venv/bin/python", envPath: "/usr/local/bin", isExecutable });
  assert.deepEqual(found.server, { command: "/venv/bin/python", args: ["-m", "aiiac_ls.cli", "--stdio"], source: "aiiac.server.interpreter" });
});

test("then aiiac-ls on PATH", () => {
  const found = findServer({ envPath: "/usr/bin:/usr/local/bin", isExecutable, platform: "linux" });
  assert.equal(found.server.command, "/usr/local/bin/aiiac-ls");
  assert.equal(found.server.source, "PATH");
});

test("then the Python extension's interpreter, only if it has aiiac_ls", () => {
  const withModule = findServer({ envPath: "/usr/bin", pythonInterpreter: "/env/bin/python", isExecutable,
                                  hasServerModule: (python) => python === "/env/bin/python" });
  assert.equal(withModule.server.source, "Python extension");
  const without = findServer({ envPath: "/usr/bin", pythonInterpreter: "/env/bin/python", isExecutable,
                               hasServerModule: () => false });
  assert.equal(without.ok, false);
  assert.match(without.reason, /pipx install aiiac-ls/);
});

test("which() knows Windows executables", () => {
  assert.equal(which("aiiac-ls", "C:\\tools;C:\\other", "win32", isExecutable), "C:\\tools\\aiiac-ls.exe");
});
