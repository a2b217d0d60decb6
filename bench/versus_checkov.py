"""aiiac-ls and Checkov on the same files of ../shared/corpus, side by side in one run.

    python bench/versus_checkov.py --checkov /path/to/checkov [--corpus ../shared/corpus] [--repeat 3]

Checkov is a test-only tool here (install it in its own venv: `pip install checkov`). Both tools
get the same folder, each in a fresh process, for every source of the corpus and for the whole
corpus in one run: Checkov with `--framework terraform kubernetes` (what it can read without the
`helm` binary; it does not render charts, aiiac-ls does), aiiac-ls with `--check` and its default
jobs. Wall time is the median of `--repeat` unwatched runs (Checkov: one run unless
`--checkov-repeat`).

Peak memory is sampled over the whole process tree in one more run (aiiac-ls forks one worker
for Terraform; Checkov forks several): RSS counts shared pages once per process, PSS splits
them, so PSS is the memory the tree really holds. Prints a Markdown table for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import aiiac_command

ROOT = Path(__file__).resolve().parents[1]


def _descendants(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        return []
    found = list(children)
    for child in children:
        found.extend(_descendants(child))
    return found


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over `pid` and its descendants."""
    rss = pss = 0
    for member in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{member}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def timed(args: list[str]) -> float:
    """Wall seconds of one run, with nothing else watching it."""
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def sampled(args: list[str], interval: float) -> tuple[float, float, float]:
    """(wall seconds, peak tree RSS MiB, peak tree PSS MiB) of one run, sampled every `interval`
    seconds. Reading smaps_rollup costs CPU on a 2-core machine, so aiiac-ls is timed in separate,
    unwatched runs; Checkov's runs are long enough for a 0.1 s sampling not to matter."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_rss = peak_pss = 0
    while process.poll() is None:
        rss, pss = _tree_memory(process.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(interval)
    wall = time.perf_counter() - start
    return wall, peak_rss / 1024, peak_pss / 1024


def checkov_command(checkov: str, path: Path) -> list[str]:
    return [
        checkov,
        "-d",
        str(path),
        "--framework",
        "terraform",
        "kubernetes",
        "-o",
        "json",
        "--compact",
        "--quiet",
        "--skip-download",
    ]


def count(path: Path) -> tuple[int, int]:
    """Files and lines both tools read (the corpus's reference renders included)."""
    files = lines = 0
    for item in path.rglob("*"):
        if item.is_file() and item.suffix in (".tf", ".tfvars", ".yaml", ".yml", ".tpl"):
            files += 1
            lines += item.read_bytes().count(b"\n")
    return files, lines


def row(name: str, path: Path, checkov: str, repeat: int, checkov_repeat: int) -> tuple[str, float, float]:
    files, lines = count(path)
    command = [*aiiac_command(), "--check", str(path), "--format", "json", "-o", os.devnull]
    our_wall = statistics.median(timed(command) for _ in range(repeat))
    _, our_rss, our_pss = sampled(command, 0.01)
    theirs = [sampled(checkov_command(checkov, path), 0.1) for _ in range(checkov_repeat)]
    their_wall = statistics.median(r[0] for r in theirs)
    line = (
        f"| {name} | {files} | {lines:,} | {their_wall:.2f} | {our_wall:.2f} | **{their_wall / our_wall:.1f}×** "
        f"| {max(r[1] for r in theirs):.0f} / {max(r[2] for r in theirs):.0f} "
        f"| {our_rss:.0f} / {our_pss:.0f} |"
    )
    return line, their_wall, our_wall


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkov", required=True, help="the checkov executable (test-only install)")
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=3, help="aiiac-ls runs per input (median)")
    parser.add_argument("--checkov-repeat", type=int, default=1, help="Checkov runs per input (median)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"corpus {corpus} not found", file=sys.stderr)
        return 2
    version = subprocess.run([args.checkov, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Checkov {version}; aiiac-ls `--check` with default jobs on {len(os.sched_getaffinity(0))} cores\n")
    print(
        "| input | files | lines | Checkov s | aiiac-ls s | ratio | Checkov peak RSS / PSS MiB "
        "| aiiac-ls peak RSS / PSS MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total, _, _ = row("**whole corpus, one run each**", corpus, args.checkov, args.repeat, args.checkov_repeat)
    print(total, flush=True)
    sums = [0.0, 0.0]
    for source in sorted(p for p in corpus.iterdir() if p.is_dir()):
        line, theirs, ours = row(source.name, source, args.checkov, args.repeat, args.checkov_repeat)
        sums[0] += theirs
        sums[1] += ours
        print(line, flush=True)
    print(f"| sum of the per-source runs | | | {sums[0]:.2f} | {sums[1]:.2f} | {sums[0] / sums[1]:.1f}× | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
