"""Time from spawning `aiiac-ls` to its `initialize` answer, with a raw JSON-RPC client.

python bench/lsp_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aiiac_ls.lsp.fastinit import frame
from aiiac_ls.lsp.fastinit import read_message as read_raw_message


def command() -> list[str]:
    script = Path(sys.executable).with_name("aiiac-ls")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aiiac_ls.cli"]


def read_message(stream) -> dict:
    """The next JSON-RPC message from the server (EOFError when it closed stdout)."""
    _, body = read_raw_message(stream)
    if body is None:
        raise EOFError("server closed stdout")
    return body


def once() -> float:
    start = time.perf_counter()
    process = subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdin.write(
        frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": {}},
            }
        )
    )
    process.stdin.flush()
    while True:
        message = read_message(process.stdout)
        if message.get("id") == 1:
            break
    elapsed = time.perf_counter() - start
    process.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    process.stdin.close()
    process.wait(timeout=10)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times = [once() for _ in range(args.runs)]
    print(
        f"spawn -> initialize answer: median {statistics.median(times) * 1000:.0f} ms, "
        f"best {min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms over {len(times)} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
