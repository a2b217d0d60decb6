"""Drive the real language server with random incremental edits and check its invariants.

Used by tests/test_fuzz.py (hypothesis, a few hundred edits) and by `make fuzz`:

    python -m tests.lsp_fuzz --edits 10000 [--seed N]

The client here is deliberately independent of pygls: it keeps its own copy of each document,
turns code-point offsets into UTF-16 positions itself and speaks JSON-RPC over the server's
stdin/stdout. After every edit it checks that

- the server is alive and answers within `TIMEOUT` seconds (no hang),
- the server's text equals the client's (`aiiac/documentState`: version, length, SHA-256),
- every diagnostic range (pulled with `textDocument/diagnostic`) lies inside the document,
  start before end, and hovers and code actions at random places answer without an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from aiiac_ls.lsp.fastinit import frame, read_message  # noqa: E402

TIMEOUT = 30.0
LINE_BREAK = re.compile(r"\r\n|\r|\n")

# what people type, and what breaks parsers: unbalanced brackets and template actions, CRLF and
# lone CR, tabs, non-BMP characters (two UTF-16 units), half-typed keywords
FRAGMENTS = [
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "{{",
    "}}",
    "{{ .Values.",
    "{{- if ",
    "{{ end }}",
    "${",
    '"',
    "'",
    ":",
    ": ",
    "- ",
    "#",
    "=",
    " = ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "  ",
    "😀",
    "é",
    "𝔘",
    "\u2028",
    "ß",
    'resource "aws_s3_bucket" "b" {',
    "kind: Pod",
    "hostNetwork: true",
    "type: LoadBalancer",
    "privileged: true",
    "0.0.0.0/0",
    "*",
    "---\n",
    "<<: *a",
    "&a ",
    "*a",
    "!!binary ",
    "null",
    "\\",
]


class ServerGone(AssertionError):
    pass


class Client:
    """A synchronous LSP client over a subprocess, answering the server's own requests."""

    def __init__(self, command: list[str], cwd: Path, root: Path | None = None):
        """`root`: the workspace folder the client announces (default: `cwd`)."""
        root = root or cwd
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd
        )
        self.messages: queue.Queue = queue.Queue()
        self.stderr: list[bytes] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        capabilities = {
            "textDocument": {
                "diagnostic": {"dynamicRegistration": False},
                "hover": {"contentFormat": ["markdown", "plaintext"]},
                "codeAction": {
                    "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source.fixAll"]}}
                },
            },
            "workspace": {"configuration": True},
            "general": {"positionEncodings": ["utf-16"]},
        }
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": capabilities})
        self.notify("initialized", {})

    def _read(self) -> None:
        while True:
            _, body = read_message(self.process.stdout)
            if body is None:
                self.messages.put(None)
                return
            self.messages.put(body)

    def notify(self, method: str, params) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params, timeout: float = TIMEOUT):
        self._next_id += 1
        ident = self._next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{method}: no answer within {timeout} s (server hung?)")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise ServerGone(
                    f"server closed its output during {method}; stderr:\n"
                    + b"".join(self.stderr).decode("utf-8", "replace")[-3000:]
                )
            if "method" in message and "id" in message:  # the server asks: configuration, progress...
                result = (
                    [{}] * len(message.get("params", {}).get("items", []))
                    if message["method"] == "workspace/configuration"
                    else None
                )
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            elif message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method} answered with an error: {message['error']}")
                return message.get("result")

    def _send(self, message: dict) -> None:
        if self.process.poll() is not None:
            raise ServerGone(f"server exited with {self.process.returncode}")
        self.process.stdin.write(frame(message))
        self.process.stdin.flush()

    def close(self) -> int:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.stdin.close()
        except (AssertionError, OSError):
            self.process.kill()
        return self.process.wait(timeout=10)


