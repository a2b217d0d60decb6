"""Kustomize: build + analysis of the largest overlay of the shared corpus, and a patch edit in
the editor.

    python bench/kustomize.py [--runs 20] [--edits 60]

1. `lws/config/default` (20 objects from 8 kustomizations, patches, a generator, name prefix,
   namespace, labels) analysed in this process after one warm-up run: median and worst of `--runs`
   (`Engine.analyse_paths`: discovery, build, rules).
2. The same tree copied into a scratch workspace and served by the language server; the patch
   `default/manager_metrics_patch.yaml` is open and typed into (a port name), each keystroke timed
   until the publish for its version arrives (closed loop, as bench/lsp_latency.py does).
Nothing is asserted; the numbers go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CORPUS = HERE.parents[1] / "shared" / "corpus"
OVERLAY = CORPUS / "lws" / "config" / "default"


def build_and_analyse(runs: int) -> list[float]:
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine

    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        analysis = Engine(Config()).analyse_paths([str(OVERLAY)])
        times.append(time.perf_counter() - start)
    print(f"  {analysis.resources} objects, {len(analysis.findings)} findings, {len(analysis.problems)} problems")
    return times[1:]


def patch_keystrokes(edits: int) -> list[float]:
    from lsp_latency import Session, type_into

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "config"
        shutil.copytree(OVERLAY.parent, root)
        session = Session(root)
        session.request("workspace/executeCommand", {"command": "aiiac.scanWorkspace", "arguments": []})
        patch = root / "default" / "manager_metrics_patch.yaml"
        uri = patch.as_uri()
        text = patch.read_text()
        session.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}
        )
        session.wait_diagnostics(uri, 1, timeout=120)
        line = text.splitlines().index("              name: metrics")
        times = type_into(session, uri, line, len("              name: metrics"), edits)
        session.close()
        return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--edits", type=int, default=60)
    args = parser.parse_args()
    if not OVERLAY.is_dir():
        print(f"no corpus at {CORPUS}")
        return 1
    from lsp_latency import percentile

    times = build_and_analyse(args.runs)
    print(
        f"build + analysis of {OVERLAY.relative_to(CORPUS)}: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {len(times)} runs"
    )
    keystrokes = patch_keystrokes(args.edits)
    print(
        f"patch keystroke -> publish: p50 {statistics.median(keystrokes) * 1000:.0f} ms, "
        f"p95 {percentile(keystrokes, 0.95) * 1000:.0f} ms, max {max(keystrokes) * 1000:.0f} ms ({len(keystrokes)} edits)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
