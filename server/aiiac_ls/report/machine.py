"""Machine output: the stable JSON contract and SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from .. import __version__
from ..engine import Analysis
from ..rules import Rule
from . import fingerprints

SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _blast_json(blast) -> dict:
    return {
        "revision": blast.revision,
        "commit": blast.commit,
        "changed_files": [{"status": status, "file": path} for status, path in blast.changed_files],
        "resources": [
            {"status": c.status, "resource": c.address, "file": c.file, "because": c.because} for c in blast.resources
        ],
        "findings": {
            "new": [f.fingerprint for f in blast.new],
            "unchanged": [f.fingerprint for f in blast.unchanged],
            "fixed": [
                {
                    "rule": f.rule,
                    "file": f.file,
                    "line": f.span.start_line + 1,
                    "resource": f.resource,
                    "message": f.message,
                    "fingerprint": f.fingerprint,
                }
                for f in blast.fixed
            ],
        },
    }


# the keys of a finding in the JSON report, in order ("related" follows when there are some)
_FINDING_KEYS = (
    "rule",
    "severity",
    "title",
    "message",
    "file",
    "line",
    "column",
    "end_line",
    "end_column",
    "resource",
    "equivalents",
    "fixable",
    "fix_safety",
    "fingerprint",
)
_STREAMED = object()  # stands for a list that `_streamed_json` writes item by item


def _streamed_json(document: dict, items: Callable[[str], Iterator[str]]) -> Iterator[str]:
    """`json.dumps(document, indent=2)` with the one value that is `_STREAMED` replaced by the
    items, encoded one at a time (`items(inner)`: their texts, with each line break followed by
    `inner`): a scan with 100,000 findings never holds them all as objects, nor the whole report
    as one string (the report of 20,000 buckets peaked at 700 MB)."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=lambda _: "\0")
    head, _, tail = text.partition(_PLACEHOLDER)
    key_line = head[head.rfind("\n") + 1 :]
    key_indent = key_line[: len(key_line) - len(key_line.lstrip(" "))]
    inner = "\n" + key_indent + "  "
    yield head
    first = True
    for item in items(inner):
        yield ("[" if first else ",") + inner + item
        first = False
    yield "[]" if first else "\n" + key_indent + "]"
    yield tail + "\n"


_PLACEHOLDER = json.dumps("\0")
_STRING = json.encoder.encode_basestring  # (in C where the json accelerator is, as nearly always)


