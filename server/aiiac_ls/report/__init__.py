"""Output formats for `--check`: text (ruff-like code frames), JSON and SARIF 2.1.0."""

from __future__ import annotations

import hashlib

from ..model.findings import Finding, Problem

BLOCKING_PROBLEMS = ("error", "syntax", "internal")


def fingerprint(finding: Finding, source_line: str) -> str:
    """Stable across unrelated edits: rule, resource identity, file and the offending line with
    its whitespace normalised. Never a line number, so lines added above do not change it."""
    return _digest(finding, " ".join(source_line.split()))


def _digest(finding: Finding, normalised_line: str) -> str:
    digest = hashlib.sha256(f"{finding.rule}\0{finding.resource}\0{finding.file}\0{normalised_line}".encode())
    return digest.hexdigest()[:32]


def fingerprints(findings: list[Finding], sources: dict) -> list[str]:
    """One fingerprint per finding, in order, kept on the findings so a report of a subset (the
    new ones) prints the same. The second of two findings that would share one (the same line
    written twice in a resource) gets `:1` appended, and so on."""
    if any(not finding.fingerprint for finding in findings):
        seen: dict[str, int] = {}
        lines: dict[tuple[str, int], str] = {}  # normalised, by file and line (a container's six findings share one)
        for finding in findings:
            place = (finding.file, finding.span.start_line)
            line = lines.get(place)
            if line is None:
                source = sources.get(finding.file)
                line = lines[place] = " ".join((source.line(place[1]) if source else "").split())
            base = _digest(finding, line)
            count = seen.get(base, 0)
            seen[base] = count + 1
            finding.fingerprint = base if count == 0 else f"{base}:{count}"
    return [finding.fingerprint for finding in findings]


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
