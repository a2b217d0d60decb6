"""Rego policies, evaluated in-process by regopy (the Rego interpreter; no OPA binary, no network).

Two kinds of package, told apart by name:

- `package aiiac.<anything>`: native policies. `input` is the resource document
  (`documents.py`); the rules `deny`, `warn` and `violation` are sets of finding objects
  `{"id", "message", "severity"?, "path"?, "title"?}`. An optional `metadata` object maps ids to
  `{"title", "severity", "description", "remediation"}` for hovers and `--list-rules`.
- any other package: conftest policies, unchanged. `input` is what conftest would pass for the
  resource (`documents.conftest_input`); `deny`/`violation` messages are high, `warn` low; a
  message is a string or `{"msg": ...}`; the rule id is `REGO-<PACKAGE>` (`REGO-MAIN`) unless
  the object gives `id`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..formats.source import SourceFile
from ..model.findings import SEVERITIES, Hit, Problem
from ..model.nodes import Span
from ..model.resources import Resource
from ..stdio import native_stdout_to_stderr
from .documents import conftest_input, locate_path, parse_path, resource_document
from .meta import CustomRule, valid_rule_id

FINDING_RULES = {"deny": "high", "violation": "high", "warn": "low"}
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.M)
_ERROR_AT = re.compile(r"\(error (\d+):")
_ERROR_MESSAGE = re.compile(r"\(errormsg (\d+):")


@dataclass
class RegoModule:
    source: SourceFile
    package: str
    package_span: Span

    @property
    def native(self) -> bool:
        return self.package == "aiiac" or self.package.startswith("aiiac.")


@dataclass
class RegoPolicies:
    """Every valid module in one interpreter; the broken ones reported as problems."""

    modules: list[RegoModule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    metadata: dict[str, dict] = field(default_factory=dict)
    _interpreter: object = None
    _reported: set = field(default_factory=set)

    @property
    def packages(self) -> dict[str, RegoModule]:
        return {module.package: module for module in self.modules}

    def load(self, sources: list[SourceFile]) -> None:
        import regopy

        self._interpreter = regopy.Interpreter()
        for source in sources:
            match = _PACKAGE.search(source.text)
            if match is None:
                self.problems.append(Problem(source.path, "Rego file has no `package` declaration",
                                             source.point(0), kind="syntax"))
                continue
            problem = _compile_problem(source)
            if problem is not None:
                self.problems.append(problem)
                continue
            with native_stdout_to_stderr():
                self._interpreter.add_module(source.path, source.text)
            self.modules.append(RegoModule(source, match.group(1), source.point(match.start(1))))
        for module in self.packages.values():
            if module.native:
                answer = self._query(module, "metadata", {})
                if isinstance(answer, dict):
                    self.metadata.update({str(k): v for k, v in answer.items() if isinstance(v, dict)})

    def evaluate(self, resource: Resource, rule_for) -> list[tuple[CustomRule, Hit]]:
        """Each package's findings for one resource; `rule_for(id, title, severity, origin)`
        gives the rule object a finding is reported under."""
        found: list[tuple[CustomRule, Hit]] = []
        native_input = conftest = None
        for module in self.packages.values():
            if module.native:
                native_input = native_input or resource_document(resource)
                answer = self._query(module, None, native_input)
            else:
                conftest = conftest if conftest is not None else conftest_input(resource)
                answer = self._query(module, None, conftest)
            if not isinstance(answer, dict):
                continue
            for rule_name, default_severity in FINDING_RULES.items():
                for item in _members(answer.get(rule_name)):
                    result = self._finding(module, item, default_severity, resource, rule_for)
                    if result is not None:
                        found.append(result)
        return found

    # ---- internals --------------------------------------------------------------------------

    def _finding(self, module: RegoModule, item, default_severity: str, resource: Resource, rule_for):
        if isinstance(item, str):
            item = {"msg": item}
        if not isinstance(item, dict):
            return self._bad_finding(module, f"a `{default_severity}` result must be an object or a string")
        message = item.get("message", item.get("msg"))
        rule_id = item.get("id") or (None if module.native else "REGO-" + module.package.upper().replace(".", "-"))
        if not isinstance(rule_id, str) or not valid_rule_id(rule_id):
            return self._bad_finding(module, f"finding id {rule_id!r} is not a valid custom rule id "
                                             "(letters, digits, `-`, `_`; not starting with AIS)")
        if not isinstance(message, str):
            return self._bad_finding(module, f"finding {rule_id} has no `message` string")
        meta = self.metadata.get(rule_id, {})
        severity = item.get("severity") or meta.get("severity") or default_severity
        if severity not in SEVERITIES:
            return self._bad_finding(module, f"finding {rule_id}: severity must be one of {', '.join(SEVERITIES)}")
        path = parse_path(item.get("path", []))
        if path is None:
            return self._bad_finding(module, f"finding {rule_id}: `path` must be a list of keys and indexes "
                                             "or a dotted string")
        title = item.get("title") or meta.get("title") or (message if module.native else
                                                            f"conftest policy `{module.package}`")
        rule = rule_for(rule_id.upper(), str(title), severity, module.source.path, meta)
        return rule, Hit(locate_path(resource, path), message, severity=severity)

    def _bad_finding(self, module: RegoModule, message: str):
        self._report(module, message)
        return None

    def _report(self, module: RegoModule, message: str) -> None:
        key = (module.source.path, message)
        if key not in self._reported:
            self._reported.add(key)
            self.problems.append(Problem(module.source.path, message, module.package_span, kind="error"))

    def _query(self, module: RegoModule, rule: str | None, document) -> object:
        from regopy.rego_shared import rego_free_output, rego_output_ok, rego_output_string, rego_query

        interpreter = self._interpreter
        query = f"data.{module.package}" + (f".{rule}" if rule else "")
        with native_stdout_to_stderr():
            interpreter.set_input(document)
            output = rego_query(interpreter._impl, query)
            try:
                ok, text = rego_output_ok(output), rego_output_string(output)
            finally:
                rego_free_output(output)
        if not ok or text.startswith("(error"):
            detail = _length_prefixed(text, _ERROR_MESSAGE) if ok else None
            self._report(module, f"Rego evaluation error in package {module.package}"
                                 + (f": {detail}" if detail else " (conflicting values or a failing built-in)"))
            return None
        if text == "undefined":
            return None
        try:
            answer = json.loads(text)
        except ValueError:
            return None
        expressions = answer.get("expressions") if isinstance(answer, dict) else None
        return expressions[0] if isinstance(expressions, list) and expressions else None


def _members(value) -> list:
    """A rule's set as a list. Rego v0 `deny[msg] { ... }` (conftest's classic form) reads in
    regopy as an object `{msg: true}`: its keys are the messages."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(item is True for item in value.values()):
        return list(value)
    return []


