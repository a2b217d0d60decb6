"""Helm rendering speed: each corpus chart, and re-rendering a 40-template chart after a one-line
values.yaml edit (what an editor does on a keystroke).

    python bench/helm_render.py [--corpus ../shared/corpus] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from aiiac_ls.cli import tune_garbage_collector
from aiiac_ls.formats.helm.chart import RenderOptions, render_chart
from chart_gen import write_chart


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    tune_garbage_collector()  # as the CLI and the server run
    corpus = Path(args.corpus)
    log = corpus / "_rendered" / "_render_log.json"
    if log.exists():
        print("| chart | objects | median ms | p95 ms |")
        print("|---|---:|---:|---:|")
        for entry in json.loads(log.read_text()):
            chart = corpus / entry["source"] / entry["chart"]
            deps = (str(corpus / entry["source"] / "_deps"),) if (corpus / entry["source"] / "_deps").is_dir() else ()
            options = RenderOptions(
                set_values=tuple(a for a in entry["overrides"] if a != "--set"), dependency_dirs=deps
            )
            result = render_chart(str(chart), options)
            times = sorted(timed(lambda c=chart, o=options: render_chart(str(c), o), max(args.repeat // 4, 3)))
            print(
                f"| {entry['source']}/{entry['chart']} | {len(result.resources)} | "
                f"{statistics.median(times) * 1000:.0f} | {times[int(0.95 * (len(times) - 1))] * 1000:.0f} |"
            )
    with tempfile.TemporaryDirectory() as scratch:
        root = write_chart(Path(scratch) / "bench", 40)
        values = root / "values.yaml"
        original = values.read_text()
        counter = [0]

        def edit_and_render():
            counter[0] += 1
            values.write_text(original.replace("replicaCount: 2", f"replicaCount: {counter[0] % 9 + 1}"))
            render_chart(str(root), RenderOptions())

        times = sorted(timed(edit_and_render, args.repeat))
        print(
            f"\n40-template chart, one-line values.yaml edit then full re-render: median "
            f"{statistics.median(times) * 1000:.0f} ms, p95 {times[int(0.95 * (len(times) - 1))] * 1000:.0f} ms "
            f"over {len(times)} edits"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
