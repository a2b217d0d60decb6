// Finding the aiiac-ls server: settings first, then PATH, then the Python extension's interpreter,
// then the server bundled in the extension (run by a Python >= 3.10 found on the machine).
// Pure (no `vscode` import) so it is unit-tested directly.
import * as fs from "fs";
import * as path from "path";

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, shown in the output channel. */
  source: string;
}

export interface DiscoveryInput {
  serverPath?: string;
  interpreter?: string;
  /** The PATH environment variable to search. */
  envPath?: string;
  /** The interpreter selected in the Python extension, when that extension is installed. */
  pythonInterpreter?: string;
  platform?: NodeJS.Platform;
  isExecutable?: (file: string) => boolean;
  /** Whether a Python interpreter can import aiiac_ls. */
  hasServerModule?: (interpreter: string) => boolean;
  /** The launcher of the bundled server (bundled/aiiac_ls_server.py), when the extension carries one. */
  bundledLauncher?: string;
  /** Whether `python launcher --probe` succeeds: a Python >= 3.10 with a tree-sitter build for it. */
  canRunBundled?: (interpreter: string, launcher: string) => boolean;
}

export type Discovery = { ok: true; server: ServerCommand } | { ok: false; reason: string };

export const INSTALL_COMMAND = "pip install git+https://github.com/aiiac-ls/aiiac-ls";

function defaultIsExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function which(program: string, envPath: string | undefined, platform: NodeJS.Platform,
                      isExecutable: (file: string) => boolean): string | undefined {
  const windows = platform === "win32";
  const names = windows ? [`${program}.exe`, `${program}.cmd`, program] : [program];
  for (const dir of (envPath ?? "").split(windows ? ";" : ":")) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = windows ? path.win32.join(dir, name) : path.posix.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

export function findServer(input: DiscoveryInput): Discovery {
  const isExecutable = input.isExecutable ?? defaultIsExecutable;
  const platform = input.platform ?? process.platform;
  if (input.serverPath) {
    if (!isExecutable(input.serverPath)) {
      return { ok: false, reason: `aiiac.server.path is set to "${input.serverPath}", which is not an executable file.` };
    }
    return { ok: true, server: { command: input.serverPath, args: ["--stdio"], source: "aiiac.server.path" } };
  }
  if (input.interpreter) {
    return {
      ok: true,
      server: { command: input.interpreter, args: ["-m", "aiiac_ls.cli", "--stdio"], source: "aiiac.server.interpreter" },
    };
  }
  const onPath = which("aiiac-ls", input.envPath, platform, isExecutable);
  if (onPath) {
    return { ok: true, server: { command: onPath, args: ["--stdio"], source: "PATH" } };
  }
  if (input.pythonInterpreter && (input.hasServerModule?.(input.pythonInterpreter) ?? false)) {
    return {
      ok: true,
      server: { command: input.pythonInterpreter, args: ["-m", "aiiac_ls.cli", "--stdio"], source: "Python extension" },
    };
  }
  if (input.bundledLauncher && input.canRunBundled) {
    // the Python extension's interpreter first, then python3 / python on PATH
    const pythons = [input.pythonInterpreter,
                     ...(platform === "win32" ? ["python", "py"] : ["python3", "python"])
                       .map((name) => which(name, input.envPath, platform, isExecutable))]
      .filter((python, index, all): python is string => !!python && all.indexOf(python) === index);
    for (const python of pythons) {
      if (input.canRunBundled(python, input.bundledLauncher)) {
        return { ok: true, server: { command: python, args: [input.bundledLauncher, "--stdio"], source: `bundled (${python})` } };
      }
    }
  }
  return {
    ok: false,
    reason: "The aiiac-ls language server was not found" +
      (input.bundledLauncher ? ", and the one bundled with the extension needs Python 3.10+ on a platform it has a build for" : "") +
      `. Install it with \`${INSTALL_COMMAND}\`, or set aiiac.server.path / aiiac.server.interpreter.`,
  };
}

/** The settings the server reads through workspace/configuration (section "aiiac"). */
export const SERVER_SETTINGS = ["select", "ignore", "severity", "modelPorts", "modelBuckets", "valuesFiles", "exclude"];
