// End-to-end test in real VS Code: code-server (VS Code 1.100.3) with the built .vsix and a test
// driver extension, opened in headless Chromium. The driver reports what VS Code showed.
//
//   node test/e2e/run.js --code-server DIR --python PYTHON [--server-from bundled|interpreter]
//                        [--screenshot images/screenshot.png]
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const assert = require("assert/strict");

const HERE = __dirname;
const EXTENSION = path.resolve(HERE, "..", "..");

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      http.get(url, (response) => { response.resume(); resolve(); }).on("error", () => {
        if (Date.now() > deadline) reject(new Error(`code-server did not answer at ${url}`));
        else setTimeout(attempt, 250);
      });
    };
    attempt();
  });
}

async function waitForFile(file, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(file)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${file}`);
}

async function main() {
  const started = Date.now();
  const codeServerDir = path.resolve(option("code-server", path.join(EXTENSION, "..", ".cache", "code-server")));
  const python = option("python", process.env.AIIAC_PYTHON || "python3");
  const screenshot = option("screenshot");
  const codeServer = path.join(codeServerDir, "node_modules", ".bin", "code-server");
  const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
  for (const [what, file] of [["code-server", codeServer], ["Chromium", chromium]]) {
    if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file}`);
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "aiiac-e2e-"));
  const workspace = path.join(scratch, "workspace");
  fs.cpSync(path.join(HERE, "workspace"), workspace, { recursive: true });
  const userData = path.join(scratch, "user");
  const extensions = path.join(scratch, "extensions");
  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  // by default the server is the one the .vsix carries, run by a python3 on PATH (no aiiac-ls on
  // PATH, no interpreter setting: nothing else could start it); --server-from interpreter uses --python
  const serverFrom = option("server-from", "bundled");
  const searchPath = (process.env.PATH || "").split(path.delimiter)
    .filter((dir) => serverFrom !== "bundled" || !fs.existsSync(path.join(dir, "aiiac-ls"))).join(path.delimiter);
  fs.writeFileSync(path.join(userData, "User", "settings.json"), JSON.stringify({
    ...(serverFrom === "interpreter" ? { "aiiac.server.interpreter": python } : {}),
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "telemetry.telemetryLevel": "off",
    "workbench.tips.enabled": false,
    "workbench.colorTheme": "Default Dark Modern",
  }, null, 2));

  // the extension under test, and the driver, both as real .vsix installs
  const vsix = path.join(EXTENSION, "aiiac-ls-0.1.0.vsix");
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} not built (make vsix)`);
  const driverVsix = path.join(scratch, "driver.vsix");
  run(path.join(EXTENSION, "node_modules", ".bin", "vsce"),
      ["package", "--no-dependencies", "--skip-license", "--out", driverVsix], { cwd: path.join(HERE, "driver") });
  for (const file of [vsix, driverVsix]) {
    run(codeServer, ["--extensions-dir", extensions, "--user-data-dir", userData, "--install-extension", file]);
  }

  const port = 20000 + Math.floor(Math.random() * 20000);
  const out = path.join(scratch, "result.json");
  const server = spawn(codeServer, [
    "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--user-data-dir", userData,
    "--extensions-dir", extensions, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
    workspace,
  ], { env: { ...process.env, PATH: searchPath, AIIAC_E2E_OUT: out }, stdio: ["ignore", "pipe", "pipe"] });
  let serverLog = "";
  server.stdout.on("data", (chunk) => { serverLog += chunk; });
  server.stderr.on("data", (chunk) => { serverLog += chunk; });

  const { chromium: playwright } = require("playwright-core");
  let browser;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60000);
    browser = await playwright.launch({
      executablePath: chromium, headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await waitForFile(`${out}.phase1`, 150000);
    if (screenshot) {
      await page.waitForTimeout(1500);
      await page.screenshot({ path: path.resolve(screenshot) });
    }
    fs.writeFileSync(`${out}.shot`, "done");
    await waitForFile(out, 120000);
  } catch (error) {
    console.error(serverLog.slice(-4000));
    throw error;
  } finally {
    if (browser) await browser.close();
    server.kill("SIGTERM");
  }

  const result = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.equal(result.ok, true, result.message);
  const steps = result.steps;
  assert.equal(steps.languageOfTemplate, "helm");
  assert.deepEqual(steps.values, ["AIS201:4:8"]);
  // a model bucket with nothing around it: public access block, ownership, KMS, versioning, logs, TLS
  assert.deepEqual(steps.terraform, ["AIS401:0:0", "AIS405:0:0", "AIS406:0:0", "AIS407:0:0", "AIS408:0:0",
                                     "AIS409:0:0"]);
  // rendered findings land on the template lines that produce them
  assert.deepEqual(steps.template, ["AIS111:15:4", "AIS123:18:10", "AIS125:18:10", "AIS131:19:10",
                                   "AIS311:15:4"]);
  assert.match(steps.hover, /\*\*AIS201\*\* · Service exposes pods outside the cluster/);
  assert.ok(steps.actions.includes("Change LoadBalancer to ClusterIP (AIS201) (unsafe)"), steps.actions.join(", "));
  assert.ok(steps.actions.includes("aiiac: ignore AIS201 on this line"));
  assert.equal(steps.applied, true);
  assert.match(steps.valuesAfterFix, /\n {2}type: ClusterIP\n/);
  assert.deepEqual(steps.valuesDiagnosticsAfterFix, []);
  assert.deepEqual(steps.terraformAfterSetting, ["AIS401:0:0", "AIS405:0:0", "AIS406:0:0", "AIS407:0:0",
                                                 "AIS409:0:0"]);
  // after "Scan workspace" the Problems panel holds, file by file, what `--check` finds in the
  // same (saved) workspace, with the setting the test made (ignore AIS408)
  const check = spawnSync(python, ["-m", "aiiac_ls", "--check", ".", "--format", "json", "--ignore", "AIS408"],
                          { cwd: workspace, encoding: "utf8" });
  assert.equal(check.status, 1, check.stderr);
  const expected = {};
  for (const finding of JSON.parse(check.stdout).findings) expected[finding.file] = (expected[finding.file] || 0) + 1;
  assert.deepEqual(steps.problems, expected);
  assert.ok(steps.problems["serving/ollama.yaml"] > 0 && steps.problems["platform/logs.tf"] > 0);
  const total = Object.values(steps.problems).reduce((a, b) => a + b, 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`Scan workspace: ${total} problems in ${Object.keys(steps.problems).length} files in the Problems ` +
              `panel ${steps.scanSeconds} s after the command`);
  console.log(`VS Code end-to-end (server: ${serverFrom}): ok in ${seconds} s (first aiiac diagnostics ` +
              `${steps.firstDiagnosticsSeconds} s after the driver started)`);
}

main().catch((error) => {
  console.error(`VS Code end-to-end: FAILED: ${error.stack || error}`);
  process.exit(1);
});
