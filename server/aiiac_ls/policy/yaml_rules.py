"""YAML rules: the simple checks a team writes without learning Rego.

    rules:
      - id: ORG010
        title: Model buckets keep old versions
        severity: medium
        match: {source: terraform, kind: aws_s3_bucket_versioning}
        when:                        # report the resource when this holds
          any:
            - {path: "versioning_configuration.status", op: absent}
            - {path: "versioning_configuration.status", op: not_equals, value: Enabled}
        message: "versioning of {name} is not Enabled"

A condition is `all: [...]`, `any: [...]`, `not: {...}` or a test `{path, op, value}`. Paths are
dotted keys with `[N]` indexes and `[*]` for every item; a test on a path that is absent is
false except for `absent`; a value Terraform only knows at apply time never matches. The JSON
schema is `rules.schema.json` beside this file (docs/policies.md shows the editor setup).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..formats.source import SourceFile
from ..formats.yaml import parse_yaml
from ..limits import Limits
from ..model.findings import SEVERITIES, Hit, Problem
from ..model.nodes import Entry, Mapping, Node, Scalar, Sequence, Unknown
from ..model.resources import Resource
from .documents import locate_path, parse_path
from .meta import custom_rule, valid_rule_id

OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "matches",
    "not_matches",
    "contains",
    "exists",
    "absent",
    "greater_than",
    "less_than",
)
_NO_VALUE = ("exists", "absent")
Place = Entry | Node


class RuleFileError(Exception):
    def __init__(self, message: str, node: Node | None):
        super().__init__(message)
        self.node = node


@dataclass
class Test:
    path: list[str | int]
    op: str
    value: object = None

    def holds(self, resource: Resource) -> tuple[bool, Place | None]:
        found = list(resolve(resource.body, self.path))
        if self.op == "absent":
            return (not found, None if found else locate_path(resource.body, self.path))
        if self.op == "exists":
            return (bool(found), found[0][0] if found else None)
        for place, node in found:
            if isinstance(node, Unknown) or node is None:
                continue
            if _compare(self.op, node, self.value):
                return True, place
        return False, None


@dataclass
class Combination:
    kind: str  # all | any | not
    parts: list

    def holds(self, resource: Resource) -> tuple[bool, Place | None]:
        if self.kind == "not":
            held, _ = self.parts[0].holds(resource)
            return (not held, None)
        place = None
        for part in self.parts:
            held, where = part.holds(resource)
            if self.kind == "any" and held:
                return True, where
            if self.kind == "all":
                if not held:
                    return False, None
                place = place or where
        return (self.kind == "all", place)


def resolve(node: Node, path: list[str | int]):
    """(place, value) for every value at `path`; `*` fans out over list items; the index of a
    lone nested Terraform block may be left out."""
    if not path:
        yield node, node
        return
    part, rest = path[0], path[1:]
    if isinstance(node, Sequence) and node.style == "hcl-blocks" and isinstance(part, str) and part != "*":
        for item in node.items:
            yield from resolve(item, path)
        return
    if isinstance(node, Mapping) and isinstance(part, str) and part in node:
        entry = node.entries[part]
        if rest:
            yield from resolve(entry.value, rest)
        else:
            yield entry, entry.value
    elif isinstance(node, Sequence) and part == "*":
        for item in node.items:
            yield from (resolve(item, rest) if rest else [(item, item)])
    elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node.items):
        item = node.items[part]
        yield from (resolve(item, rest) if rest else [(item, item)])


def _compare(op: str, node: Node, expected) -> bool:
    actual = node.plain() if isinstance(node, (Mapping, Sequence)) else getattr(node, "value", None)
    if op == "equals":
        return _same(actual, expected)
    if op == "not_equals":
        return not _same(actual, expected)
    if op == "in":
        return any(_same(actual, item) for item in expected)
    if op == "not_in":
        return not any(_same(actual, item) for item in expected)
    if op in ("matches", "not_matches"):
        matched = isinstance(actual, str) and re.search(expected, actual) is not None
        return matched if op == "matches" else isinstance(actual, str) and not matched
    if op == "contains":
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    number = actual if isinstance(actual, (int, float)) and not isinstance(actual, bool) else None
    if number is None and isinstance(actual, str):
        try:
            number = float(actual)
        except ValueError:
            return False
    if number is None:
        return False
    return number > expected if op == "greater_than" else number < expected


def _same(actual, expected) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or (isinstance(actual, str) and actual.lower() == str(expected).lower())
    if (isinstance(actual, (int, float)) and isinstance(expected, str)) or (
        isinstance(expected, (int, float)) and isinstance(actual, str)
    ):
        return str(actual) == str(expected)
    return actual == expected


# ---- reading rule files ----------------------------------------------------------------------


def load_rule_file(source: SourceFile, limits: Limits) -> tuple[list, list[Problem]]:
    """The rules of one file; every mistake is a problem at its line, the valid rules still load."""
    documents, errors = parse_yaml(source, limits)
    problems = [Problem(source.path, error.message, error.span, kind="syntax") for error in errors]
    rules = []
    for document in documents:
        root = document.root
        listed = root.get("rules") if isinstance(root, Mapping) else None
        if not isinstance(listed, Sequence):
            problems.append(
                Problem(source.path, "a rule file is a mapping with a `rules:` list", _span(root, source), kind="error")
            )
            continue
        for item in listed.items:
            try:
                rules.append(_rule(item, source))
            except RuleFileError as exc:
                problems.append(Problem(source.path, exc.args[0], _span(exc.node, source), kind="error"))
    return rules, problems


def _span(node, source: SourceFile):
    return getattr(node, "head", None) or getattr(node, "span", None) or source.point(0)


def _text(mapping: Mapping, key: str, required: bool = True) -> str | None:
    node = mapping.get(key)
    if node is None:
        if required:
            raise RuleFileError(f"rule lacks `{key}`", mapping)
        return None
    if not isinstance(node, Scalar) or not isinstance(node.value, str) or not node.value.strip():
        raise RuleFileError(f"`{key}` must be a non-empty string", node)
    return node.value


def _rule(item: Node, source: SourceFile):
    if not isinstance(item, Mapping):
        raise RuleFileError("each rule is a mapping (id, title, severity, match, when)", item)
    known = {"id", "title", "severity", "message", "description", "remediation", "match", "when"}
    for key in item.keys():
        if key not in known:
            raise RuleFileError(f"unknown key `{key}` (known: {', '.join(sorted(known))})", item.entries[key].value)
    rule_id = _text(item, "id")
    if rule_id is None or not valid_rule_id(rule_id):
        raise RuleFileError(
            f"`{rule_id}` is not a valid custom rule id (letters, digits, `-`, `_`; not starting with AIS)",
            item.get("id"),
        )
    title = _text(item, "title") or rule_id
    severity = _text(item, "severity")
    if severity is None or severity not in SEVERITIES:
        raise RuleFileError(f"severity must be one of {', '.join(SEVERITIES)}", item.get("severity"))
    message = _text(item, "message", required=False) or title
    match = item.get("match")
    if not isinstance(match, Mapping):
        raise RuleFileError("rule lacks `match: {kind: ...}`", match or item)
    kinds_node = match.get("kind")
    kinds = (
        [kinds_node.value]
        if isinstance(kinds_node, Scalar)
        else [getattr(n, "value", None) for n in kinds_node.items]
        if isinstance(kinds_node, Sequence)
        else []
    )
    if not kinds or not all(isinstance(kind, str) for kind in kinds):
        raise RuleFileError("`match.kind` must be a resource kind or a list of them", kinds_node or match)
    source_name = _text(match, "source", required=False)
    if source_name not in (None, "terraform", "kubernetes"):
        raise RuleFileError("`match.source` must be terraform or kubernetes", match.get("source"))
    when = item.get("when")
    if when is None:
        raise RuleFileError("rule lacks `when:` (the condition that makes a finding)", item)
    condition = _condition(when)
    meta = {
        "description": _text(item, "description", required=False),
        "remediation": _text(item, "remediation", required=False),
    }
    return custom_rule(
        rule_id,
        title,
        severity,
        source.path,
        meta,
        check=_check(condition, message),
        applies_to=kinds,
        source=source_name,
    )


def _condition(node: Node, depth: int = 0):
    if depth > 32:
        raise RuleFileError("conditions nested too deeply", node)
    if not isinstance(node, Mapping):
        raise RuleFileError("a condition is a mapping: all/any/not or path/op/value", node)
    for kind in ("all", "any"):
        if kind in node:
            parts = node.get(kind)
            if not isinstance(parts, Sequence) or not parts.items:
                raise RuleFileError(f"`{kind}` takes a non-empty list of conditions", parts)
            return Combination(kind, [_condition(part, depth + 1) for part in parts.items])
    negated = node.get("not")
    if negated is not None:
        return Combination("not", [_condition(negated, depth + 1)])
    path_node, op_node = node.get("path"), node.get("op")
    if not isinstance(path_node, Scalar) or not isinstance(path_node.value, str):
        raise RuleFileError("a test needs `path` (dotted, like spec.template.spec.containers[*].image)", node)
    if not isinstance(op_node, Scalar) or op_node.value not in OPERATORS:
        raise RuleFileError(f"`op` must be one of {', '.join(OPERATORS)}", op_node or node)
    op = op_node.value
    path = parse_path(path_node.value)
    if not path:
        raise RuleFileError(
            f'`{path_node.value}` is not a path (keys joined by `.`, `[N]`, `[*]`, `["key.with.dots"]`)', path_node
        )
    value_node = node.get("value")
    if op not in _NO_VALUE and value_node is None:
        raise RuleFileError(f"`{op}` needs a `value`", node)
    value = value_node.plain() if value_node is not None else None
    if op in ("in", "not_in") and not isinstance(value, list):
        raise RuleFileError(f"`{op}` takes a list `value`", value_node)
    if op in ("greater_than", "less_than") and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise RuleFileError(f"`{op}` takes a number `value`", value_node)
    if op in ("matches", "not_matches"):
        try:
            re.compile(str(value))
        except re.error as exc:
            raise RuleFileError(f"invalid regular expression: {exc}", value_node) from None
    return Test(path, op, value)


def _check(condition, message: str) -> Callable:
    def check(resource: Resource, context):
        held, place = condition.holds(resource)
        if held:
            value = place.value if isinstance(place, Entry) else place
            shown = value.value if isinstance(value, Scalar) else ""
            fields = {"name": resource.name, "kind": resource.kind, "address": resource.address, "value": shown}
            try:
                text = message.format_map(_Fields(fields))
            except (ValueError, IndexError, AttributeError):  # stray braces: the message as written
                text = message
            yield Hit(place if place is not None else resource.head, text)

    return check


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
