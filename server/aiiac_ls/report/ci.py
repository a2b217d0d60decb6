"""Formats for CI systems: GitHub workflow commands, JUnit XML, and Markdown for a PR comment."""

from __future__ import annotations

from collections import Counter
from xml.sax.saxutils import escape, quoteattr

from ..engine import Analysis
from ..model.findings import SEVERITIES, SEVERITY_RANK, Finding
from . import blocking

GITHUB_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def _github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


GITHUB_ANNOTATIONS = 50  # GitHub shows a handful per step; the job summary carries the rest


def to_github(analysis: Analysis, limit: int = GITHUB_ANNOTATIONS) -> str:
    """`::error file=...,line=...::message` lines: annotations on the PR's changed lines, the
    `limit` most severe findings (GitHub drops the rest); `github_summary` lists them all."""
    lines = []
    ranked = sorted(analysis.findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.sort_key()))
    for finding in ranked[:limit]:
        span = finding.span
        properties = (
            f"file={_github_property(span.file)},line={span.start_line + 1},col={span.start_col + 1},"
            f"endLine={span.end_line + 1},endColumn={span.end_col + 1},"
            f"title={_github_property(f'{finding.rule} {finding.title}')}"
        )
        lines.append(
            f"::{GITHUB_LEVEL[finding.severity]} {properties}::"
            f"{_github_data(f'[{finding.severity}] {finding.message}')}"
        )
    failing = blocking(analysis.problems)
    for problem in analysis.problems:
        where = f"file={_github_property(problem.file)}"
        if problem.span is not None:
            where += f",line={problem.span.start_line + 1},col={problem.span.start_col + 1}"
        level = "error" if problem in failing else "notice"
        lines.append(f"::{level} {where},title=aiiac-ls::{_github_data(problem.message)}")
    if len(ranked) > limit:
        lines.append(
            f"::notice title=aiiac-ls::{len(ranked) - limit} more findings (less severe) are in the job summary"
        )
    return "".join(line + "\n" for line in lines)


def to_junit(analysis: Analysis) -> str:
    """One test case per analysed file (passed when clean) plus one failing case per finding."""
    cases = []
    by_file: dict[str, list[Finding]] = {}
    for finding in analysis.findings:
        by_file.setdefault(finding.file, []).append(finding)
    problems_by_file: dict[str, list] = {}
    for problem in blocking(analysis.problems):
        problems_by_file.setdefault(problem.file, []).append(problem)
    for path in sorted(set(analysis.sources) | set(by_file) | set(problems_by_file)):
        for finding in by_file.get(path, []):
            span = finding.span
            name = f"{finding.rule} {finding.resource or path}:{span.start_line + 1}"
            detail = f"{path}:{span.start_line + 1}:{span.start_col + 1}: {finding.message}"
            cases.append(
                f"    <testcase classname={quoteattr(path)} name={quoteattr(name)}>\n"
                f"      <failure type={quoteattr(finding.severity)} message={quoteattr(finding.title)}>"
                f"{escape(detail)}</failure>\n    </testcase>"
            )
        for problem in problems_by_file.get(path, []):
            cases.append(
                f'    <testcase classname={quoteattr(path)} name="analysis">\n'
                f"      <error type={quoteattr(problem.kind)} message={quoteattr(problem.message)}/>\n"
                f"    </testcase>"
            )
        if path not in by_file and path not in problems_by_file:
            cases.append(f'    <testcase classname={quoteattr(path)} name="aiiac-ls"/>')
    failures = len(analysis.findings)
    errors = sum(len(items) for items in problems_by_file.values())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="aiiac-ls" tests="{len(cases)}" failures="{failures}" errors="{errors}">\n'
        f'  <testsuite name="aiiac-ls" tests="{len(cases)}" failures="{failures}" errors="{errors}">\n'
        + "\n".join(cases)
        + ("\n" if cases else "")
        + "  </testsuite>\n</testsuites>\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _finding_rows(findings: list[Finding]) -> list[str]:
    rows = ["| Severity | Rule | Location | Finding |", "|---|---|---|---|"]
    for finding in findings:
        span = finding.span
        rows.append(
            f"| {finding.severity} | `{finding.rule}` | `{_cell(span.file)}:{span.start_line + 1}` | "
            f"{_cell(finding.message)} |"
        )
    return rows


