"""Inline expectations in fixture files: `# expect: AIS101` on the line a finding must be on.

`@N` adds the 1-based column (`# expect: ORG001@3`), `expect+K:` / `expect-K:` point K lines
below or above (for lines that cannot hold a comment), several ids are comma-separated. The
project's rule fixtures and `--test-policies` read the same annotations.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .rules import RULE_ID_PATTERN as RULE_ID

EXPECT = re.compile(rf"expect([+-]\d+)?:\s*((?:{RULE_ID}(?:@\d+)?\s*,?\s*)+)")

Expectation = tuple[str, str, int, "int | None"]  # (file, rule, 1-based line, 1-based column)


def expectations_in(path: str, shown: str | None = None) -> set[Expectation]:
    found: set[Expectation] = set()
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        for match in EXPECT.finditer(line):
            offset = int(match.group(1) or 0)
            for item in re.findall(rf"{RULE_ID}(?:@\d+)?", match.group(2)):
                rule, _, col = item.partition("@")
                found.add((shown or os.path.relpath(path), rule.upper(), number + offset, int(col) if col else None))
    return found


def expectations(folder: str) -> set[Expectation]:
    """Every annotation in the files below `folder`."""
    found: set[Expectation] = set()
    for directory, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            found |= expectations_in(os.path.join(directory, name))
    return found


@dataclass
class Comparison:
    missing: list[Expectation]  # annotated, not found
    unexpected: list[tuple[str, str, int]]  # found, not annotated
    wrong_column: list[tuple[Expectation, int]]  # (expectation, actual column)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_column)


def compare(findings, expected: set[Expectation]) -> Comparison:
    actual = {(f.file, f.rule, f.span.start_line + 1): f.span.start_col + 1 for f in findings}
    wanted = {(file, rule, line) for file, rule, line, _ in expected}
    missing = sorted(e for e in expected if (e[0], e[1], e[2]) not in actual)
    unexpected = sorted(key for key in actual if key not in wanted)
    wrong = sorted(
        (e, actual[e[:3]]) for e in expected if e[3] is not None and e[:3] in actual and actual[e[:3]] != e[3]
    )
    return Comparison(missing, unexpected, wrong)
