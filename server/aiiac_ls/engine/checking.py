"""Running the rules on each resource and turning hits into findings. In the editor each check's
result is kept with what it read of its neighbours (`RuleContext.reads`) and reused while none
of that changed, so a keystroke re-runs only the checks it can affect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Config, ConfigTree
from ..model.findings import Finding, Fix, Hit, Problem, marked_unsafe
from ..model.nodes import Span
from ..model.resources import Resource
from ..rules import EVERYTHING, FACTS, Rule, RuleContext, api_group, rule_kind
from .analysis import Analysis
from .locate import in_caller, in_one_file, in_piece, literal_replacements, locate, writable_fix

if TYPE_CHECKING:
    from .loading import ParseCache

log = logging.getLogger("aiiac_ls.engine")
_NONE: dict = {}  # (read only) no cached results for a file


class Checking:
    """The engine's checking half (`Engine` is made of it)."""

    config: Config
    cache: ParseCache | None  # the editor's, kept across analyses: results are reused from it
    rules: list[Rule]  # the enabled rules
    _by_kind: dict[str, list[Rule]]  # the rules that name each kind (with or without an API group)
    _any_kind: list[Rule]  # rules for every kind
    _grouped_kinds: set[str]  # kinds some rule names with an API group
    # `rules_for`'s, by resource source, kind, and API group (for the grouped kinds)
    _rules_by_kind: dict[tuple[str, str, str | None], list[Rule]]
    fix_edits: bool  # findings carry their fixes' edits (False: a report, which shows titles only)
    batch: bool  # a one-shot run (`--check`), not the editor
    _titles_only: dict[tuple[str, bool], Fix]  # the title-only fixes made, shared
    _enabled: dict[tuple[int, str], bool]  # whether each configuration enables each rule
    _mask_only: set[str]  # credential rules switched off: their hits are only masked
    _custom_rules: dict[str, Rule]  # Rego rules, made as findings name them
    _rego_hits: dict[int, list]  # id(resource) -> Rego (rule, hit)s of the current analysis
    _settings_key: str
    configs: ConfigTree | None  # each file's own configuration, when nested ones apply
    config_of: Callable[[str], Config]  # Engine's
    _suppressed: Callable[[Finding, Resource, Hit, Analysis], bool]  # Suppressing's
    _directives: Callable[[str, Analysis], dict]  # Suppressing's: a file's suppression comments
    _rule_set: tuple  # every rule `rules_for` chooses from, one object while they stay the same
    _comment_line: Callable[[Resource, Span], int]  # Suppressing's
    # this analysis's memos, by id of objects that live through it: each scope's view of its
    # neighbours, and what changed since the view a cached result was made in
    _views: dict[int, tuple]
    _changes_since: dict[tuple[int, int], frozenset[str]]

    def rules_for(self, resource: Resource) -> list[Rule]:
        """The rules that check `resource`: chosen by its source and kind (and API group, for a
        kind some rule names with one), so the list is made once for each (a scan asks once per
        resource). Callers must not change it."""
        kind = resource.kind
        if kind not in self._by_kind:  # a kind no rule names: the rule pack may check it as another
            kind = rule_kind(resource) or kind
        key = (resource.source, kind, api_group(resource) if kind in self._grouped_kinds else None)
        found = self._rules_by_kind.get(key)
        if found is None:
            named = self._by_kind.get(kind, [])
            found = self._rules_by_kind[key] = [rule for rule in named + self._any_kind if rule.applies(resource, kind)]
        return found

    def _run_rule(self, rule: Rule, resource: Resource, context: RuleContext) -> _RuleResult:
        """One check, with what it read of its neighbours recorded."""
        context.reads = set()
        try:
            hits = list(rule.check(resource, context) or ())
        finally:
            reads, context.reads = context.reads, None
        return _RuleResult(rule, hits, frozenset(reads), [None] * len(hits))

    def _cached_results(
        self, resource: Resource, rules: list[Rule], context: RuleContext, fresh: dict, analysis: Analysis
    ) -> list[_RuleResult]:
        """In the editor, the last analysis's results are reused while the resource is the same
        object (its text and position unchanged), the rule the same, and nothing the check read
        of its neighbours (the kinds it looked up, the facts) has changed: a keystroke in one
        block of a 20,000-line module re-runs only the checks that block can affect."""
        assert self.cache is not None  # only the editor reuses results
        key = (id(resource), self._settings_key)
        entry = self.cache.rule_hits.get(resource.file, {}).get(key)
        if entry is not None and entry.resource is not resource:
            entry = None
        if (
            entry is not None
            and self._unchanged(entry.reads, entry.view, context)
            and len(entry.results) == len(rules)
            and all(r.rule is rule for r, rule in zip(entry.results, rules, strict=True))
        ):
            results = entry.results
        else:
            previous = {id(result.rule): result for result in entry.results} if entry is not None else {}
            results = []
            for rule in rules:
                result = previous.get(id(rule))
                if result is None or entry is None or not self._unchanged(result.reads, entry.view, context):
                    try:
                        result = self._run_rule(rule, resource, context)
                    except Exception as exc:  # a rule bug must not stop the scan
                        self._rule_failed(rule, resource, exc, analysis)
                        continue
                results.append(result)
        # stamped with this analysis's view, which equals the one they were made in for all they read
        fresh.setdefault(resource.file, {})[key] = _CachedResults(
            resource,
            self._view(context),
            frozenset().union(*(result.reads for result in results)),
            results,
            self._rule_set,
        )
        return results

    def _view(self, context: RuleContext) -> tuple:
        """What the checks of `context` can read of their neighbours: the scope by kind, and the facts."""
        view = self._views.get(id(context))
        if view is None:
            view = self._views[id(context)] = (context.kinds(), context.facts)
        return view

    def _unchanged(self, reads: frozenset[str], then: tuple, context: RuleContext) -> bool:
        """Whether everything in `reads` is the same in the view `then` as in this analysis."""
        now = self._view(context)
        if then is now:
            return True
        changes = self._changes_since.get((id(context), id(then)))
        if changes is None:
            changes = self._changes_since[(id(context), id(then))] = _changes(then, now)
        return reads.isdisjoint(changes) and not (changes and EVERYTHING in reads)

    def _rule_hits(
        self, resource: Resource, context: RuleContext, analysis: Analysis, fresh: dict | None
    ) -> list[tuple[Rule, list[Hit], list[Finding | None] | None]]:
        """The hits of each applicable rule that has some (and in the editor the findings made of
        them so far): built-in and YAML rules, then the Rego policies. A list, not a generator:
        most of a scan's million checks find nothing, and each yield cost as much as the check."""
        found: list[tuple[Rule, list[Hit], list[Finding | None] | None]] = []
        rules = self.rules_for(resource)
        if self.cache is not None and fresh is not None:
            for result in self._cached_results(resource, rules, context, fresh, analysis):
                if result.hits:
                    found.append((result.rule, result.hits, result.findings))
        else:
            for rule in rules:
                try:
                    hits = list(rule.check(resource, context) or ())
                except Exception as exc:  # a rule bug must not stop the scan
                    self._rule_failed(rule, resource, exc, analysis)
                    continue
                if hits:
                    found.append((rule, hits, None))
        for rule, hit in self._rego_hits.get(id(resource), ()):
            if self.config.rule_enabled(rule.id):
                found.append((rule, [hit], None))
        return found

    def _rule_failed(self, rule: Rule, resource: Resource, exc: Exception, analysis: Analysis) -> None:
        log.exception("rule %s failed on %s", rule.id, resource.address)
        analysis.problems.append(
            Problem(
                resource.file,
                f"internal error in rule {rule.id} on {resource.address}: {type(exc).__name__}: {exc}",
                resource.head,
                kind="internal",
            )
        )

    def reported_rules(self) -> list[Rule]:
        """The enabled rules and the Rego rules findings have named so far (for SARIF)."""
        return [*self.rules, *(rule for rule in self._custom_rules.values() if self.config.rule_enabled(rule.id))]

    def _custom_rule(self, rule_id: str, title: str, severity: str, origin: str, meta: dict) -> Rule:
        rule = self._custom_rules.get(rule_id)
        if rule is None:
            from ..policy.meta import custom_rule

            rule = self._custom_rules[rule_id] = custom_rule(rule_id, title, severity, origin, meta)
        return rule

    def check(
        self, resource: Resource, context: RuleContext, analysis: Analysis, fresh: dict | None = None
    ) -> Iterable[Finding]:
        """The findings of every rule on `resource` (in the editor, `fresh` receives the results
        kept for the next analysis; see `replayer` for a resource whose findings stand)."""
        if fresh is None or self.cache is None:
            return self._findings(resource, context, analysis, None)
        key = (id(resource), self._settings_key)
        suppressed, problems = analysis.suppressed, len(analysis.problems)
        findings = list(self._findings(resource, context, analysis, fresh))
        made = fresh.get(resource.file, {}).get(key)
        if (
            made is not None
            and analysis.suppressed == suppressed
            and len(analysis.problems) == problems  # no rule failed (its problem is reported each time)
            and not self._rego_hits
            and self.configs is None
            and not any(hit.redact for result in made.results for hit in result.hits)
        ):
            made.files = frozenset(finding.span.file for finding in findings)
            if not any(self._directives(path, analysis) for path in made.files):
                made.emitted = findings
        return findings

    def replayer(
        self, context: RuleContext, analysis: Analysis, fresh: dict | None
    ) -> Callable[[Resource], list[Finding] | None] | None:
        """In the editor, for the resources of `context`'s scope: a function giving the last
        analysis's findings of a resource whose checks all stand as they were (the same resource
        object and rules, nothing they read of the scope changed) and whose findings met no
        suppression comment, secret, Rego policy or per-file configuration; None for any other.
        A keystroke in a 20,000-line module then costs one call per unchanged resource."""
        if fresh is None or self.cache is None or self._rego_hits or self.configs is not None:
            return None
        before, now = self.cache.rule_hits, self._view(context)
        settings_key, rule_set, directives = self._settings_key, self._rule_set, self._directives
        changes_since: dict[int, frozenset[str]] = {}  # by id of the view an entry was made in

        def replay(resource: Resource) -> list[Finding] | None:
            key = (id(resource), settings_key)
            entry = before.get(resource.file, _NONE).get(key)
            if (
                entry is None
                or entry.emitted is None
                or entry.resource is not resource
                or entry.rule_set is not rule_set
            ):
                return None
            then = entry.view
            if then is not now:
                changes = changes_since.get(id(then))
                if changes is None:
                    changes = changes_since[id(then)] = _changes(then, now)
                if not entry.reads.isdisjoint(changes) or (changes and EVERYTHING in entry.reads):
                    return None
            for path in entry.files:
                if directives(path, analysis):
                    return None
            entry.view = now  # kept for the next analysis, as a new entry would be
            fresh.setdefault(resource.file, {})[key] = entry
            return entry.emitted

        return replay

    def _findings(
        self, resource: Resource, context: RuleContext, analysis: Analysis, fresh: dict | None
    ) -> Iterable[Finding]:
        for rule, hits, made in self._rule_hits(resource, context, analysis, fresh):
            for index, hit in enumerate(hits):
                if hit.redact:
                    span = locate(hit.at) or resource.head
                    analysis.secret_spans.setdefault(span.file, []).append(span)
                    if rule.id in self._mask_only:
                        continue
                finding = made[index] if made is not None else None
                if finding is None:  # made once per hit: the editor reuses hits across keystrokes
                    finding = self._finding(rule, resource, hit, analysis)
                    if made is not None:
                        made[index] = finding
                if self.configs is not None and not self._enabled_where(finding.file, rule.id):
                    continue  # switched off by the configuration of the file it lands in
                if self._suppressed(finding, resource, hit, analysis):
                    analysis.suppressed += 1
                    continue
                yield finding

    def _enabled_where(self, path: str, rule_id: str) -> bool:
        """Whether the configuration of `path` enables the rule (asked once per configuration
        and rule: a large scan asks for each of its 100,000 findings)."""
        config = self.config_of(path)
        key = (id(config), rule_id)  # (the engine keeps its configurations: the ids stay theirs)
        enabled = self._enabled.get(key)
        if enabled is None:
            enabled = self._enabled[key] = config.rule_enabled(rule_id)
        return enabled

    def _finding(self, rule: Rule, resource: Resource, hit: Hit, analysis: Analysis) -> Finding:
        span = locate(hit.at) or resource.head
        fix = None if resource.plan else writable_fix(hit.fix) if resource.translated else hit.fix
        if fix is not None and rule.unsafe_fix and self.fix_edits:  # (a report's title is marked below)
            fix = marked_unsafe(fix)
        message, related = hit.message, hit.related

        def text_at(where: Span) -> str | None:
            source = analysis.sources.get(where.file)
            if source is None or where.start_line != where.end_line:
                return None
            return source.line(where.start_line)[where.start_col : where.end_col]

        if (resource.source == "terraform" or resource.translated) and resource.site is None and fix is not None:
            fix = literal_replacements(fix, text_at)
        if resource.built_by is not None:
            fix = in_one_file(fix, span.file)
        if hit.part is not None and resource.pieces:
            span, related, fix = in_piece(resource, hit, span, related, fix)
        if resource.site is not None:  # inside a module instance: where the caller changes it
            placed = in_caller(resource, hit, span, fix, text_at)
            span, message, fix = placed.span, placed.message, None if resource.plan else placed.fix
            related = (*related, *placed.related)
        if fix is not None and not self.fix_edits:  # a report: its title, one object per title
            title = (fix.title, fix.unsafe or bool(rule.unsafe_fix))
            fix = self._titles_only.get(title) or self._titles_only.setdefault(
                title, Fix(title[0], (), unsafe=title[1])
            )
        return Finding(
            rule=rule.id,
            severity=self.config_of(span.file).severity.get(rule.id) or hit.severity or rule.severity,
            title=rule.title,
            message=message,
            span=span,
            resource=resource.address,
            fix=fix,
            related=related,
            equivalents={**rule.equivalents, **hit.equivalents} if hit.equivalents else rule.equivalents,
            redact=hit.redact,
            # (where the editor's "ignore" action writes its comment: a one-shot run has no use for it)
            comment_line=None if self.batch else self._comment_line(resource, span),
        )


