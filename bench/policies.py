"""Cost of custom rules: milliseconds per resource for Rego and for YAML rules.

    python bench/policies.py [--corpus ../shared/corpus] [--repeat 3]

Analyses the corpus in one process (jobs=1) with no custom rules, with the example YAML rules
(examples/policies/org.rules.yaml), and with the example Rego policies (two native packages and
two conftest packages), and reports the extra time divided by the number of resources.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "policies"


def measure(corpus: Path, policies: tuple[str, ...], repeat: int) -> tuple[float, float, int, int]:
    """(seconds to load the policies, median seconds to analyse, resources, custom findings)."""
    from aiiac_ls.policy import loader

    times, resources, custom = [], 0, 0
    loader._CACHE.clear()
    start = time.perf_counter()
    Engine(Config(policies=policies))  # starts the Rego worker and compiles, once
    load = time.perf_counter() - start
    for _ in range(repeat):
        engine = Engine(Config(policies=policies))
        start = time.perf_counter()
        analysis = engine.analyse_paths([str(corpus)])
        times.append(time.perf_counter() - start)
        resources = analysis.resources
        custom = sum(1 for finding in analysis.findings if not finding.rule.startswith("AIS"))
    return load, statistics.median(times), resources, custom


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        raise SystemExit(f"no corpus at {corpus}")
    rego = (str(EXAMPLE / "model-buckets.rego"), str(EXAMPLE / "serving.rego"), str(EXAMPLE / "conftest"))
    runs = [
        ("built-in rules only", ()),
        ("+ 3 YAML rules", (str(EXAMPLE / "org.rules.yaml"),)),
        ("+ 4 Rego packages", rego),
    ]
    base = None
    print(
        f"{'configuration':<24} {'load s':>7} {'scan s':>7} {'resources':>10} {'custom findings':>16} "
        f"{'ms/resource':>12}"
    )
    for name, policies in runs:
        load, seconds, resources, custom = measure(corpus, policies, args.repeat)
        extra = "" if base is None else f"{(seconds - base) * 1000 / resources:.3f}"
        base = seconds if base is None else base
        print(f"{name:<24} {load:>7.2f} {seconds:>7.2f} {resources:>10} {custom:>16} {extra:>12}")


if __name__ == "__main__":
    main()
