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
  assert.match(without.reason, /pip install git\+https:\/\/github.com\/aiiac-ls\/aiiac-ls/);
});

test("which() knows Windows executables", () => {
  assert.equal(which("aiiac-ls", "C:\\tools;C:\\other", "win32", isExecutable), "C:\\tools\\aiiac-ls.exe");
});

test("then the bundled server, with the first Python that can run it", () => {
  const exes = new Set(["/usr/bin/python3", "/usr/bin/python"]);
  const probed = [];
  const found = findServer({
    envPath: "/usr/bin", platform: "linux", isExecutable: (file) => exes.has(file),
    pythonInterpreter: "/env/bin/python", hasServerModule: () => false,
    bundledLauncher: "/ext/bundled/aiiac_ls_server.py",
    canRunBundled: (python, launcher) => { probed.push([python, launcher]); return python === "/usr/bin/python3"; },
  });
  assert.deepEqual(found.server, { command: "/usr/bin/python3", args: ["/ext/bundled/aiiac_ls_server.py", "--stdio"],
                                   source: "bundled (/usr/bin/python3)" });
  // the Python extension's interpreter is tried first; python is not needed once python3 works
  assert.deepEqual(probed.map(([python]) => python), ["/env/bin/python", "/usr/bin/python3"]);
});

test("an installed server wins over the bundled one", () => {
  const found = findServer({ envPath: "/usr/local/bin", platform: "linux", isExecutable,
                             bundledLauncher: "/ext/bundled/aiiac_ls_server.py", canRunBundled: () => true });
  assert.equal(found.server.source, "PATH");
});

test("no Python can run the bundled server (old Python, no build for the platform): a clear message", () => {
  const found = findServer({ envPath: "/usr/bin", platform: "linux", isExecutable: (file) => file === "/usr/bin/python3",
                             bundledLauncher: "/ext/bundled/aiiac_ls_server.py", canRunBundled: () => false });
  assert.equal(found.ok, false);
  assert.match(found.reason, /bundled with the extension needs Python 3\.10\+ on a platform it has a build for/);
  assert.match(found.reason, /pip install git\+/);
});
