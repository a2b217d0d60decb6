"""Suppression comments applied to findings (`# aiiac:ignore`, and Checkov/tfsec/Trivy/KICS
comments through the rules' equivalents), and the findings about the comments themselves:
AIS001 (no reason given) and AIS002 (unknown rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import Config
from ..model.findings import Finding, Hit
from ..model.nodes import Entry, Mapping, Node, Scalar, Span
from ..model.resources import Resource
from ..rules import Rule, get_rule
from ..suppress import Directive, candidate_lines, may_have_directives, parse_directives
from .analysis import Analysis

if TYPE_CHECKING:
    from ..policy.loader import PolicySet


class Suppressing:
    """The engine's suppression half (`Engine` is made of it)."""

    config: Config
    config_of: Callable[[str], Config]  # Engine's: the configuration of one file
    rules: list[Rule]  # the enabled rules
    policies: PolicySet  # the custom rules configured (a Rego policy may name any rule id)
    _string_lines: dict[int, list[tuple[int, int]]]  # id(resource) -> its multi-line strings, this analysis

    def _comment_line(self, resource: Resource, span: Span) -> int:
        """The line a suppression comment for a finding at `span` can go on: the finding's own
        line, or the resource's first line when the finding is inside a multi-line string of the
        resource (a heredoc policy), where a `#` would be part of the text."""
        line = span.start_line
        if resource.file == span.file:
            strings = self._string_lines.get(id(resource))
            if strings is None:
                strings = self._string_lines[id(resource)] = _multiline_strings(resource)
            if any(start < line <= end for start, end in strings):
                return resource.head.start_line
        return line

    def _directives(self, path: str, analysis: Analysis) -> dict[int, list[Directive]]:
        cache = analysis.__dict__.setdefault("_directives", {})
        if path not in cache:
            source = analysis.sources.get(path)
            cache[path] = parse_directives(path, source.lines) if source and may_have_directives(source.text) else {}
        return cache[path]

    def _suppressed(self, finding: Finding, resource: Resource, hit: Hit, analysis: Analysis) -> bool:
        if resource.source == "kubernetes" and _checkov_skipped(resource, finding):
            return True
        directives = self._directives(finding.span.file, analysis)
        if not directives:
            return False
        source = analysis.sources.get(finding.span.file)
        if source is None:
            return False
        target = hit.at.value if isinstance(hit.at, Entry) else hit.at
        anchors = [resource.head.start_line] if resource.file == finding.span.file else []
        if isinstance(target, Node):
            for entry, _ in resource.ancestors(target):
                if entry is not None and entry.key_span is not None and entry.key_span.file == finding.span.file:
                    anchors.append(entry.key_span.start_line)
        for line in candidate_lines(source.lines, finding.span.start_line, anchors):
            for directive in directives.get(line, ()):
                if directive.covers(finding.rule, finding.equivalents):
                    analysis.used_directives.add(directive.span)
                    return True
        return False

    def _suppression_findings(self, analysis: Analysis) -> None:
        """AIS001 (no reason) and AIS002 (unknown rule) for every suppression comment read."""
        enabled = {rule.id for rule in self.rules}
        for path in list(analysis.sources):
            for directives in self._directives(path, analysis).values():
                for directive in directives:
                    if directive.tool == "kics":
                        continue
                    if directive.tool != "aiiac" and directive.span not in analysis.used_directives:
                        continue  # another scanner's comment that silences nothing of ours: not ours to judge
                    if directive.tool == "aiiac":
                        unknown = [i for i in directive.ids if not self._known_rule(i)] or (
                            [] if directive.ids else ["(none)"]
                        )
                        if unknown and "AIS002" in enabled and self.config_of(path).rule_enabled("AIS002"):
                            analysis.findings.append(
                                self._meta_finding(
                                    "AIS002", directive, f"suppression names unknown rule {', '.join(unknown)}"
                                )
                            )
                    if not directive.reason and "AIS001" in enabled and self.config_of(path).rule_enabled("AIS001"):
                        analysis.findings.append(
                            self._meta_finding(
                                "AIS001", directive, "suppression gives no reason (add `-- why this is acceptable`)"
                            )
                        )

    def _unchecked_source_findings(self, analysis: Analysis) -> None:
        """AIS003 for each module call whose code is not installed, AIS007 for each whose source
        can change (no commit, no version), AIS004 for each remote
        kustomize resource, AIS005 for each chart whose dependencies are not vendored, AIS006 for
        each GitOps release of a chart from elsewhere: unless a comment on the line suppresses it."""
        reports = [("AIS003", address, span, message) for address, span, message in analysis.uninstalled_modules]
        reports += [("AIS007", address, span, message) for address, span, message in analysis.unpinned_modules]
        reports += [
            ("AIS004", "", span, f"remote resource {what} is not fetched: its objects are not checked")
            for span, what in analysis.remote_resources
        ]
        reports += [
            ("AIS006", "", span, f"{what}, not in this repository: its objects are not checked")
            for span, what in analysis.remote_charts
        ]
        reports += [
            (
                "AIS005",
                "",
                span,
                f"chart `{chart}` depends on {', '.join(f'`{name}`' for name in missing)}, not in its charts/ folder: "
                "run `helm dependency build`; what they render"
                + (f" and the {unrendered} template{'s' if unrendered != 1 else ''} using them" if unrendered else "")
                + " are not checked",
            )
            for span, chart, missing, unrendered in analysis.unvendored_charts
        ]
        seen: set[tuple[str, Span]] = set()
        for rule_id, address, span, message in reports:
            rule = get_rule(rule_id)
            if rule is None or not self.config_of(span.file).rule_enabled(rule_id) or (rule_id, span) in seen:
                continue
            seen.add((rule_id, span))
            directives = self._directives(span.file, analysis)
            source = analysis.sources.get(span.file)
            if directives and source is not None:
                lines = candidate_lines(source.lines, span.start_line, [])
                used = [d for line in lines for d in directives.get(line, ()) if d.covers(rule_id, rule.equivalents)]
                if used:
                    analysis.used_directives.update(d.span for d in used)
                    analysis.suppressed += 1
                    continue
            analysis.findings.append(
                Finding(
                    rule=rule_id,
                    severity=self.config_of(span.file).severity.get(rule_id, rule.severity),
                    title=rule.title,
                    message=message,
                    span=span,
                    resource=address,
                    equivalents=rule.equivalents,
                )
            )

    def _known_rule(self, rule_id: str) -> bool:
        """Rego rules exist only once a finding names them; with Rego policies configured, any
        well-formed custom id may be one."""
        if get_rule(rule_id) is not None:
            return True
        return self.policies.rego is not None and not rule_id.upper().startswith("AIS")

    def _meta_finding(self, rule_id: str, directive: Directive, message: str) -> Finding:
        rule = get_rule(rule_id)
        assert rule is not None
        return Finding(
            rule=rule_id,
            severity=self.config_of(directive.span.file).severity.get(rule_id, rule.severity),
            title=rule.title,
            message=message,
            span=directive.span,
            resource="",
            equivalents=rule.equivalents,
        )


def _multiline_strings(resource: Resource) -> list[tuple[int, int]]:
    """The (first, last) lines of the strings of `resource` written over several lines in its
    own file (a heredoc, a YAML block scalar)."""
    return [
        (node.span.start_line, node.span.end_line)
        for node in resource.body.walk()
        if isinstance(node, Scalar)
        and isinstance(node.value, str)
        and node.span is not None
        and node.span.file == resource.file
        and node.span.end_line > node.span.start_line
    ]


def _checkov_skipped(resource: Resource, finding: Finding) -> bool:
    """Checkov's own way to skip a check on a Kubernetes object: `checkov.io/skip1:
    CKV_K8S_20=reason` annotations, matched on the finding's own Checkov equivalents."""
    skipped = resource.memo.get("checkov skips")
    if skipped is None:  # (read once per object, not once per finding)
        metadata = resource.body.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
        skipped = resource.memo["checkov skips"] = frozenset(
            str(value.value).split("=", 1)[0].strip().upper()
            for key, value in (annotations.items() if isinstance(annotations, Mapping) else ())
            if key.startswith("checkov.io/skip") and isinstance(value, Scalar) and value.value
        )
    return bool(skipped) and any(check.upper() in skipped for check in finding.equivalents.get("checkov", []))
