"""Rego policies, evaluated by regopy (the Rego interpreter; no OPA binary, no network) in a
worker process that the scan waits for at most `rego-timeout-seconds`.

Two kinds of package, told apart by name:

- `package aiiac.<anything>`: native policies. `input` is the resource document
  (`documents.py`); the rules `deny`, `warn` and `violation` are sets of finding objects
  `{"id", "message", "severity"?, "path"?, "title"?}`. An optional `metadata` object maps ids to
  `{"title", "severity", "description", "remediation"}` for hovers.
- any other package: conftest policies, unchanged. `input` is what conftest would pass for the
  resource (`documents.conftest_input`); `deny`/`violation` messages are high, `warn` low; a
  message is a string or `{"msg": ...}`; the rule id is `REGO-<PACKAGE>` (`REGO-MAIN`) unless
  the object gives `id`.

All resources of an analysis go to the worker in one batch. A policy that runs past the limit,
or a crash inside the interpreter, ends the worker: the scan reports a problem on the policies
and goes on with every other rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..formats.source import SourceFile
from ..limits import DEFAULT_LIMITS, Limits
from ..model.findings import SEVERITIES, Hit, Problem
from ..model.nodes import Span
from ..model.resources import Resource
from ..rules import Rule
from .documents import conftest_input, locate_path, parse_path, resource_document
from .meta import valid_rule_id
from .rego_runtime import is_native

log = logging.getLogger(__name__)
FINDING_RULES = {"deny": "high", "violation": "high", "warn": "low"}
LOAD_TIMEOUT_SECONDS = 60.0  # starting the worker and compiling the modules


class RegoUnavailable(Exception):
    pass


@dataclass
class RegoModule:
    source: SourceFile
    package: str
    package_span: Span

    @property
    def native(self) -> bool:
        return is_native(self.package)


class _Worker:
    """A spawned process running `rego_runtime.serve`; killed on timeout."""

    def __init__(self):
        import multiprocessing

        from .rego_runtime import serve

        context = multiprocessing.get_context("spawn")  # no fork of a threaded language server
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), daemon=True, name="aiiac-rego")
        self.process.start()
        child.close()

    def call(self, request: str, payload, timeout: float):
        try:
            self.connection.send((request, payload))
            if not self.connection.poll(timeout):
                raise TimeoutError
            status, answer = self.connection.recv()
        except TimeoutError:  # before OSError, of which it is a kind
            self.close()
            raise
        except (EOFError, OSError):
            self.close()
            raise ConnectionError("the Rego worker stopped") from None
        if status != "ok":
            raise RuntimeError(answer)
        return answer

    def close(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


@dataclass
class RegoPolicies:
    modules: list[RegoModule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    metadata: dict[str, dict] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    _sources: list[SourceFile] = field(default_factory=list)
    _worker: _Worker | None = None
    _reported: set = field(default_factory=set)

    @property
    def packages(self) -> dict[str, RegoModule]:
        return {module.package: module for module in self.modules}

    def load(self, sources: list[SourceFile]) -> None:
        """Compile the modules in a fresh worker; broken ones become problems at their line."""
        import importlib.util

        if importlib.util.find_spec("regopy") is None:  # the extra is not installed: say so, clearly
            raise RegoUnavailable
        self._sources = sources
        by_path = {source.path: source for source in sources}
        answer = self._call("load", [(source.path, source.text) for source in sources], LOAD_TIMEOUT_SECONDS)
        if answer is None:
            return
        for path, package, offset in answer["packages"]:
            source = by_path[path]
            self.modules.append(RegoModule(source, package, source.point(offset)))
        for path, message, offset, length in answer["problems"]:
            source = by_path[path]
            span = source.point(offset or 0)
            if length and span.start_line == source.point(offset + length - 1).start_line:
                span = span._replace(end_col=span.start_col + length)
            package = next((m for m in self.modules if m.source.path == path), None)
            self.problems.append(
                Problem(
                    path,
                    message,
                    span if offset is not None else (package.package_span if package else span),
                    kind="syntax",
                )
            )
        self.metadata = answer["metadata"]

    def evaluate_all(self, resources: list[Resource], rule_for) -> dict[int, list[tuple[Rule, Hit]]]:
        """The findings of every package for every resource, keyed by `id(resource)`;
        `rule_for(id, title, severity, origin, meta)` gives the rule a finding is reported under."""
        if not self.modules or not resources:
            return {}
        kinds = {module.native for module in self.modules}
        batch = [
            (resource_document(r) if True in kinds else None, conftest_input(r) if False in kinds else None)
            for r in resources
        ]
        answer = self._call("evaluate", batch, self.limits.rego_timeout_seconds)
        if answer is None:
            return {}
        results, errors = answer
        packages = self.packages
        for package, detail in errors:
            if package in packages:
                self._report(packages[package], f"Rego evaluation error in package {package}: {detail}")
        found: dict[int, list[tuple[Rule, Hit]]] = {}
        for resource, answers in zip(resources, results, strict=False):
            for package, values in answers.items():
                module = packages.get(package)
                if module is None or not isinstance(values, dict):
                    continue
                for rule_name, default_severity in FINDING_RULES.items():
                    for item in _members(values.get(rule_name)):
                        result = self._finding(module, item, default_severity, resource, rule_for)
                        if result is not None:
                            found.setdefault(id(resource), []).append(result)
        return found

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    # ---- internals --------------------------------------------------------------------------

    def _call(self, request: str, payload, timeout: float):
        if self._worker is None or not self._worker.process.is_alive():
            self._worker = _Worker()
            if request != "load" and self._sources:  # a new worker after a timeout: compile again
                if self._call("load", [(s.path, s.text) for s in self._sources], LOAD_TIMEOUT_SECONDS) is None:
                    return None
        first = self._sources[0].path if self._sources else "policies"
        try:
            return self._worker.call(request, payload, timeout)
        except TimeoutError:
            self._worker = None
            self._report_at(
                first,
                f"Rego policies did not finish within {timeout:g} s and were stopped; their "
                "findings are missing (limit `rego-timeout-seconds`)",
            )
        except ConnectionError as exc:
            self._worker = None
            self._report_at(first, f"{exc}; Rego findings are missing (please report this with the policies)")
        except RuntimeError as exc:
            log.error("Rego worker: %s", exc)
            self._report_at(first, f"Rego worker error: {exc}")
        return None

    def _finding(self, module: RegoModule, item, default_severity: str, resource: Resource, rule_for):
        if isinstance(item, str):
            item = {"msg": item}
        if not isinstance(item, dict):
            return self._bad_finding(module, f"a `{default_severity}` result must be an object or a string")
        message = item.get("message", item.get("msg"))
        rule_id = item.get("id") or (None if module.native else "REGO-" + module.package.upper().replace(".", "-"))
        if not isinstance(rule_id, str) or not valid_rule_id(rule_id):
            return self._bad_finding(
                module,
                f"finding id {rule_id!r} is not a valid custom rule id "
                "(letters, digits, `-`, `_`; not starting with AIS)",
            )
        if not isinstance(message, str):
            return self._bad_finding(module, f"finding {rule_id} has no `message` string")
        meta = self.metadata.get(rule_id, {})
        severity = item.get("severity") or meta.get("severity") or default_severity
        if severity not in SEVERITIES:
            return self._bad_finding(module, f"finding {rule_id}: severity must be one of {', '.join(SEVERITIES)}")
        path = parse_path(item.get("path", []))
        if path is None:
            return self._bad_finding(
                module, f"finding {rule_id}: `path` must be a list of keys and indexes or a dotted string"
            )
        title = (
            item.get("title")
            or meta.get("title")
            or (message if module.native else f"conftest policy `{module.package}`")
        )
        rule = rule_for(rule_id.upper(), str(title), severity, module.source.path, meta)
        return rule, Hit(locate_path(resource.body, path), message, severity=severity)

    def _bad_finding(self, module: RegoModule, message: str):
        self._report(module, message)
        return None

    def _report(self, module: RegoModule, message: str) -> None:
        self._report_at(module.source.path, message, module.package_span)

    def _report_at(self, path: str, message: str, span: Span | None = None) -> None:
        if (path, message) not in self._reported:
            self._reported.add((path, message))
            self.problems.append(Problem(path, message, span, kind="error"))


def _members(value) -> list:
    """A rule's set as a list. Rego v0 `deny[msg] { ... }` (conftest's classic form) reads in
    regopy as an object `{msg: true}`: its keys are the messages."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(item is True for item in value.values()):
        return list(value)
    return []