@dataclass
class Document:
    uri: str
    text: str
    version: int = 1

    def lines(self) -> list[str]:
        return LINE_BREAK.split(self.text)

    def position(self, offset: int) -> dict:
        """The LSP position (UTF-16) of a code-point offset."""
        line = 0
        start = 0
        for match in LINE_BREAK.finditer(self.text, 0, offset):
            if match.end() > offset:
                break
            line += 1
            start = match.end()
        column = self.text[start:offset]
        return {"line": line, "character": len(column.encode("utf-16-le")) // 2}

    def apply(self, start: int, end: int, insert: str) -> dict:
        """Edit the client's copy; the LSP change event that says the same to the server."""
        change = {"range": {"start": self.position(start), "end": self.position(end)}, "text": insert}
        self.text = self.text[:start] + insert + self.text[end:]
        self.version += 1
        return change

    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()


def inside(document: Document, position: dict) -> bool:
    lines = document.lines()
    if not 0 <= position["line"] < len(lines):
        return False
    return 0 <= position["character"] <= len(lines[position["line"]].encode("utf-16-le")) // 2


def check(
    client: Client, document: Document, rng: random.Random, stats: dict, others: dict[str, Document] | None = None
) -> None:
    state = client.request("aiiac/documentState", {"uri": document.uri})
    assert state == {
        "uri": document.uri,
        "open": True,
        "version": document.version,
        "length": len(document.text),
        "sha256": document.digest(),
    }, f"server text drifted from the client's: {state}"
    started = time.perf_counter()
    report = client.request("textDocument/diagnostic", {"textDocument": {"uri": document.uri}})
    stats["diagnostic_ms"].append((time.perf_counter() - started) * 1000)
    for diagnostic in report.get("items", []):
        start, end = diagnostic["range"]["start"], diagnostic["range"]["end"]
        assert inside(document, start) and inside(document, end), f"range outside the document: {diagnostic}"
        assert (start["line"], start["character"]) <= (end["line"], end["character"]), diagnostic
        stats["diagnostics"] += 1
    offset = rng.randint(0, len(document.text))
    client.request("textDocument/hover", {"textDocument": {"uri": document.uri}, "position": document.position(offset)})
    low, high = sorted((rng.randint(0, len(document.text)), offset))
    actions = (
        client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": document.uri},
                "range": {"start": document.position(low), "end": document.position(high)},
                "context": {"diagnostics": report.get("items", [])[:5]},
            },
        )
        or []
    )
    open_documents = {**(others or {}), document.uri: document}
    for action in actions:
        for edits in (action.get("edit") or {}).get("documentChanges") or []:
            target = open_documents.get(edits["textDocument"]["uri"])  # a chart fix may edit values.yaml
            if target is None:
                continue
            assert edits["textDocument"]["version"] == target.version, f"fix for another version: {action}"
            for edit in edits.get("edits", []):
                assert inside(target, edit["range"]["start"]) and inside(target, edit["range"]["end"]), action


def random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    """A typing-like edit: mostly short inserts and deletes near one place, sometimes a paste."""
    start, end, insert = _random_edit(rng, text)
    return _boundary(text, start), _boundary(text, end), insert


def _boundary(text: str, offset: int) -> int:
    """No LSP position lies between the \r and \n of a CRLF: an editor's cursor cannot be there."""
    return offset + 1 if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n" else offset


def _random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    start = rng.randint(0, len(text))
    kind = rng.random()
    if kind < 0.45:
        return start, start, rng.choice(FRAGMENTS)
    if kind < 0.75:
        return start, min(len(text), start + rng.randint(1, 8)), ""
    if kind < 0.95:
        return start, min(len(text), start + rng.randint(0, 4)), "".join(rng.choices(FRAGMENTS, k=rng.randint(1, 4)))
    piece_start = rng.randint(0, len(text))
    return start, start, text[piece_start : piece_start + rng.randint(1, 400)]  # a paste from elsewhere


