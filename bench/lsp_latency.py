"""Language-server latency: keystroke -> published diagnostics, and memory with a real workspace.

    python bench/lsp_latency.py [--edits 60] [--corpus ../shared/corpus]

A raw JSON-RPC client (no client library overhead) opens a generated Terraform module of 2,000
and of 20,000 lines, sends single-character incremental edits like typing, and times each
didChange until the publishDiagnostics carrying that document version arrives (closed loop: the
next keystroke waits for the answer). The open-loop run types at a steady 8 characters per
second whatever the server does, as a person would, and times each keystroke until a publish for
its version or a later one arrives: a server that drops results overtaken by newer edits shows
here and not in the closed loop. Then it opens `../shared/corpus` as the workspace, runs
`aiiac.scanWorkspace`, and reads the server's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lsp_startup import command, frame, read_message

BLOCK = """resource "aws_s3_bucket" "b{n}" {{
  bucket = "acme-models-{n}"
  tags = {{
    team = "ml"
  }}
}}

resource "aws_security_group" "sg{n}" {{
  name = "sg-{n}"
  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}

"""


def module_text(lines: int) -> str:
    per_block = BLOCK.count("\n")
    return "".join(BLOCK.format(n=n) for n in range(lines // per_block + 1))


class Session:
    def __init__(self, root: Path, pull: bool = False):
        self.process = subprocess.Popen(
            command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.messages: queue.Queue = queue.Queue()
        self.lock = threading.Lock()  # the open-loop typist writes from its own thread
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}],
                "capabilities": {"window": {"workDoneProgress": True}}
                | (  # VS Code's: pull diagnostics, the workspace report and its refresh
                    {"textDocument": {"diagnostic": {}}, "workspace": {"diagnostics": {"refreshSupport": True}}}
                    if pull
                    else {}
                ),
            },
        )
        self.notify("initialized", {})

    def _read(self):
        while True:
            try:
                self.messages.put(read_message(self.process.stdout))
            except (EOFError, ValueError):
                return

    def send(self, message: dict) -> None:
        with self.lock:
            self.process.stdin.write(frame(message))
            self.process.stdin.flush()

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params, timeout: float = 600) -> dict:
        self.next_id += 1
        request_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        deadline = time.time() + timeout
        while time.time() < deadline:
            message = self.messages.get(timeout=timeout)
            if message.get("id") == request_id and "method" not in message:
                return message
            if "id" in message and "method" in message:  # a server request: accept it
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        raise TimeoutError(method)

    def wait_diagnostics(self, uri: str, version: int, timeout: float = 60) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            message = self.messages.get(timeout=timeout)
            if message.get("method") == "textDocument/publishDiagnostics":
                params = message["params"]
                if params["uri"] == uri and params.get("version") == version:
                    return params
            elif "id" in message and "method" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        raise TimeoutError("diagnostics")

    def peak_rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        try:
            self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
        finally:
            self.process.wait(timeout=30)


def open_module(root: Path, lines: int) -> tuple[Session, str, str]:
    """A server on `root` with a generated module of `lines` lines open and analysed once."""
    path = root / "main.tf"
    text = module_text(lines)
    path.write_text(text)
    session = Session(root)
    uri = path.as_uri()
    session.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "terraform", "version": 1, "text": text}}
    )
    session.wait_diagnostics(uri, 1, timeout=120)
    return session, uri, text


def keystrokes(lines: int, edits: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as scratch:
        session, uri, text = open_module(Path(scratch), lines)
        target = text.splitlines().index('  name = "sg-0"')  # type into the first security group
        col = len('  name = "sg-0')
        times = type_into(session, uri, target, col, edits, chars="abcdefghij")
        rss = session.peak_rss_mib()
        session.close()
        return times, rss


def open_loop(lines: int, edits: int, rate: float = 8.0, settle: float = 60.0) -> tuple[list[float], int]:
    """Type `edits` characters at `rate` per second without waiting; each keystroke's latency is
    the time until a publish for its version or a later one. Returns the latencies and how many
    publishes arrived (a keystroke never covered counts as the time until the run gave up)."""
    with tempfile.TemporaryDirectory() as scratch:
        session, uri, text = open_module(Path(scratch), lines)
        target = text.splitlines().index('  name = "sg-0"')
        col = len('  name = "sg-0')
        sent: dict[int, float] = {}

        def typist() -> None:
            start = time.perf_counter()
            for index in range(edits):
                time.sleep(max(0.0, start + index / rate - time.perf_counter()))
                sent[index + 2] = time.perf_counter()
                session.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": index + 2},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": target, "character": col + index},
                                    "end": {"line": target, "character": col + index},
                                },
                                "text": "abcdefghij"[index % 10],
                            }
                        ],
                    },
                )

        thread = threading.Thread(target=typist)
        thread.start()
        latencies: dict[int, float] = {}
        publishes = 0
        last = edits + 1
        deadline = time.perf_counter() + edits / rate + settle
        while last not in latencies and time.perf_counter() < deadline:
            try:
                message = session.messages.get(timeout=1)
            except queue.Empty:
                continue
            if "id" in message and "method" in message:
                session.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            if message.get("method") != "textDocument/publishDiagnostics" or message["params"]["uri"] != uri:
                continue
            now, covered = time.perf_counter(), message["params"].get("version") or 0
            publishes += 1
            for version in [v for v in sent if v <= covered and v not in latencies]:
                latencies[version] = now - sent[version]
        thread.join()
        gave_up = time.perf_counter()
        times = [latencies.get(version, gave_up - sent[version]) for version in sorted(sent)]
        session.close()
        return times, publishes


def chart_keystrokes(templates: int, edits: int) -> tuple[list[float], float]:
    """Typing in values.yaml of a generated chart: every edit re-renders and re-checks all templates."""
    from chart_gen import write_chart

    with tempfile.TemporaryDirectory() as scratch:
        root = write_chart(Path(scratch) / "bench", templates)
        session = Session(root)
        uris = []
        for name in ("values.yaml", "templates/server00.yaml"):  # a user with both files open
            path = root / name
            uris.append(path.as_uri())
            session.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": path.as_uri(), "languageId": "yaml", "version": 1, "text": path.read_text()}},
            )
            session.wait_diagnostics(path.as_uri(), 1, timeout=120)
        values_uri = uris[0]
        text = (root / "values.yaml").read_text()
        line = text.splitlines().index("  repository: vllm/vllm-openai")
        times = type_into(session, values_uri, line, len("  repository: vllm/vllm-openai"), edits)
        rss = session.peak_rss_mib()
        session.close()
        return times, rss


def type_into(session: Session, uri: str, line: int, column: int, edits: int, chars: str = "x") -> list[float]:
    """Type `edits` characters (cycling through `chars`) at (line, column) of an open document,
    ~8 per second (a fast typist), each timed until the publish for its version arrives (closed loop)."""
    times = []
    for index in range(edits):
        version = index + 2
        start = time.perf_counter()
        session.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": line, "character": column + index},
                            "end": {"line": line, "character": column + index},
                        },
                        "text": chars[index % len(chars)],
                    }
                ],
            },
        )
        session.wait_diagnostics(uri, version)
        times.append(time.perf_counter() - start)
        time.sleep(0.12)
    return times


def problems_panel(root: Path) -> str:
    """A first-time VS Code user's "Scan workspace": from the command, on a server just started,
    until its workspace report (what fills the Problems panel) holds every finding."""
    session = Session(root, pull=True)
    start = time.perf_counter()
    result = session.request("workspace/executeCommand", {"command": "aiiac.scanWorkspace", "arguments": []})
    report = session.request("workspace/diagnostic", {"previousResultIds": []})["result"]["items"]
    elapsed = time.perf_counter() - start
    shown = sum(len(item["items"]) for item in report)
    files = sum(1 for item in report if item["items"])
    session.close()
    return (
        f"\nProblems panel after Scan workspace of {root}: {elapsed:.2f} s, {shown} diagnostics in {files} files "
        f"({result['result']['findings']} findings, {result['result']['problems']} problems)"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--scan-only", action="store_true", help="only the workspace scan of --corpus")
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    args = parser.parse_args()
    if args.scan_only:
        print(problems_panel(Path(args.corpus)))
        return 0
    print("| document | edits | p50 ms | p95 ms | max ms | server peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for lines in (2000, 20000):
        times, rss = keystrokes(lines, args.edits)
        print(
            f"| {lines:,}-line .tf | {len(times)} | {statistics.median(times) * 1000:.0f} | "
            f"{percentile(times, 0.95) * 1000:.0f} | {max(times) * 1000:.0f} | {rss:.0f} |"
        )
    for lines in (2000, 20000):
        times, publishes = open_loop(lines, args.edits * 2)
        print(
            f"| {lines:,}-line .tf, open loop at 8 chars/s ({publishes} publishes) | {len(times)} | "
            f"{statistics.median(times) * 1000:.0f} | {percentile(times, 0.95) * 1000:.0f} | "
            f"{max(times) * 1000:.0f} | |"
        )
    times, rss = chart_keystrokes(40, args.edits)
    print(
        f"| values.yaml of a 40-template chart | {len(times)} | {statistics.median(times) * 1000:.0f} | "
        f"{percentile(times, 0.95) * 1000:.0f} | {max(times) * 1000:.0f} | {rss:.0f} |"
    )
    corpus = Path(args.corpus)
    if corpus.is_dir():
        print(problems_panel(corpus))
        session = Session(corpus)
        start = time.perf_counter()
        result = session.request("workspace/executeCommand", {"command": "aiiac.scanWorkspace", "arguments": []})
        elapsed = time.perf_counter() - start
        print(
            f"\nworkspace {corpus}: scanWorkspace {elapsed:.2f} s, {result.get('result')}, "
            f"server peak RSS {session.peak_rss_mib():.0f} MiB"
        )
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