def _compliance_rows(findings: list[Finding]) -> list[str]:
    """Per framework and control: how many findings concern it, of which rules (the rules'
    `compliance` mapping); controls with the most findings first."""
    from ..rules import COMPLIANCE_FRAMEWORKS, get_rule

    by_control: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        rule = get_rule(finding.rule)
        for framework, controls in (rule.compliance if rule else {}).items():
            for control in controls:
                by_control.setdefault((framework, control), []).append(finding)
    if not by_control:
        return []
    out = ["### Compliance", ""]
    for framework, name in COMPLIANCE_FRAMEWORKS.items():
        rows = [(control, found) for (fw, control), found in by_control.items() if fw == framework]
        if not rows:
            continue
        out += [f"**{name}**", "", "| Control | Findings | Rules |", "|---|---|---|"]
        for control, found in sorted(rows, key=lambda row: (-len(row[1]), row[0])):
            rules = ", ".join(f"`{rule}`" for rule in sorted({f.rule for f in found}))
            out.append(f"| {control} | {len(found)} ({_counts(found)}) | {rules} |")
        out.append("")
    return out


def _counts(findings: list[Finding]) -> str:
    counts = Counter(finding.severity for finding in findings)
    return ", ".join(f"{counts[level]} {level}" for level in reversed(SEVERITIES) if counts[level]) or "none"


def to_markdown(analysis: Analysis, blast=None) -> str:
    """A report for a pull-request comment; with `--diff`, the blast radius of the change first."""
    out = ["## aiiac-ls", ""]
    if blast is not None:
        out += [
            f"Compared with `{_cell(blast.revision)}` ({blast.commit[:12]}): "
            f"**{len(blast.new)} new** ({_counts(blast.new)}), {len(blast.fixed)} fixed, "
            f"{len(blast.unchanged)} unchanged findings.",
            "",
        ]
        out += ["### Blast radius", ""]
        if blast.resources:
            out += ["| Change | Resource | File | Why |", "|---|---|---|---|"]
            for change in blast.resources:
                why = (
                    ("through " + ", ".join(f"`{_cell(p)}`" for p in change.because))
                    if change.indirect
                    else "its own configuration"
                )
                out.append(f"| {change.status} | `{_cell(change.address)}` | `{_cell(change.file)}` | {why} |")
        else:
            out.append("No resource configuration changed.")
        out.append("")
        if blast.changed_files:
            out += [
                f"Changed files: {', '.join(f'`{_cell(path)}` ({status})' for status, path in blast.changed_files)}",
                "",
            ]
        if blast.new:
            out += ["### New findings", "", *_finding_rows(blast.new), ""]
        if blast.fixed:
            out += ["### Fixed findings", "", *_finding_rows(blast.fixed), ""]
        return "\n".join(out) + "\n"
    out.append(
        f"{len(analysis.findings)} findings ({_counts(analysis.findings)}) in {analysis.files} files"
        + (f"; {analysis.baselined} more in the baseline" if analysis.baselined else "")
        + "."
    )
    out.append("")
    if analysis.findings:
        out += [*_finding_rows(analysis.findings), ""]
        out += _compliance_rows(analysis.findings)
    problems = blocking(analysis.problems)
    if problems:
        out += ["### Files that could not be analysed", ""]
        out += [f"- `{_cell(p.file)}`: {_cell(p.message)}" for p in problems]
        out.append("")
    return "\n".join(out) + "\n"
