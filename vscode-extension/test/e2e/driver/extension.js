// Runs inside real VS Code (code-server): opens the sample files, waits for aiiac's diagnostics,
// applies a quick fix, asks for a hover, and writes what happened to $AIIAC_E2E_OUT.
const vscode = require("vscode");
const fs = require("fs");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const code = (d) => (typeof d.code === "object" && d.code ? d.code.value : d.code);

async function waitFor(probe, what, timeout = 90000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function aiiacDiagnostics(uri) {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === "aiiac");
}

function summary(uri) {
  return aiiacDiagnostics(uri).map((d) => `${code(d)}:${d.range.start.line}:${d.range.start.character}`).sort();
}

// what the Problems panel lists from aiiac, per file relative to the workspace root
function problemCounts(root) {
  const counts = {};
  for (const [uri, diagnostics] of vscode.languages.getDiagnostics()) {
    const ours = diagnostics.filter((d) => d.source === "aiiac").length;
    if (ours && uri.path.startsWith(root.path + "/")) counts[uri.path.slice(root.path.length + 1)] = ours;
  }
  return counts;
}

async function run(out) {
  const started = Date.now();
  const steps = {};
  const root = vscode.workspace.workspaceFolders[0].uri;
  const values = vscode.Uri.joinPath(root, "chart", "values.yaml");
  const template = vscode.Uri.joinPath(root, "chart", "templates", "serving.yaml");
  const terraform = vscode.Uri.joinPath(root, "infra", "main.tf");
  await vscode.extensions.getExtension("aiiac.aiiac-ls").activate();
  for (const uri of [terraform, template, values]) {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
  }
  steps.languageOfTemplate = (await vscode.workspace.openTextDocument(template)).languageId;
  const exposed = await waitFor(() => aiiacDiagnostics(values).find((d) => code(d) === "AIS201"), "AIS201 in values.yaml");
  await waitFor(() => aiiacDiagnostics(terraform).length > 0, "diagnostics in main.tf");
  // one publishDiagnostics carries a file's whole set, so the first non-empty set is the complete one
  await waitFor(() => aiiacDiagnostics(template).length > 0, "diagnostics in the template");
  steps.values = summary(values);
  steps.template = summary(template);
  steps.terraform = summary(terraform);
  steps.firstDiagnosticsSeconds = (Date.now() - started) / 1000;

  // let the test take its screenshot of the finding before fixing it
  await vscode.commands.executeCommand("workbench.actions.view.problems");
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(values), { preview: false });
  fs.writeFileSync(`${out}.phase1`, "ready");
  await waitFor(() => fs.existsSync(`${out}.shot`), "the screenshot", 60000).catch(() => undefined);

  const hovers = await vscode.commands.executeCommand("vscode.executeHoverProvider", values, exposed.range.start);
  steps.hover = hovers.flatMap((h) => h.contents.map((c) => (typeof c === "string" ? c : c.value))).join("\n");
  const actions = await vscode.commands.executeCommand("vscode.executeCodeActionProvider", values, exposed.range,
                                                        vscode.CodeActionKind.QuickFix.value);
  steps.actions = actions.map((a) => a.title).sort();
  const fix = actions.find((a) => a.isPreferred);
  steps.applied = await vscode.workspace.applyEdit(fix.edit);
  steps.valuesAfterFix = (await vscode.workspace.openTextDocument(values)).getText();
  await waitFor(() => !aiiacDiagnostics(values).some((d) => code(d) === "AIS201"), "AIS201 to go");
  steps.valuesDiagnosticsAfterFix = summary(values);

  // a settings change shows in every open document without an edit (VS Code pulls: it is refreshed)
  // (main.tf is the only open document of its folder: before, it changed only at the next edit)
  await vscode.workspace.getConfiguration("aiiac").update("ignore", ["AIS408"], vscode.ConfigurationTarget.Workspace);
  await waitFor(() => !aiiacDiagnostics(terraform).some((d) => code(d) === "AIS408"), "AIS408 to go after the setting",
                20000);
  steps.terraformAfterSetting = summary(terraform);

  // "Scan workspace" fills the Problems panel for every file, open or not (VS Code gets the
  // files it has not opened only through workspace/diagnostic); saved first, so that the test
  // can compare with `aiiac-ls --check` of the same files
  await vscode.workspace.saveAll(false);
  const scanStarted = Date.now();
  await vscode.commands.executeCommand("aiiac.scanWorkspace");
  const unopened = [vscode.Uri.joinPath(root, "serving", "ollama.yaml"), vscode.Uri.joinPath(root, "platform", "logs.tf")];
  await waitFor(() => unopened.every((uri) => aiiacDiagnostics(uri).length > 0), "files never opened in the Problems panel",
                30000);
  steps.scanSeconds = (Date.now() - scanStarted) / 1000;
  let previous = "";
  steps.problems = await waitFor(async () => {  // the same counts for a second: every report is in
    const counts = problemCounts(root);
    const now = JSON.stringify(counts);
    if (now === previous) return counts;
    previous = now;
    await sleep(1000);
    return undefined;
  }, "the Problems panel to settle", 30000);
  return steps;
}

exports.activate = async function () {
  const out = process.env.AIIAC_E2E_OUT;
  if (!out) return;
  let result;
  try {
    result = { ok: true, steps: await run(out) };
  } catch (error) {
    result = { ok: false, message: String((error && error.stack) || error) };
  }
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
};