@dataclass
class _RuleResult:
    """A check's hits on one resource, what it read of its neighbours, and the findings made
    of the hits so far (the editor reuses them across keystrokes)."""

    rule: Rule
    hits: list[Hit]
    reads: frozenset[str]
    findings: list[Finding | None]


@dataclass
class _CachedResults:
    """Every check's result on one resource, with the view of the scope they were made in."""

    resource: Resource
    view: tuple
    reads: frozenset[str]  # all the checks read, together
    results: list[_RuleResult]
    rule_set: tuple  # the engine's rules they were made with
    # the findings the checks gave, when none met a suppression comment, a secret or a per-file
    # configuration (then they are the same while nothing changes), and the files they land in
    emitted: list[Finding] | None = None
    files: frozenset[str] = frozenset()


def _changes(then: tuple, now: tuple) -> frozenset[str]:
    """What differs between two views of a scope: the kinds whose resources are not the same
    objects in the same order, and FACTS if the facts differ. Linear in the scope, once per pair."""
    (kinds_then, facts_then), (kinds_now, facts_now) = then, now
    changed = {FACTS} if facts_then != facts_now else set()
    for kind in set(kinds_then) | set(kinds_now):
        old, new = kinds_then.get(kind, ()), kinds_now.get(kind, ())
        if len(old) != len(new) or any(a is not b for a, b in zip(old, new, strict=True)):
            changed.add(kind)
    return frozenset(changed)
