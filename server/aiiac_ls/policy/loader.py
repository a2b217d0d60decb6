"""Finding and loading the custom rules the configuration names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..config import Config
from ..formats.source import SourceError, read_source
from ..model.findings import Problem
from ..rules import Rule
from .rego import RegoPolicies, RegoUnavailable
from .yaml_rules import load_rule_file

RULE_FILE_SUFFIXES = (".rules.yaml", ".rules.yml")


@dataclass
class PolicySet:
    rules: list[Rule] = field(default_factory=list)  # YAML rules: ordinary checks
    rego: RegoPolicies | None = None
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def all_problems(self) -> list[Problem]:
        return self.problems + (self.rego.problems if self.rego else [])


def policy_files(paths: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """(.rego files, YAML rule files) under the configured paths, sorted. Inside folders YAML
    rule files are `*.rules.yaml`; OPA unit tests (`*_test.rego`) are left to `opa test`."""
    rego: list[str] = []
    yaml: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            (rego if path.endswith(".rego") else yaml).append(path)
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                full = os.path.join(folder, name)
                if name.endswith(".rego") and not name.endswith("_test.rego"):
                    rego.append(full)
                elif name.endswith(RULE_FILE_SUFFIXES):
                    yaml.append(full)
    return rego, yaml


_CACHE: dict[tuple, PolicySet] = {}  # by policy paths, limits and file stats; a Rego worker each
_KEEP = 4  # projects with different policies open at once in one editor


def load_policies(config: Config, display=os.path.relpath) -> PolicySet:
    """The configured rules; reloaded when a policy file changes on disk (an editor saves it)."""
    if not config.policies:
        return PolicySet()
    missing = [path for path in config.policies if not os.path.exists(path)]
    rego_files, yaml_files = policy_files([p for p in config.policies if p not in missing])
    signature = (config.policies, config.limits, display, tuple(_stat(path) for path in rego_files + yaml_files))
    if signature in _CACHE:
        _CACHE[signature] = _CACHE.pop(signature)  # most recently used last
        return _CACHE[signature]
    policies = PolicySet(files=rego_files + yaml_files)
    for path in missing:
        policies.problems.append(
            Problem(config.path or display(path), f"policy path `{display(path)}` does not exist (`policies` setting)")
        )
    rego_sources = []
    for path in rego_files + yaml_files:
        try:
            source = read_source(path, display(path), config.limits.max_file_bytes)
        except SourceError as exc:
            policies.problems.append(Problem(display(path), exc.message, exc.span))
            continue
        if path.endswith(".rego"):
            rego_sources.append(source)
        else:
            rules, problems = load_rule_file(source, config.limits)
            policies.rules.extend(rules)
            policies.problems.extend(problems)
    if rego_sources:
        try:
            policies.rego = RegoPolicies(limits=config.limits)
            policies.rego.load(rego_sources)
        except RegoUnavailable:
            policies.rego = None
            policies.problems.append(
                Problem(rego_sources[0].path, "Rego policies need the `regopy` package (pip install 'aiiac-ls[rego]')")
            )
    for stale in [key for key in _CACHE if key[0] == signature[0]] + list(_CACHE)[: max(len(_CACHE) + 1 - _KEEP, 0)]:
        previous = _CACHE.pop(stale, None)  # an older version of these files, or the least recently used
        if previous is not None and previous.rego is not None:
            previous.rego.close()
    _CACHE[signature] = policies
    return policies


def _stat(path: str) -> tuple:
    try:
        info = os.stat(path)
        return path, info.st_mtime_ns, info.st_size
    except OSError:
        return path, None, None
