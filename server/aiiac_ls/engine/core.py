"""The engine: one object behind `--check` and the language server. It holds the configuration
and the rules, and puts the parts together: load (loading.py), facts (the rule pack), check
(checking.py), suppress (suppression.py), sort."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from operator import attrgetter

from ..config import Config, ConfigTree
from ..formats.source import FileSystem
from ..model.findings import SORT_KEY, Finding, Fix
from ..model.nodes import Span
from ..model.resources import Resource
from ..rules import Rule, RuleContext, all_rules, bare_kind, expand_selectors, get_rule
from .analysis import Analysis, guarded
from .checking import Checking
from .discovery import discover, display_path
from .loading import Loading, ParseCache
from .suppression import Suppressing

# the mark of a finding on an object kept from the last version that parsed (editor, mid-edit)
KEPT_NOTE = " (as of the last version that parsed)"


class Engine(Loading, Checking, Suppressing):
    """Runs the rules. Cheap to create; the rule list is loaded once per engine.

    `absolute_paths` makes every reported path absolute (the language server maps them to URIs);
    `cache` lets a long-lived caller reuse parses of unchanged files; `batch` tells a one-shot
    run (`--check`), whose memory is freed at exit (see `loading._unseen_by_collector`);
    `fix_edits=False` keeps only the titles of fixes (a report without `--fix`: 70,000 fixes'
    edits of 10,000 workloads were 20 MB that nothing read)."""

    def __init__(
        self,
        config: Config | None = None,
        absolute_paths: bool = False,
        cache: ParseCache | None = None,
        filesystem: FileSystem | None = None,
        set_values: tuple[str, ...] = (),
        configs: ConfigTree | None = None,
        batch: bool = False,
        fix_edits: bool = True,
    ):
        self.config = _with_selectors(config or Config())
        self.batch = batch  # a one-shot run (`--check`), not a long-lived editor
        self.fix_edits = fix_edits
        self._titles_only: dict[tuple[str, bool], Fix] = {}
        # each file's own configuration (the nearest above it); None: `config` for every file
        self.configs = configs
        self._expanded: dict[int, Config] = {}  # each file configuration with its selectors expanded
        self._enabled: dict[tuple[int, str], bool] = {}  # `_enabled_where`'s, by configuration and rule
        # where every loader reads: the disk, or in the editor the open buffers over it
        self.filesystem = filesystem or FileSystem(self.config.limits.max_file_bytes)
        self.set_values = set_values
        self._settings_key = repr(sorted((k, repr(v)) for k, v in vars(self.config).items()))
        self.display: Callable[[str], str] = os.path.abspath if absolute_paths else display_path
        self.cache = cache
        # called with each scope's resources before its rules run (`--diff` records digests)
        self.scope_observers: list[Callable[[list[Resource]], None]] = []
        from ..policy.loader import load_policies

        self.policies = load_policies(self.config, self.display)
        self._custom_rules: dict[str, Rule] = {}  # Rego findings' rules, by id
        self._rego_hits: dict[int, list] = {}  # id(resource) -> Rego (rule, hit)s of the current analysis
        self._views, self._changes_since, self._string_lines = {}, {}, {}  # memos of one analysis (checking.py)
        self._enable_rules([self.config])

    def _enable_rules(self, configs: list[Config]) -> None:
        """Run the rules that any of `configs` enables (each finding is then kept only where its
        file's own configuration enables its rule)."""
        self.rules: list[Rule] = [
            rule for rule in [*all_rules(), *self.policies.rules] if any(c.rule_enabled(rule.id) for c in configs)
        ]
        # rules that find credentials run even when switched off: their hits are only masked
        self._mask_only = {rule.id for rule in all_rules() if rule.finds_secrets and rule not in self.rules}
        self._by_kind: dict[str, list[Rule]] = {}
        self._any_kind: list[Rule] = []
        self._grouped_kinds: set[str] = set()
        self._rules_by_kind: dict[tuple[str, str, str | None], list[Rule]] = {}
        masked = [found for rule_id in sorted(self._mask_only) if (found := get_rule(rule_id)) is not None]
        # what `rules_for` chooses from: a cached result is reused only with the same rules
        self._rule_set = (*self.rules, *masked)
        for rule in self._rule_set:
            if rule.applies_to is None:
                self._any_kind.append(rule)
            else:
                for kind in rule.applies_to:
                    if "/" in kind:  # named with its API group
                        self._grouped_kinds.add(bare_kind(kind))
                    self._by_kind.setdefault(bare_kind(kind), []).append(rule)

    def config_of(self, path: str) -> Config:
        """The configuration that governs `path`."""
        if self.configs is None:
            return self.config
        return self._with_selectors(self.configs.for_path(path))

    def _with_selectors(self, config: Config) -> Config:
        expanded = self._expanded.get(id(config))
        if expanded is None:
            expanded = self._expanded[id(config)] = _with_selectors(config)
        return expanded

    def analyse_paths(self, paths: list[str], var_files: Iterable[str] = ()) -> Analysis:
        """Everything under `paths`, in this process (`parallel.analyse_paths` may use two)."""
        analysis = Analysis()
        files = self.files_under(paths, analysis)
        return self.analyse_files(files, analysis, var_files=[*self.config.var_files, *var_files])

    def files_under(self, paths: list[str], analysis: Analysis) -> list[str]:
        """The files to analyse under `paths` (rule files are configuration, not infrastructure)."""
        files = discover(paths, self.config, analysis.problems, self.display)
        if self.configs is not None:  # nested configurations exclude their own files and choose rules
            files = [path for path in files if not self.config_of(path).excluded(path)]
            distinct = [self._with_selectors(config) for config in self.configs.distinct()]
            if distinct != [self.config]:
                self._enable_rules(distinct)
        if self.policies.files:
            policy_files = {os.path.abspath(path) for path in self.policies.files}
            files = [path for path in files if os.path.abspath(path) not in policy_files]
        return files

    def analyse_files(
        self,
        files: list[str],
        analysis: Analysis,
        var_files: Iterable[str] = (),
        context_facts=None,
        apply_rules: Callable[[list[list[Resource]], object, Analysis], Analysis] | None = None,
    ) -> Analysis:
        """`context_facts`: what the rest of the workspace says (the editor analyses one folder
        at a time): which buckets hold models, which ServiceAccounts roles trust. `apply_rules`:
        how the rules are run, if not by `self.apply_rules` (`parallel` runs them in two)."""
        cache = self.cache or ParseCache()
        scopes = self.load(files, analysis, list(var_files), cache)
        from ..rules import collect_facts

        facts = analysis.facts = collect_facts([resource for scope in scopes for resource in scope], self.config)
        if context_facts is not None:
            facts = context_facts.merged(facts)
        return (apply_rules or self.apply_rules)(scopes, facts, analysis)

    def collect_facts(self, files: list[str], var_files: Iterable[str] = (), analysis: Analysis | None = None):
        """Only the facts of these files: read, parse and evaluate, no rules (`analysis` receives
        what loading learnt: the files each kustomization builds from)."""
        from ..rules import collect_facts

        scopes = self.load(files, analysis or Analysis(), list(var_files), ParseCache())
        return collect_facts([resource for scope in scopes for resource in scope], self.config)

    def apply_rules(
        self,
        scopes: list[list[Resource]],
        facts,
        analysis: Analysis,
        checked_elsewhere: Callable[[Resource], list[Finding] | None] | None = None,
    ) -> Analysis:
        """Every enabled rule on every resource, then suppressions; findings sorted by place.
        `checked_elsewhere` gives the findings of resources another process checked (`check_part`
        there), None for the rest."""
        seen: dict[tuple[str, Span], Finding] = {}
        found = analysis.findings
        fresh: dict[str, dict] | None = {} if self.cache is not None else None
        self._begin_checks(scopes, analysis)
        # kustomize builds: one finding, naming every build that has it, so places are merged as
        # they come; otherwise findings are gathered and made one per rule and place at the end
        builds = any(resource.built_by for scope in scopes for resource in scope)
        start = len(found)
        for scope in scopes:
            context = self._context(scope, facts)
            for observe in self.scope_observers:
                observe(scope)
            # (the editor replays its last results; `--check` may have had a share checked elsewhere)
            replay = self.replayer(context, analysis, fresh) or checked_elsewhere
            for resource in scope:
                replayed = replay(resource) if replay is not None else None
                findings = self.check(resource, context, analysis, fresh) if replayed is None else replayed
                if id(resource) in analysis.kept:  # a file is broken mid-edit: say what this is
                    findings = [dataclasses.replace(f, message=f.message + KEPT_NOTE) for f in findings]
                if not builds:
                    found.extend(findings)
                    continue
                for finding in findings:
                    key = (finding.rule, finding.span)
                    kept = seen.get(key)
                    if kept is None:
                        seen[key] = kept = finding
                        found.append(finding)
                    if resource.built_by:
                        _name_build(kept, resource.built_by)
        if not builds:
            _first_of_each_place(found, start)
        analysis.findings = _without_redundant(analysis.findings)
        if fresh is not None and self.cache is not None:
            self.cache.rule_hits.update({path: {} for path in analysis.sources})
            self.cache.rule_hits.update(fresh)
        self._unchecked_source_findings(analysis)
        self._suppression_findings(analysis)  # last: it needs to know which comments silenced something
        analysis.policy_files = [self.display(path) for path in self.policies.files]
        for problem in self.policies.all_problems:  # broken policy files, reported once
            analysis.add_problem(problem)
        self._views, self._changes_since, self._string_lines = {}, {}, {}
        analysis.findings.sort(key=SORT_KEY)
        return analysis

    def check_part(self, scopes: list[list[Resource]], facts, analysis: Analysis, start: int) -> list[list[Finding]]:
        """The findings of each resource from the `start`-th on (counted across `scopes` in order),
        as `apply_rules` makes them: the other process's share of a scan run in two (`parallel`).
        `analysis` receives what checking records besides findings (suppressions, secrets)."""
        self._begin_checks(scopes, analysis)
        results: list[list[Finding]] = []
        index = 0
        for scope in scopes:
            if index + len(scope) <= start:
                index += len(scope)
                continue
            context = self._context(scope, facts)
            for resource in scope[max(0, start - index) :]:
                results.append(list(self.check(resource, context, analysis)))
            index += len(scope)
        self._views, self._changes_since, self._string_lines = {}, {}, {}
        return results

    def _begin_checks(self, scopes: list[list[Resource]], analysis: Analysis) -> None:
        """This analysis's memos, the rule set compared with the cache's, the Rego batch."""
        self._views, self._changes_since, self._string_lines = {}, {}, {}  # this analysis's memos
        self._rego_hits = {}
        if self.cache is not None:  # the same rules as last time: one object, compared by identity
            if self.cache.rule_set == self._rule_set:
                self._rule_set = self.cache.rule_set
            self.cache.rule_set = self._rule_set
        if self.policies.rego is not None:  # one batch for the whole analysis (policy/rego.py)
            with guarded(
                analysis,
                self.policies.rego.modules[0].source.path if self.policies.rego.modules else "policies",
                "evaluating Rego policies",
            ):
                self._rego_hits = self.policies.rego.evaluate_all(
                    [resource for scope in scopes for resource in scope], self._custom_rule
                )

    def _context(self, scope: list[Resource], facts) -> RuleContext:
        """What the checks of `scope`'s resources see: the scope, the facts, its settings."""
        settings = self.config_of(scope[0].file) if scope and self.configs is not None else self.config
        return RuleContext(scope=scope, facts=facts, settings=settings)


def _with_selectors(config: Config) -> Config:
    """`config` with `framework:control` selectors (`owasp-llm:LLM03`) in `select` and `ignore`
    replaced by the rule IDs they name (configuration knows no rules; the engine does)."""
    if not any(":" in item for item in (*config.select, *config.ignore)):
        return config
    return dataclasses.replace(config, select=expand_selectors(config.select), ignore=expand_selectors(config.ignore))


_PLACE = attrgetter("rule", "span")


def _first_of_each_place(findings: list[Finding], start: int) -> None:
    """Keep the first finding of each rule and place from `start` on (a module's instances, a
    chart's objects may give the same one twice); the check reads the places in C, and a list
    without repeats (nearly always) is left as it is."""
    places = list(map(_PLACE, findings[start:]))
    if len(set(places)) == len(places):
        return
    seen: set = set()
    kept = []
    for finding, place in zip(findings[start:], places, strict=True):
        if place not in seen:
            seen.add(place)
            kept.append(finding)
    findings[start:] = kept


def _without_redundant(findings: list[Finding]) -> list[Finding]:
    """Leave out a finding whose rule is `redundant_with` a rule that reports the same resource
    (no securityContext at all, beside "may run as root"; a cached image, beside "not pinned by
    digest"): one problem, reported once, by the finding that says more and can be fixed. The
    findings kept take the left-out rule's equivalents, so other tools' suppressions still match."""
    folding = {rule.id: rule for rule in all_rules() if rule.redundant_with}
    if folding.keys().isdisjoint(map(attrgetter("rule"), findings)):  # (in C: the editor's every keystroke)
        return findings
    by_resource: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        by_resource.setdefault(finding.resource, []).append(index)
    dropped: set[int] = set()
    kept = list(findings)
    # the merged equivalents of two rules' (mostly each rule's own), made once per pair and
    # shared, as each rule's own are: 100,000 findings made 25 MB of copies
    merges: dict[tuple[int, int], dict[str, list[str]]] = {}
    for index, finding in enumerate(findings):
        rule = folding.get(finding.rule)
        if rule is None:
            continue
        others = [i for i in by_resource[finding.resource] if findings[i].rule in rule.redundant_with]
        if not others:
            continue
        dropped.add(index)
        for other in others:
            pair = (id(kept[other].equivalents), id(finding.equivalents))
            merged = merges.get(pair)
            if merged is None:
                merged = merges[pair] = {
                    tool: list(dict.fromkeys([*ids, *finding.equivalents.get(tool, [])]))
                    for tool, ids in kept[other].equivalents.items()
                }
            kept[other] = kept[other].with_equivalents(merged)
    return [finding for index, finding in enumerate(kept) if index not in dropped]


def _name_build(finding: Finding, built_by: str) -> None:
    """Name a kustomization whose build produced the finding (related information: the finding
    is reported once, however many overlays build the base it is in)."""
    if all(span.file != built_by for span, _ in finding.related):
        finding.related = (*finding.related, (Span(built_by, 0, 0, 0, 0), f"built by {built_by}"))