def indented(value, inner: str = "\n") -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)` with each line break followed by
    `inner` instead of a bare one: `indent` makes `json` encode in Python, which took 2.5 s of
    the report of 100,000 findings; this one builds it from strings encoded in C."""
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    kind = type(value)
    if kind is Shared:
        text = value.texts.get(inner)
        if text is None:
            text = value.texts[inner] = indented(value.value, inner)
        return text
    deeper = inner + "  "
    if kind is dict:
        parts = []
        for key, item in value.items():
            if type(key) is not str:  # (json turns other keys into strings its own way)
                return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", inner)
            item_kind = type(item)  # the common scalars inline: a call each is a third of the time
            if item_kind is str:
                text = _STRING(item)
            elif item_kind is int:
                text = int.__repr__(item)
            elif item_kind is bool:
                text = "true" if item else "false"
            elif item is None:
                text = "null"
            else:
                text = indented(item, deeper)
            parts.append(deeper + _STRING(key) + ": " + text)
        return "{" + ",".join(parts) + inner + "}" if parts else "{}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        return "[" + ",".join([deeper + indented(item, deeper) for item in value]) + inner + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", inner)  # floats, subclasses


class Shared:
    """A value that many items of a report hold (a rule's equivalents), encoded once for each
    indentation it is written at."""

    __slots__ = ("value", "texts")

    def __init__(self, value) -> None:
        self.value = value
        self.texts: dict[str, str] = {}


def _scalar(value) -> str | None:
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return None


def to_json(analysis: Analysis, blast=None) -> str:
    return "".join(json_chunks(analysis, blast))


def json_chunks(analysis: Analysis, blast=None) -> Iterator[str]:
    """The JSON report in pieces, for writing as it is made."""
    prints = fingerprints(analysis.findings, analysis.sources)

    shared: dict[int, Shared] = {}  # by id of a findings' equivalents (each rule's, nearly always)

    def findings(inner: str) -> Iterator[str]:
        """Each finding's object, written as `indented` would write its dict (a test compares),
        from one template: 100,000 findings took 1.4 s as dicts, 0.4 s this way."""
        deeper = inner + "  "
        template = "{" + ",".join(deeper + f'"{key}": %s' for key in _FINDING_KEYS)
        for finding, print_ in zip(analysis.findings, prints, strict=True):
            equivalents = shared.get(id(finding.equivalents))
            if equivalents is None:  # (the findings keep theirs alive: the ids stay theirs)
                equivalents = shared[id(finding.equivalents)] = Shared(
                    {tool: finding.equivalents.get(tool, []) for tool in ("checkov", "trivy", "kics", "kube-linter")}
                )
            span, fix = finding.span, finding.fix
            text = template % (
                _STRING(finding.rule),
                _STRING(finding.severity),
                _STRING(finding.title),
                _STRING(finding.message),
                _STRING(finding.file),
                span.start_line + 1,
                span.start_col + 1,
                span.end_line + 1,
                span.end_col + 1,
                _STRING(finding.resource),
                indented(equivalents, deeper),
                "false" if fix is None else "true",
                "null" if fix is None else '"unsafe"' if fix.unsafe else '"safe"',
                _STRING(print_),
            )
            if finding.related:
                related = [
                    {
                        "file": where.file,
                        "line": where.start_line + 1,
                        "column": where.start_col + 1,
                        "end_line": where.end_line + 1,
                        "end_column": where.end_col + 1,
                        "message": message,
                    }
                    for where, message in finding.related
                ]
                text += "," + deeper + '"related": ' + indented(related, deeper)
            yield text + inner + "}"

    errors = []
    for problem in analysis.problems:
        entry: dict[str, str | int] = {"file": problem.file, "kind": problem.kind, "message": problem.message}
        if problem.span is not None:
            entry.update(line=problem.span.start_line + 1, column=problem.span.start_col + 1)
        errors.append(entry)
    document = {"version": __version__, "findings": _STREAMED, "errors": errors}
    if analysis.uninstalled_modules:
        document["modules_not_installed"] = [address for address, _, _ in analysis.uninstalled_modules]
    if analysis.baselined:
        document["baselined"] = analysis.baselined
    if blast is not None:
        document["diff"] = _blast_json(blast)
    yield from _streamed_json(document, findings)


def _sarif_rule(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name or rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary or rule.title},
        "help": {"text": f"{rule.rationale}\n\nFix: {rule.remediation}", "markdown": rule.markdown()},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", *rule.compliance_tags],
            "equivalents": {k: v for k, v in rule.equivalents.items() if v},
        },
    }


def to_sarif(analysis: Analysis, rules: list[Rule]) -> str:
    return "".join(sarif_chunks(analysis, rules))


def sarif_chunks(analysis: Analysis, rules: list[Rule]) -> Iterator[str]:
    """The SARIF log in pieces, for writing as it is made."""
    index = {rule.id: position for position, rule in enumerate(rules)}
    prints = fingerprints(analysis.findings, analysis.sources)
    return _streamed_sarif(analysis, rules, index, prints)


def _results(analysis: Analysis, index: dict[str, int], prints: list[str]) -> Iterator[dict]:
    for finding, print_ in zip(analysis.findings, prints, strict=True):
        span = finding.span
        result = {
            "ruleId": finding.rule,
            "ruleIndex": index.get(finding.rule, 0),
            "level": SARIF_LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": span.file.replace("\\", "/")},
                        "region": _region(span),
                    },
                    "logicalLocations": [{"fullyQualifiedName": finding.resource}] if finding.resource else [],
                }
            ],
            "partialFingerprints": {"aiiacFingerprint/v1": print_},
            "properties": {"severity": finding.severity},
        }
        location = result["locations"][0]  # type: ignore[index]
        if not location["logicalLocations"]:
            del location["logicalLocations"]
        if finding.related:
            result["relatedLocations"] = [
                {
                    "id": number,
                    "message": {"text": text},
                    "physicalLocation": {
                        "artifactLocation": {"uri": where.file.replace("\\", "/")},
                        "region": _region(where),
                    },
                }
                for number, (where, text) in enumerate(finding.related)
            ]
        yield result


def _region(span) -> dict:
    """A SARIF region: 1-based lines and columns; the end column is the one after the region."""
    return {
        "startLine": span.start_line + 1,
        "startColumn": span.start_col + 1,
        "endLine": span.end_line + 1,
        "endColumn": span.end_col + 1,
    }


def _streamed_sarif(analysis: Analysis, rules: list[Rule], index: dict[str, int], prints: list[str]) -> Iterator[str]:
    notifications = [
        {
            "level": "error" if problem.kind in ("error", "syntax", "internal") else "note",
            "message": {"text": f"{problem.file}: {problem.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": problem.file.replace("\\", "/")}}}],
        }
        for problem in analysis.problems
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "aiiac-ls",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/aiiac-ls/aiiac-ls",
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not any(
                            p.kind in ("error", "syntax", "internal") for p in analysis.problems
                        ),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": _STREAMED,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    yield from _streamed_json(
        document, lambda inner: (indented(result, inner) for result in _results(analysis, index, prints))
    )


def rules_json(rules: list[Rule]) -> str:
    return (
        json.dumps(
            [
                {
                    "id": rule.id,
                    "title": rule.title,
                    "severity": rule.severity,
                    "applies_to": sorted(rule.applies_to) if rule.applies_to is not None else ["*"],
                    "source": rule.source or "any",
                    "equivalents": rule.equivalents,
                    "compliance": rule.compliance,
                    "fixable": rule.fixable,
                    "url": rule.url,
                }
                for rule in rules
            ],
            indent=2,
        )
        + "\n"
    )
