"""Human output: one header line per finding, a code frame per place (findings at the same place,
such as one container's hardening gaps, share theirs), a per-rule summary. Colour only on a TTY."""

from __future__ import annotations

from collections import Counter

from ..engine import Analysis
from ..model.findings import SEVERITIES, Finding
from ..secrets import redact_text
from . import blocking, masked_line

_COLOURS = {"critical": "\033[1;35m", "high": "\033[1;31m", "medium": "\033[1;33m", "low": "\033[1;36m"}
_BOLD, _DIM, _RESET, _BLUE = "\033[1m", "\033[2m", "\033[0m", "\033[1;34m"


def render(analysis: Analysis, colour: bool = False, show_frames: bool = True, blast=None) -> str:
    def c(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    secrets = {path: [tuple(span[1:]) for span in spans] for path, spans in analysis.secret_spans.items()}

    out: list[str] = []
    findings = analysis.findings
    for index, finding in enumerate(findings):
        span = finding.span
        location = f"{span.file}:{span.start_line + 1}:{span.start_col + 1}:"
        severity = c(_COLOURS.get(finding.severity, ""), finding.severity)
        fixable = c(_DIM, " [*]") if finding.fix and not finding.fix.unsafe else ""
        out.append(f"{c(_BOLD, location)} {c(_BOLD, finding.rule)} [{severity}] {finding.message}{fixable}")
        if index + 1 < len(findings) and findings[index + 1].span == span:
            continue  # several gaps of one container: their headers, then one frame
        source = analysis.sources.get(span.file)
        if show_frames and source is not None:
            out.extend(_frame(source.lines, span, secrets.get(span.file, []), c))
            out.append("")
    for problem in analysis.problems:
        where = problem.file
        if problem.span is not None:
            where += f":{problem.span.start_line + 1}:{problem.span.start_col + 1}"
        label = {"syntax": "error", "internal": "internal error", "skipped": "skipped"}.get(problem.kind, problem.kind)
        out.append(
            f"{c(_BOLD, where + ':')} {c(_COLOURS['high'] if problem.kind != 'skipped' else _DIM, label)}: "
            f"{problem.message}"
        )
    if blast is not None:
        out.extend(_blast_lines(blast, c))
    if len(analysis.findings) > 1:
        out.extend(_by_rule(analysis, c))
    out.append(_summary(analysis, c))
    return "\n".join(out) + "\n"


def _blast_lines(blast, c) -> list[str]:
    """The --diff section: what the change touches and what it does to the findings."""
    lines = [c(_BOLD, f"Blast radius against {blast.revision} ({blast.commit[:12]}):")]
    for change in blast.resources:
        why = f" (through {', '.join(change.because)})" if change.indirect else ""
        lines.append(f"  {change.status:<8} {change.address}  {change.file}{why}")
    if not blast.resources:
        lines.append("  no resource configuration changed")
    for finding in blast.fixed:
        lines.append(f"  fixed    {finding.rule} {finding.file}:{finding.span.start_line + 1} {finding.message}")
    lines.append(f"  {len(blast.new)} new, {len(blast.fixed)} fixed, {len(blast.unchanged)} unchanged findings")
    lines.append("")
    return lines


def _frame(lines: list[str], span, secret_spans, c) -> list[str]:
    first = max(span.start_line - 1, 0)
    last = min(span.end_line if span.end_line > span.start_line else span.start_line + 1, len(lines) - 1)
    last = min(last, span.start_line + 4)
    width = len(str(last + 1))
    rows = [c(_BLUE, " " * width + " |")]
    for number in range(first, last + 1):
        text = redact_text(masked_line(lines[number], secret_spans, number)).expandtabs(1)
        rows.append(f"{c(_BLUE, str(number + 1).rjust(width) + ' |')} {text}")
        if number == span.start_line:
            end = span.end_col if span.end_line == span.start_line else len(lines[number])
            carets = "^" * max(end - span.start_col, 1)
            rows.append(f"{c(_BLUE, ' ' * width + ' |')} {' ' * span.start_col}{c(_COLOURS['high'], carets)}")
    rows.append(c(_BLUE, " " * width + " |"))
    return rows


def _by_rule(analysis: Analysis, c) -> list[str]:
    """One line per rule, most findings first: where the work is, and what --fix does to it."""
    counts = Counter(finding.rule for finding in analysis.findings)
    fixable = Counter(finding.rule for finding in analysis.findings if finding.fix and not finding.fix.unsafe)
    first: dict[str, Finding] = {}
    for finding in analysis.findings:
        first.setdefault(finding.rule, finding)
    width = len(str(max(counts.values())))
    lines = [c(_BOLD, "Findings by rule:")]
    for rule, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        finding = first[rule]
        level = c(_COLOURS.get(finding.severity, ""), finding.severity)
        fixes = f" ({fixable[rule]} fixable)" if fixable[rule] else ""
        lines.append(f"  {str(count).rjust(width)}  {c(_BOLD, rule)}  {finding.title} [{level}]{fixes}")
    lines.append("")
    return lines


def _summary(analysis: Analysis, c) -> str:
    counts = Counter(finding.severity for finding in analysis.findings)
    fixable = sum(1 for finding in analysis.findings if finding.fix and not finding.fix.unsafe)
    unsafe = sum(1 for finding in analysis.findings if finding.fix and finding.fix.unsafe)
    total = len(analysis.findings)
    files = f"{analysis.files} file{'s' if analysis.files != 1 else ''}"
    if not total:
        text = f"No findings in {files}."
    else:
        parts = ", ".join(f"{counts[level]} {level}" for level in reversed(SEVERITIES) if counts[level])
        text = f"Found {total} finding{'s' if total != 1 else ''} ({parts}) in {files}."
        if fixable:
            text += f" {fixable} fixable with --fix."
        if unsafe:
            text += f" {unsafe} more fixable with --unsafe-fixes."
    if analysis.suppressed:
        text += f" {analysis.suppressed} suppressed."
    if analysis.baselined:
        text += f" {analysis.baselined} more in the baseline."
    if analysis.below_threshold:
        text += f" {analysis.below_threshold} below the severity threshold not shown."
    uninstalled = len(analysis.uninstalled_modules)
    if uninstalled:
        text += f" {uninstalled} module call{'s' if uninstalled != 1 else ''} not installed (run terraform init)."
    problems = blocking(analysis.problems)
    if problems:
        text += f" {len(problems)} file problem{'s' if len(problems) != 1 else ''}."
    skipped = sum(1 for problem in analysis.problems if problem.kind == "skipped")
    if skipped:
        text += f" {skipped} skipped."
    return c(_BOLD, text)
