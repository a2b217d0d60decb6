const test = require("node:test");
const assert = require("node:assert/strict");
const { createStub, install } = require("./stub.js");

function activateWith(settings, chooseButton) {
  const stub = createStub(settings);
  stub.calls.chooseButton = chooseButton;
  const uninstall = install(stub);
  const extension = require("../../out/extension.js");
  const context = { subscriptions: [] };
  return { stub, extension, context, uninstall };
}

test("activation starts the server with the document selector and mirrored settings", async () => {
  const { stub, extension, context, uninstall } = activateWith({
    "server.interpreter": "/venv/bin/python", select: ["AIS1"], ignore: ["AIS110"], modelPorts: [9000],
  });
  try {
    await extension.activate(context);
    const [client] = stub.calls.clients;
    assert.equal(client.started, true);
    assert.deepEqual(client.serverOptions, { command: "/venv/bin/python", args: ["-m", "aiiac_ls.cli", "--stdio"], transport: 0 });
    assert.equal(client.clientOptions.synchronize.configurationSection, "aiiac");
    assert.deepEqual(client.clientOptions.initializationOptions.settings.select, ["AIS1"]);
    assert.deepEqual(client.clientOptions.initializationOptions.settings.modelPorts, [9000]);
    const patterns = client.clientOptions.documentSelector.map((s) => s.pattern).filter(Boolean);
    assert.deepEqual(patterns, ["**/*.{tf,tfvars,hcl}", "**/*.{yaml,yml}", "**/templates/**", "**/*.rego"]);
    assert.deepEqual(Object.keys(stub.calls.commands).sort(),
                     ["aiiac.restartServer", "aiiac.showExplanation", "aiiac.showOutput"]);
    assert.equal(stub.calls.statusShown, true);
    assert.equal(stub.calls.status.text, "$(shield) aiiac");
    assert.equal(stub.calls.status.command, "aiiac.showOutput");
  } finally {
    await extension.deactivate();
    uninstall();
  }
});

test("no server: one notification with the install command, and the setup guide on request", async () => {
  const { stub, extension, context, uninstall } = activateWith({}, "Open setup guide");
  const savedPath = process.env.PATH;
  process.env.PATH = "/nonexistent";
  try {
    await extension.activate(context);
    assert.equal(stub.calls.clients.length, 0);
    assert.equal(stub.calls.errors.length, 1);
    assert.match(stub.calls.errors[0].message, /pip install git\+https:\/\/github.com\/aiiac-ls\/aiiac-ls/);
    assert.deepEqual(stub.calls.errors[0].buttons, ["Open setup guide", "Open settings"]);
    assert.deepEqual(stub.calls.external, ["https://github.com/aiiac-ls/aiiac-ls/blob/main/docs/editors.md"]);
    assert.equal(stub.calls.status.text, "$(warning) aiiac");
  } finally {
    process.env.PATH = savedPath;
    uninstall();
  }
});

test("changing aiiac.server.* restarts the server; other settings do not", async () => {
  const { stub, extension, context, uninstall } = activateWith({ "server.interpreter": "/venv/bin/python" });
  try {
    await extension.activate(context);
    const [listener] = stub.calls.configListeners;
    listener({ affectsConfiguration: (section) => section === "aiiac.ignore" });
    assert.equal(stub.calls.clients.length, 1);
    listener({ affectsConfiguration: (section) => section === "aiiac.server" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(stub.calls.clients.length, 2);
    assert.equal(stub.calls.clients[0].stopped, true);
    assert.equal(stub.calls.clients[1].started, true);
  } finally {
    await extension.deactivate();
    uninstall();
  }
});
