"""The language server's background workspace index: every folder's scan-wide facts.

    python bench/workspace_index.py [--corpus ../shared/corpus]

Runs in a fresh process (so the peak RSS is the index's, with the parsers loaded), indexes every
unit of the folder the way `AiiacServer.index_workspace` does (no rules), then measures what each
keystroke pays for it: merging the other units' facts (`Workspace.context_facts`).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from aiiac_ls.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    args = parser.parse_args()
    workspace = Workspace()
    start = time.perf_counter()
    units = workspace.units_under(args.corpus)
    for unit in units:
        workspace.index(unit)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    merges = []
    for unit in units[:50]:
        begin = time.perf_counter()
        workspace.context_facts(unit)
        merges.append((time.perf_counter() - begin) * 1000)
    print(
        f"{len(units)} units indexed in {seconds:.2f} s, peak RSS {peak:.0f} MiB; "
        f"context facts per analysis: median {statistics.median(merges):.2f} ms, max {max(merges):.2f} ms"
    )


if __name__ == "__main__":
    main()
