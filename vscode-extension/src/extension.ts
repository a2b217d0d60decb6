// The aiiac VS Code extension: starts aiiac-ls and connects it to VS Code's diagnostics, code
// actions and hovers. Everything about findings comes from the server; this file only wires it up.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { LanguageClient, TransportKind } from "vscode-languageclient/node";
import { Discovery, findServer, SERVER_SETTINGS } from "./discovery";

export const DOCS_URL = "https://github.com/aiiac-ls/aiiac-ls/blob/main/docs/editors.md";

/** Files the server analyses, by path, so other extensions' language ids do not matter. */
export const DOCUMENT_SELECTOR = [
  { scheme: "file", language: "terraform" },
  { scheme: "file", language: "terraform-vars" },
  { scheme: "file", language: "hcl" },
  { scheme: "file", language: "helm" },
  { scheme: "file", pattern: "**/*.{tf,tfvars,hcl}" },
  { scheme: "file", pattern: "**/*.{yaml,yml}" },
  { scheme: "file", pattern: "**/templates/**" },
  { scheme: "file", pattern: "**/*.rego" }, // custom policies: their errors are diagnostics too
];

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: vscode.StatusBarItem;

function setStatus(text: string, tooltip: string): void {
  status.text = text;
  status.tooltip = tooltip;
}

async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension("ms-python.python");
  if (!python) return undefined;
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const active = api?.environments?.getActiveEnvironmentPath?.();
    return active?.path;
  } catch {
    return undefined;
  }
}

function hasServerModule(interpreter: string): boolean {
  const result = spawnSync(interpreter, ["-c", "import aiiac_ls"], { timeout: 10000 });
  return result.status === 0;
}

/** Whether `python launcher --probe` works: the bundled server can run with this Python. */
function canRunBundled(interpreter: string, launcher: string): boolean {
  const result = spawnSync(interpreter, [launcher, "--probe"], { timeout: 10000 });
  return result.status === 0;
}

export async function discover(context?: vscode.ExtensionContext): Promise<Discovery> {
  const config = vscode.workspace.getConfiguration("aiiac");
  const bundled = context?.extensionPath ? path.join(context.extensionPath, "bundled") : undefined;
  const launcher = bundled && fs.existsSync(path.join(bundled, "libs")) ? path.join(bundled, "aiiac_ls_server.py") : undefined;
  return findServer({
    serverPath: config.get<string>("server.path") || undefined,
    interpreter: config.get<string>("server.interpreter") || undefined,
    envPath: process.env.PATH,
    pythonInterpreter: await pythonExtensionInterpreter(),
    hasServerModule,
    bundledLauncher: launcher,
    canRunBundled,
  });
}

/** The settings as the server reads them (section "aiiac"). */
export function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration("aiiac");
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) settings[key] = config.get(key);
  return settings;
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const found = await discover(context);
  if (!found.ok) {
    setStatus("$(warning) aiiac", found.reason);
    output.appendLine(found.reason);
    const choice = await vscode.window.showErrorMessage(`aiiac: ${found.reason}`, "Open setup guide", "Open settings");
    if (choice === "Open setup guide") await vscode.env.openExternal(vscode.Uri.parse(DOCS_URL));
    if (choice === "Open settings") await vscode.commands.executeCommand("workbench.action.openSettings", "aiiac.server");
    return;
  }
  const { server } = found;
  output.appendLine(`Starting ${server.command} ${server.args.join(" ")} (from ${server.source})`);
  const started = new LanguageClient(
    "aiiac",
    "aiiac",
    { command: server.command, args: server.args, transport: TransportKind.stdio },
    {
      documentSelector: DOCUMENT_SELECTOR,
      synchronize: { configurationSection: "aiiac" },
      outputChannel: output,
      initializationOptions: { settings: serverSettings() },
    },
  );
  client = started;
  started.onDidChangeState((event) => {
    const names: Record<number, string> = { 1: "stopped", 2: "running", 3: "starting" };
    const state = names[event.newState] ?? "unknown";
    setStatus(state === "running" ? "$(shield) aiiac" : `$(sync~spin) aiiac: ${state}`,
              `aiiac-ls ${state} (${server.source}) — click for the output`);
  });
  setStatus("$(sync~spin) aiiac: starting", "aiiac-ls is starting");
  try {
    await started.start();
  } catch (error) {
    setStatus("$(error) aiiac", `aiiac-ls failed to start: ${error}`);
    output.appendLine(`aiiac-ls failed to start: ${error}`);
    void vscode.window.showErrorMessage(`aiiac: the server failed to start (${error}). See the aiiac output.`);
  }
  context.subscriptions.push({ dispose: () => void started.stop() });
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop().catch(() => undefined);
  }
  await startClient(context);
}

async function explainRule(): Promise<void> {
  const rule = await vscode.window.showInputBox({ prompt: "Rule ID", placeHolder: "AIS101" });
  if (!rule || !client) return;
  const text = await client.sendRequest<string | null>("workspace/executeCommand",
                                                       { command: "aiiac.explainRule", arguments: [rule.trim()] });
  if (!text) {
    void vscode.window.showWarningMessage(`aiiac: unknown rule ${rule}`);
    return;
  }
  const document = await vscode.workspace.openTextDocument({ content: text, language: "markdown" });
  await vscode.commands.executeCommand("markdown.showPreview", document.uri);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("aiiac");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  status.command = "aiiac.showOutput";
  setStatus("$(sync~spin) aiiac", "aiiac-ls");
  status.show();
  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand("aiiac.showOutput", () => output.show()),
    vscode.commands.registerCommand("aiiac.restartServer", () => restart(context)),
    vscode.commands.registerCommand("aiiac.showExplanation", explainRule),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("aiiac.server")) void restart(context);
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