def _length_prefixed(text: str, pattern: re.Pattern) -> str | None:
    """`(errormsg 24:Invalid boolean operator)` -> the 24 characters after the colon."""
    match = pattern.search(text)
    if match is None:
        return None
    length = int(match.group(1))
    return text[match.end():match.end() + length]


def _compile_problem(source: SourceFile) -> Problem | None:
    """Compile the module alone, so one broken file neither hides the others nor loses its line."""
    import regopy

    probe = regopy.Interpreter()
    try:
        with native_stdout_to_stderr():
            probe.add_module(source.path, source.text)
    except regopy.RegoError as exc:
        text = str(exc)
        message = _length_prefixed(text, _ERROR_MESSAGE) or "invalid Rego"
        span = source.point(0)
        where = _ERROR_AT.search(text)
        if where is not None:
            name_length = int(where.group(1))
            rest = text[where.end() + name_length:]
            location = re.match(r"\|(\d+)\|(\d+)", rest)
            if location is not None:
                start = _char_offset(source.text, int(location.group(1)))
                span = source.point(start)
                end = _char_offset(source.text, int(location.group(1)) + int(location.group(2)))
                if end > start and span.start_line == source.point(end - 1).start_line:
                    span = span._replace(end_col=span.start_col + (end - start))
        return Problem(source.path, f"Rego: {message}", span, kind="syntax")
    return None


def _char_offset(text: str, byte_offset: int) -> int:
    """regopy reports UTF-8 byte offsets; spans count characters."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