def workspace(target: Path) -> list[Path]:
    """A scratch repository: the bundled example (Terraform + manifests) and a Helm chart."""
    shutil.copytree(ROOT / "examples" / "ml-platform", target / "ml-platform")
    shutil.copytree(ROOT / "tests" / "fixtures" / "charts" / "features", target / "chart")
    return [
        target / "ml-platform" / "infra" / "main.tf",
        target / "ml-platform" / "k8s" / "triton.yaml",
        target / "chart" / "values.yaml",
        target / "chart" / "templates" / "deployment.yaml",
    ]


def server_command() -> list[str]:
    return [sys.executable, "-m", "aiiac_ls.cli"]


class Session:
    """One server over a scratch workspace with its documents open; `reset()` reopens them with
    their original text, so many edit streams can share one server process."""

    def __init__(self, scratch: Path):
        self.files = workspace(scratch)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "server"), str(ROOT / "rules"), os.environ.get("PYTHONPATH", "")]
        )
        self.client = Client(server_command(), scratch)
        self.documents: list[Document] = []
        self.stats = {"edits": 0, "diagnostics": 0, "diagnostic_ms": []}
        self.reset()

    def reset(self) -> None:
        for document in self.documents:
            self.client.notify("textDocument/didClose", {"textDocument": {"uri": document.uri}})
        self.documents = []
        for path in self.files:
            document = Document(path.as_uri(), path.read_text(encoding="utf-8"))
            self.client.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": document.uri,
                        "languageId": "yaml" if path.suffix == ".yaml" else "terraform",
                        "version": document.version,
                        "text": document.text,
                    }
                },
            )
            self.documents.append(document)

    def edit(
        self, document: Document, start: int, end: int, insert: str, rng: random.Random, whole: bool = False
    ) -> None:
        """Send one edit (and, with `whole`, the full text again, as some clients do); check."""
        change = document.apply(start, end, insert)
        self.client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": document.uri, "version": document.version}, "contentChanges": [change]},
        )
        if whole:
            document.version += 1
            self.client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": document.uri, "version": document.version},
                    "contentChanges": [{"text": document.text}],
                },
            )
        check(self.client, document, rng, self.stats, {d.uri: d for d in self.documents})
        self.stats["edits"] += 1

    def close(self) -> int:
        return self.client.close()


def server_memory(pid: int) -> dict:
    """The server's resident memory now and at its peak (MiB), from /proc."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    found["server_" + line.split(":")[0].lower() + "_mib"] = round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return found


def run(edits: int, seed: int, out=sys.stdout) -> dict:
    """`edits` random edits spread over the workspace's files, checked after each one."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as scratch:
        session = Session(Path(scratch))
        started = time.perf_counter()
        for number in range(edits):
            document = rng.choice(session.documents)
            session.edit(document, *random_edit(rng, document.text), rng, whole=rng.random() < 0.02)
            if out is not None and (number + 1) % 500 == 0:
                memory = server_memory(session.client.process.pid).get("server_vmrss_mib")
                print(
                    f"  {number + 1} edits, {time.perf_counter() - started:.0f} s, server RSS {memory} MiB",
                    file=out,
                    flush=True,
                )
        stats = {
            **session.stats,
            "seed": seed,
            "seconds": time.perf_counter() - started,
            **server_memory(session.client.process.pid),
            "document_chars": [len(document.text) for document in session.documents],
        }
        stats["exit_code"] = session.close()
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"fuzzing the language server: {args.edits} edits, seed {seed}", flush=True)
    stats = run(args.edits, seed)
    latencies = sorted(stats.pop("diagnostic_ms"))
    stats["diagnostic_p50_ms"] = round(statistics.median(latencies), 1)
    stats["diagnostic_p95_ms"] = round(latencies[int(len(latencies) * 0.95) - 1], 1)
    stats["diagnostic_max_ms"] = round(latencies[-1], 1)
    stats["seconds"] = round(stats["seconds"], 1)
    print(json.dumps(stats, indent=2))
    return 0 if stats["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
