"""Output formats for `--check`: text (ruff-like code frames), JSON and SARIF 2.1.0."""

from __future__ import annotations

import hashlib

from ..model.findings import Finding, Problem

BLOCKING_PROBLEMS = ("error", "syntax", "internal")


def fingerprint(finding: Finding, source_line: str) -> str:
    """Stable across unrelated edits: rule, resource identity and the normalised offending line."""
    normalised = " ".join(source_line.split())
    digest = hashlib.sha256(f"{finding.rule}\0{finding.resource}\0{finding.file}\0{normalised}".encode())
    return digest.hexdigest()[:32]


def blocking(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.kind in BLOCKING_PROBLEMS]


def masked_line(line: str, finding_spans: list[tuple[int, int, int, int]], line_number: int) -> str:
    """`line` with the text of every secret span on it replaced by asterisks."""
    chars = list(line)
    for start_line, start_col, end_line, end_col in finding_spans:
        if not start_line <= line_number <= end_line:
            continue
        start = start_col if line_number == start_line else 0
        end = end_col if line_number == end_line else len(chars)
        for index in range(start, min(end, len(chars))):
            if not chars[index].isspace() and chars[index] not in "\"'":
                chars[index] = "*"
    return "".join(chars)
