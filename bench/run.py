"""Benchmarks for the CLI: cold start, and --check throughput and peak memory.

    python bench/run.py [--corpus ../shared/corpus] [--repeat 5]

Each measurement runs `aiiac-ls` in a fresh process (the way CI and editors start it) and reads
that process's own peak RSS with wait4(). Prints a table; nothing here is asserted: the numbers go
in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ml-platform"


def aiiac_command() -> list[str]:
    script = Path(sys.executable).with_name("aiiac-ls")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aiiac_ls.cli"]


def timed(args: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def count(path: Path) -> tuple[int, int]:
    files = lines = 0
    for item in path.rglob("*"):
        if item.is_file() and item.suffix in (".tf", ".tfvars", ".yaml", ".yml") and "_rendered" not in item.parts:
            files += 1
            with open(item, "rb") as handle:
                lines += handle.read().count(b"\n")
    return files, lines


def generated_corpus(target: Path, copies: int) -> Path:
    """`copies` copies of the bundled example, each its own Terraform module and manifests."""
    for index in range(copies):
        shutil.copytree(EXAMPLE, target / f"team{index:03d}")
    return target


def check_row(name: str, path: Path, repeat: int) -> str:
    files, lines = count(path)
    runs = [
        timed([*aiiac_command(), "--check", str(path), "--format", "json", "-o", os.devnull]) for _ in range(repeat)
    ]
    codes = {code for _, _, code in runs}
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    return (
        f"| {name} | {files} | {lines} | {wall:.2f} | {files / wall:.0f} | {lines / wall:.0f} | {rss:.0f} "
        f"| {','.join(map(str, sorted(codes)))} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=200)
    args = parser.parse_args()

    version = [timed([*aiiac_command(), "--version"])[0] for _ in range(max(args.repeat * 2, 10))]
    print(
        f"cold `aiiac-ls --version`: median {statistics.median(version) * 1000:.0f} ms, "
        f"best {min(version) * 1000:.0f} ms over {len(version)} runs\n"
    )

    print("| input | files | lines | wall s (median) | files/s | lines/s | peak RSS MiB | exit codes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as scratch:
        generated = generated_corpus(Path(scratch), args.copies)
        print(check_row(f"generated ({args.copies} copies of examples/ml-platform)", generated, args.repeat))
    corpus = Path(args.corpus)
    if corpus.is_dir():
        print(check_row("../shared/corpus (all)", corpus, args.repeat))
        for source in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith("_")):
            print(check_row(f"  {source.name}", source, max(args.repeat // 2, 1)))
    else:
        print(f"(corpus {corpus} not found: skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
