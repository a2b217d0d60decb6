"""`aiiac-ls --test-policies DIR`: a team's policies against their own fixtures.

DIR holds policies (`*.rego`, `*.rules.yaml`) and fixture files (Terraform, YAML, charts) that
annotate the findings they must produce with `# expect: ORG001`, the way this project tests its
own rules. Only the policies of DIR run (no built-in rules, no other configuration), so a
fixture states exactly what the team's rules find.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..config import Config
from ..expectations import compare, expectations_in
from ..report import blocking
from .loader import RULE_FILE_SUFFIXES, policy_files


@dataclass
class PolicyTestResult:
    fixtures: dict[str, list[str]] = field(default_factory=dict)  # file -> failure lines ([] = passed)
    problems: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)  # rule ids no fixture expects

    @property
    def failed(self) -> int:
        return sum(1 for failures in self.fixtures.values() if failures)


def run_policy_tests(folder: str) -> PolicyTestResult:
    from ..engine import Engine, display_path

    result = PolicyTestResult()
    config = Config(policies=(os.path.abspath(folder),), builtin_rules=False, root=os.path.abspath(folder))
    engine = Engine(config)
    analysis = engine.analyse_paths([folder])
    rego_files, yaml_files = policy_files([folder])
    policy_paths = {display_path(path) for path in rego_files + yaml_files}
    result.problems = [
        f"{p.file}" + (f":{p.span.start_line + 1}:{p.span.start_col + 1}" if p.span else "") + f": {p.message}"
        for p in blocking(analysis.problems)
    ]
    fixture_files = sorted(
        path for path in analysis.sources if path not in policy_paths and not path.endswith(RULE_FILE_SUFFIXES)
    )
    expected = set()
    for path in fixture_files:
        expected |= expectations_in(path, path)
    comparison = compare(analysis.findings, expected)
    for path in fixture_files:
        result.fixtures[path] = []
    for file, rule, line, column in comparison.missing:
        result.fixtures.setdefault(file, []).append(
            f"line {line}: expected {rule}, not found" + (f" (column {column})" if column else "")
        )
    messages = {(f.file, f.rule, f.span.start_line + 1): f.message for f in analysis.findings}
    for file, rule, line in comparison.unexpected:
        result.fixtures.setdefault(file, []).append(f"line {line}: unexpected {rule}: {messages[(file, rule, line)]}")
    for (file, rule, line, column), actual in comparison.wrong_column:
        result.fixtures.setdefault(file, []).append(f"line {line}: {rule} at column {actual}, expected {column}")
    known = {rule.id for rule in engine.policies.rules}
    if engine.policies.rego is not None:
        known |= {rule_id.upper() for rule_id in engine.policies.rego.metadata}
    known |= {finding.rule for finding in analysis.findings}
    result.untested = sorted(known - {rule for _, rule, _, _ in expected})
    return result


def format_result(result: PolicyTestResult) -> str:
    lines = []
    for problem in result.problems:
        lines.append(f"error: {problem}")
    for path, failures in result.fixtures.items():
        lines.append(f"{'FAIL' if failures else 'ok  '}  {path}")
        lines.extend(f"      {failure}" for failure in failures)
    for rule_id in result.untested:
        lines.append(f"note: no fixture expects {rule_id}")
    passed = len(result.fixtures) - result.failed
    lines.append(
        f"{passed} fixture file{'s' if passed != 1 else ''} passed, {result.failed} failed"
        + (
            f", {len(result.problems)} policy error{'s' if len(result.problems) != 1 else ''}"
            if result.problems
            else ""
        )
        + "."
    )
    return "\n".join(lines) + "\n"
