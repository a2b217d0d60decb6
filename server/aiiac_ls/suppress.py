"""Inline suppressions: `# aiiac:ignore AIS101 -- reason`, and other scanners' comments.

A suppression applies on the finding's line, or in the comment block directly above the
finding's line, above any enclosing key or block, or above the resource itself. Checkov
(`#checkov:skip=CKV_K8S_23:reason`), tfsec (`#tfsec:ignore:aws-s3-block-public-acls`) and
Trivy (`#trivy:ignore:AVD-AWS-0086`) comments are honoured through each rule's `equivalents`,
so teams migrating keep their annotations. KICS' `# kics-scan ignore-line` silences every rule
on the line below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model.nodes import Span
from .rules import RULE_ID_PATTERN as _RULE_ID

_COMMENT = re.compile(r"(?:^|\s)(?:#|//)\s*(.*)$")
_AIIAC = re.compile(r"aiiac:ignore\b\s*(.*)$", re.I)

_AIIAC_IDS = re.compile(rf"^({_RULE_ID}(?:\s*,\s*{_RULE_ID})*)\b\s*(.*)$", re.I)
_CHECKOV = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", re.I)
_TFSEC = re.compile(r"(tfsec|trivy):ignore:([A-Za-z0-9_-]+)(.*)$", re.I)
_KICS = re.compile(r"kics-scan\s+ignore-line", re.I)


@dataclass
class Directive:
    line: int
    span: Span
    tool: str  # aiiac | checkov | tfsec | trivy | kics
    ids: tuple[str, ...]  # empty for kics ignore-line (all rules)
    reason: str

    def covers(self, rule_id: str, equivalents: dict[str, list[str]]) -> bool:
        if self.tool == "kics":
            return True
        if self.tool == "aiiac":
            return rule_id in self.ids
        known = equivalents.get(self.tool, [])
        if self.tool == "trivy":  # trivy accepts both AVD IDs and the long tfsec-style names
            known = known + equivalents.get("tfsec", [])
        lowered = {item.lower() for item in known}
        return any(identifier.lower() in lowered for identifier in self.ids)


def _reason(text: str) -> str:
    """The free text after the IDs, up to any further `#` comment on the line."""
    text = re.split(r"\s#", " " + text, maxsplit=1)[0]
    return text.strip().lstrip("-:").strip()


def may_have_directives(text: str) -> bool:
    """False when no line of `text` can hold a suppression comment (most files): then its lines
    need not even be split."""
    return "aiiac" in text or ":skip=" in text or ":ignore:" in text or "kics-scan" in text


def parse_directives(path: str, lines: list[str]) -> dict[int, list[Directive]]:
    """Suppression comments by 0-based line."""
    found: dict[int, list[Directive]] = {}
    for index, line in enumerate(lines):
        if "aiiac" not in line and ":skip=" not in line and ":ignore:" not in line and "kics-scan" not in line:
            continue
        comment = _COMMENT.search(line)
        if not comment:
            continue
        text = comment.group(1)
        col = comment.start(0) + (1 if line[comment.start(0)].isspace() else 0)  # at the `#`
        span = Span(path, index, col, index, len(line))
        directive = None
        if match := _AIIAC.search(text):
            ids_match = _AIIAC_IDS.match(match.group(1).strip())
            ids: tuple[str, ...] = ()
            reason = match.group(1)
            if ids_match:
                ids = tuple(part.strip().upper() for part in ids_match.group(1).split(","))
                reason = ids_match.group(2)
            directive = Directive(index, span, "aiiac", ids, _reason(reason))
        elif match := _CHECKOV.search(text):
            directive = Directive(index, span, "checkov", (match.group(1),), _reason(match.group(2) or ""))
        elif match := _TFSEC.search(text):
            directive = Directive(index, span, match.group(1).lower(), (match.group(2),), _reason(match.group(3)))
        elif _KICS.search(text):
            directive = Directive(index + 1, span, "kics", (), "kics-scan ignore-line")
        if directive is not None:
            found.setdefault(directive.line, []).append(directive)
    return found


def _is_comment_line(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("#", "//"))


def candidate_lines(lines: list[str], finding_line: int, anchor_lines: list[int]) -> list[int]:
    """Lines whose directives apply: the finding's line, and the comment block above it and above
    each anchor (enclosing keys, the resource header)."""
    candidates = [finding_line]
    for anchor in [finding_line, *anchor_lines]:
        line = anchor - 1
        while line >= 0 and _is_comment_line(lines[line]):
            candidates.append(line)
            line -= 1
    return candidates
