"""Findings, problems and fixes as LSP objects, in the client's position encoding."""

from __future__ import annotations

from collections.abc import Callable

import attrs
from lsprotocol import types
from pygls.uris import from_fs_path

from ..fixes import TextEdit
from ..model.findings import Finding, Problem
from ..model.nodes import Span
from ..rules import Rule, get_rule
from .positions import Encoder

SOURCE = "aiiac"
_SEVERITY = {
    "critical": types.DiagnosticSeverity.Error,
    "high": types.DiagnosticSeverity.Error,
    "medium": types.DiagnosticSeverity.Warning,
    "low": types.DiagnosticSeverity.Information,
}

LinesOf = Callable[[str], list[str]]  # absolute path -> its lines (LSP line breaks)


def to_range(span: Span, lines: list[str], encoder: Encoder) -> types.Range:
    def position(line: int, col: int) -> types.Position:
        text = lines[line] if 0 <= line < len(lines) else ""
        return types.Position(line=line, character=encoder.to_client(text, col))

    return types.Range(start=position(span.start_line, span.start_col), end=position(span.end_line, span.end_col))


def clamped(diagnostic: types.Diagnostic, lines: list[str], encoder: Encoder) -> types.Diagnostic:
    """`diagnostic` with its range moved inside `lines`: an analysis that newer edits overtook
    was converted against its own text, which may now be longer than the document."""

    def inside(position: types.Position) -> types.Position:
        if not lines:
            return types.Position(line=0, character=0)
        if position.line >= len(lines):
            return types.Position(line=len(lines) - 1, character=encoder.to_client(lines[-1], len(lines[-1])))
        last = encoder.to_client(lines[position.line], len(lines[position.line]))
        return position if position.character <= last else types.Position(line=position.line, character=last)

    start, end = inside(diagnostic.range.start), inside(diagnostic.range.end)
    if (start, end) == (diagnostic.range.start, diagnostic.range.end):
        return diagnostic
    return attrs.evolve(diagnostic, range=types.Range(start=start, end=end))


def from_position(position: types.Position, lines: list[str], encoder: Encoder) -> tuple[int, int]:
    text = lines[position.line] if 0 <= position.line < len(lines) else ""
    return position.line, encoder.from_client(text, position.character)


def diagnostic(finding: Finding, lines_of: LinesOf, encoder: Encoder) -> types.Diagnostic:
    rule = get_rule(finding.rule)
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=from_fs_path(span.file), range=to_range(span, lines_of(span.file), encoder)),
            message=message,
        )
        for span, message in finding.related
    ]
    return types.Diagnostic(
        range=to_range(finding.span, lines_of(finding.file), encoder),
        message=f"{finding.message} ({finding.title})"
        if rule and finding.title != finding.message
        else finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href=rule.url) if rule else None,
        source=SOURCE,
        related_information=related or None,
        # no `data`: the code names the rule, quick fixes are computed when asked for, and no
        # client reads it; it was a tenth of a 20,000-line module's 7,000 diagnostics
    )


MAX_NEIGHBOURS = 5  # findings named in full beside a diagnostic; the rest by rule ID


def with_neighbours(diagnostic: types.Diagnostic, others: list[Finding]) -> types.Diagnostic:
    """The diagnostic with the other findings at its place as related information ("also here:
    AIS104 ..."), so an editor shows one container's gaps as one problem with several fixes."""
    neighbours = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=from_fs_path(other.span.file), range=diagnostic.range),
            message=f"also here: {other.rule} {other.message}" + (" (quick fix)" if other.fix is not None else ""),
        )
        for other in others[:MAX_NEIGHBOURS]
    ]
    if len(others) > MAX_NEIGHBOURS:  # the list stays readable, and the message small
        rest = ", ".join(other.rule for other in others[MAX_NEIGHBOURS:])
        neighbours.append(
            types.DiagnosticRelatedInformation(location=neighbours[0].location, message=f"also here: {rest}")
        )
    return attrs.evolve(diagnostic, related_information=[*(diagnostic.related_information or []), *neighbours])


def problem_diagnostic(problem: Problem, lines: list[str], encoder: Encoder) -> types.Diagnostic:
    span = problem.span or Span(problem.file, 0, 0, 0, 0)
    if (span.start_line, span.start_col) == (span.end_line, span.end_col):
        line = lines[span.start_line] if 0 <= span.start_line < len(lines) else ""
        span = Span(span.file, span.start_line, span.start_col, span.start_line, max(len(line), span.start_col))
    code = {"syntax": "syntax-error", "internal": "internal-error"}.get(problem.kind, "not-analysed")
    severity = (
        types.DiagnosticSeverity.Error
        if problem.kind in ("syntax", "internal", "error")
        else types.DiagnosticSeverity.Information
    )
    return types.Diagnostic(
        range=to_range(span, lines, encoder), message=problem.message, severity=severity, code=code, source=SOURCE
    )


def workspace_edit(
    edits: list[TextEdit], lines_of: LinesOf, encoder: Encoder, version_of: Callable[[str], int | None]
) -> types.WorkspaceEdit:
    by_file: dict[str, list[TextEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.span.file, []).append(edit)
    changes = []
    for path, file_edits in by_file.items():
        lines = lines_of(path)
        changes.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=from_fs_path(path), version=version_of(path)
                ),
                edits=[types.TextEdit(range=to_range(e.span, lines, encoder), new_text=e.new_text) for e in file_edits],
            )
        )
    return types.WorkspaceEdit(document_changes=changes)


def ignore_edit(finding: Finding, lines: list[str]) -> TextEdit:
    """`# aiiac:ignore AISxxx -- reason` at the end of the finding's line, or on its own line
    above the resource where the engine says the finding is inside a multi-line string."""
    comment = f"aiiac:ignore {finding.rule} -- reason"
    line, path = finding.span.start_line, finding.file
    if finding.comment_line is not None and finding.comment_line != line:
        text = lines[finding.comment_line] if finding.comment_line < len(lines) else ""
        indent = text[: len(text) - len(text.lstrip())]
        return TextEdit(Span(path, finding.comment_line, 0, finding.comment_line, 0), f"{indent}# {comment}\n")
    text = lines[line] if line < len(lines) else ""
    end = len(text.rstrip())
    return TextEdit(Span(path, line, end, line, len(text)), f"  # {comment}")


def rule_markdown(rule: Rule, finding: Finding | None = None) -> str:
    parts = [f"**{rule.id}** · {rule.title} · *{finding.severity if finding else rule.severity}*"]
    if finding is not None:
        parts.append(finding.message)
    parts += [f"**Why it matters.** {rule.rationale}", f"**Fix.** {rule.remediation}"]
    equivalents = ", ".join(f"{tool} {', '.join(ids)}" for tool, ids in rule.equivalents.items() if ids)
    if equivalents:
        parts.append(f"Equivalent: {equivalents}")
    if rule.compliance:
        parts.append("Compliance: " + "; ".join(f"{name} {', '.join(ids)}" for name, ids in rule.compliance.items()))
    parts.append(f"[{rule.id} documentation]({rule.url})")
    return "\n\n".join(parts)
