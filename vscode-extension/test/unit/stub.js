// A minimal stand-in for the `vscode` module and vscode-languageclient, recording what the
// extension does with them. Installed before the extension is required.
const Module = require("module");

function createStub(settings = {}) {
  const calls = { commands: {}, clients: [], errors: [], external: [], statusShown: false, configListeners: [] };
  const vscode = {
    StatusBarAlignment: { Left: 1 },
    Uri: { parse: (value) => ({ toString: () => value, value }) },
    window: {
      createOutputChannel: () => ({ appendLine: () => {}, show: () => {}, dispose: () => {} }),
      createStatusBarItem: () => {
        const item = { show: () => { calls.statusShown = true; }, dispose: () => {} };
        calls.status = item;
        return item;
      },
      showErrorMessage: async (message, ...buttons) => {
        calls.errors.push({ message, buttons });
        return calls.chooseButton;
      },
      showWarningMessage: async () => undefined,
      showInputBox: async () => undefined,
    },
    commands: {
      registerCommand: (id, fn) => { calls.commands[id] = fn; return { dispose: () => {} }; },
      executeCommand: async () => undefined,
    },
    workspace: {
      getConfiguration: () => ({ get: (key) => settings[key] }),
      onDidChangeConfiguration: (listener) => { calls.configListeners.push(listener); return { dispose: () => {} }; },
      openTextDocument: async () => ({ uri: "untitled" }),
    },
    extensions: { getExtension: () => undefined },
    env: { openExternal: async (uri) => { calls.external.push(uri.value); return true; } },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
      calls.clients.push(this);
    }
    onDidChangeState(listener) { this.stateListener = listener; }
    async start() { this.started = true; this.stateListener?.({ newState: 2 }); }
    async stop() { this.stopped = true; }
    async sendRequest() { return null; }
  }
  const languageclient = { LanguageClient, TransportKind: { stdio: 0 } };
  return { vscode, languageclient, calls };
}

function install(stub) {
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === "vscode") return stub.vscode;
    if (request === "vscode-languageclient/node") return stub.languageclient;
    return original.call(this, request, parent, isMain);
  };
  for (const key of Object.keys(require.cache)) {
    if (key.includes("/out/")) delete require.cache[key];
  }
  return () => { Module._load = original; };
}

module.exports = { createStub, install };
