"""A repeatable precision audit: a seeded random sample of the findings on ../shared/corpus, written
as a review sheet to label by hand (true positive, false positive, debatable).

    python bench/precision_sample.py [--seed 7] [--size 60] [--corpus ../shared/corpus] [--out FILE]
    python bench/precision_sample.py --score FILE     # count the verdicts of a labelled sheet

Each entry shows the finding, its rule's one-line rationale and the lines around it, with a
`verdict:` line to fill in (`tp`, `fp` or `debatable`, then a reason). The sample is drawn with
one finding per resource at most, so a noisy resource does not fill the sheet, and without the
scan-coverage notes (AIS003-AIS006); the same seed on the same corpus and code gives the same sheet.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

from aiiac_ls.config import Config
from aiiac_ls.engine import Engine
from aiiac_ls.rules import get_rule

ROOT = Path(__file__).resolve().parents[1]
# what the scan could not look at (modules not installed, remote resources): true by construction,
# and not a judgement of the configuration, so not sampled
COVERAGE = {"AIS003", "AIS004", "AIS005", "AIS006"}


def draw(corpus: Path, seed: int, size: int) -> tuple[list, object]:
    analysis = Engine(Config()).analyse_paths([str(corpus)])
    by_resource: dict[tuple[str, str], list] = {}
    for finding in analysis.findings:
        if finding.rule in COVERAGE:
            continue
        by_resource.setdefault((finding.resource or finding.span.file, finding.span.file), []).append(finding)
    generator = random.Random(seed)
    keys = sorted(by_resource)
    generator.shuffle(keys)
    picked = [generator.choice(by_resource[key]) for key in keys[:size]]
    return sorted(picked, key=lambda f: (f.rule, f.span.file, f.span.start_line)), analysis


def sheet(findings: list, analysis, corpus: Path, seed: int) -> str:
    total = len(analysis.findings)
    out = [
        f"# Precision sample (seed {seed}): {len(findings)} of {total} findings on the shared corpus",
        "",
        "Label each `verdict:` as `tp` (a real problem the user should fix or consciously accept), `fp`",
        "(wrong: the configuration is safe, or the rule misread it) or `debatable`, with a reason.",
        "",
    ]
    for number, finding in enumerate(findings, start=1):
        rule = get_rule(finding.rule)
        span = finding.span
        source = analysis.sources.get(span.file)
        shown = Path(span.file)
        try:
            shown = shown.resolve().relative_to(corpus.resolve())
        except ValueError:
            pass
        out += [
            f"## {number}. {finding.rule} [{finding.severity}] `{shown}:{span.start_line + 1}`",
            "",
            f"{finding.message} ({finding.resource})",
            "",
            f"> {rule.summary if rule else ''}",
            "",
            "```",
        ]
        if source is not None:
            first = max(0, span.start_line - 3)
            for line_number in range(first, min(len(source.lines), span.start_line + 4)):
                marker = ">" if line_number == span.start_line else " "
                out.append(f"{marker}{line_number + 1:5} | {source.lines[line_number][:160]}")
        out += ["```", "", "verdict: ", ""]
    return "\n".join(out) + "\n"


def score(path: Path) -> str:
    verdicts = re.findall(r"^verdict:\s*(\w+)", path.read_text(), re.M)
    counts = {kind: verdicts.count(kind) for kind in ("tp", "fp", "debatable")}
    labelled = sum(counts.values())
    if not labelled:
        return f"{path}: no verdicts yet"
    return (
        f"{path}: {labelled} labelled: {counts['tp']} true positives, {counts['fp']} false positives "
        f"({100 * counts['fp'] / labelled:.1f} %), {counts['debatable']} debatable "
        f"({100 * (counts['fp'] + counts['debatable']) / labelled:.1f} % counting them)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--out")
    parser.add_argument("--score")
    args = parser.parse_args()
    if args.score:
        print(score(Path(args.score)))
        return 0
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    findings, analysis = draw(corpus, args.seed, args.size)
    text = sheet(findings, analysis, corpus, args.seed)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {len(findings)} findings to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
