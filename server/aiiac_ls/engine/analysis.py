"""What one analysis produced: findings, problems, the sources read; and `guarded`, the last line
of defence that turns a bug on one file into a problem naming it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from ..formats.source import SourceFile
from ..model.findings import Finding, Problem
from ..model.nodes import Span
from ..rules import Facts

log = logging.getLogger("aiiac_ls.engine")


@dataclass
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)  # by display path
    files: int = 0
    lines: int = 0
    suppressed: int = 0
    resources: int = 0
    # where credentials are, by file: masked in every code frame, whether or not reported
    secret_spans: dict[str, list[Span]] = field(default_factory=dict)
    baselined: int = 0  # findings left out of the report because a baseline accepts them
    below_threshold: int = 0  # findings left out of the report below --severity-threshold
    used_directives: set[Span] = field(default_factory=set)  # suppression comments that silenced a finding
    policy_files: list[str] = field(default_factory=list)  # the custom rule files applied (display paths)
    # Terraform module calls whose code is not installed: (address, the `source` span, why)
    uninstalled_modules: list[tuple[str, Span, str]] = field(default_factory=list)
    # Terraform module calls the user wrote whose source can change under them: (address, the
    # `source` span, why): a git source without a commit, a registry source without a version
    unpinned_modules: list[tuple[str, Span, str]] = field(default_factory=list)
    # resources a kustomization names by URL or git address, never fetched: (the entry, what)
    remote_resources: list[tuple[Span, str]] = field(default_factory=list)
    # charts an Argo CD Application or Flux HelmRelease deploys from elsewhere: (the entry, what)
    remote_charts: list[tuple[Span, str]] = field(default_factory=list)
    # charts whose dependencies are not in charts/: (where the first is declared, chart, missing
    # names, how many of its templates could not be rendered without them)
    unvendored_charts: list[tuple[Span, str, tuple[str, ...], int]] = field(default_factory=list)
    # kustomization folder -> every file its build read (the editor re-checks overlays by it)
    kustomize_reach: dict[str, set[str]] = field(default_factory=dict)
    facts: Facts | None = None
    # (editor) resources kept from the last version that parsed while a file is broken mid-edit:
    # their findings say so
    kept: set[int] = field(default_factory=set)
    facts_changed: bool = False  # (editor) what this unit tells the other folders has changed  # the scan-wide facts these files contribute (the rule pack's)

    _problem_keys: set = field(default_factory=set, repr=False)
    _problems_indexed: int = field(default=0, repr=False)

    def source(self, path: str) -> SourceFile:
        return self.sources[path]

    def add_problem(self, problem: Problem) -> None:
        """Report `problem` unless the same one is already reported (a chart rendered alone and
        for a helm_release, a broken policy file seen by two processes). Problems appended to
        the list directly are indexed here as they come, so each call is O(1) amortised."""
        if self._problems_indexed > len(self.problems):  # the list was replaced: index it again
            self._problem_keys, self._problems_indexed = set(), 0
        for known in self.problems[self._problems_indexed :]:
            self._problem_keys.add(known.key)
        self._problems_indexed = len(self.problems)
        if problem.key not in self._problem_keys:
            self._problem_keys.add(problem.key)
            self.problems.append(problem)
            self._problems_indexed += 1


@contextlib.contextmanager
def guarded(analysis: Analysis, path: str, doing: str):
    """The last line of defence: a bug on one file or unit becomes a problem naming it, and the
    rest of the scan goes on. (Expected bad input has its own, precise problems.)"""
    try:
        yield
    except Exception as exc:
        log.exception("internal error while %s %s", doing, path)
        analysis.problems.append(
            Problem(
                path, f"internal error while {doing}: {type(exc).__name__}: {exc} (please report this)", kind="internal"
            )
        )
