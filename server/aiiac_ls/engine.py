"""The one engine behind `--check` and the language server.

paths -> files by format -> parsed models -> resources -> facts -> rules -> located, suppressed,
de-duplicated findings. Every file that cannot be analysed becomes a `Problem` naming the file
and the cause; the rest of the scan goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .config import DEFAULT_EXCLUDES, Config
from .formats.hcl.syntax import HclFile
from .formats.helm.chart import RenderOptions, outermost_chart_root, render_chart
from .formats.kubernetes_tf import kubernetes_objects
from .formats.source import SourceError, SourceFile, read_source
from .formats.terraform import ModuleInstance, TerraformProject
from .formats.tfplan import looks_like_plan
from .formats.yaml import kubernetes_resources, parse_yaml
from .limits import DEFAULT_LIMITS, Limits
from .model.findings import Finding, Fix, Hit, Problem, RemoveKey, ReplaceValue
from .model.nodes import Entry, Mapping, Node, Sequence, Span
from .model.resources import Resource
from .rules import EVERYTHING, FACTS, Facts, Rule, RuleContext, all_rules, get_rule
from .suppress import Directive, candidate_lines, may_have_directives, parse_directives

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
TF_SUFFIXES = (".tf",)
TFVARS_SUFFIXES = (".tfvars",)

Reader = Callable[[str, str], SourceFile]


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
    policy_files: list[str] = field(default_factory=list)  # the custom rule files applied (display paths)
    facts: Facts | None = None  # the scan-wide facts these files contribute (the rule pack's)

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
        for known in self.problems[self._problems_indexed:]:
            self._problem_keys.add(known.key)
        self._problems_indexed = len(self.problems)
        if problem.key not in self._problem_keys:
            self._problem_keys.add(problem.key)
            self.problems.append(problem)
            self._problems_indexed += 1


def display_path(path: str) -> str:
    """Relative to the working directory when below it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:
        return absolute
    return absolute if relative.startswith("..") else relative


def classify(path: str) -> str | None:
    """yaml | helm | tf | tfvars | plan | None (not ours). `helm`: a file of a chart that its rendering
    reads (templates, values files, Chart.yaml, subcharts); a chart's `crds/` stay plain YAML."""
    name = os.path.basename(path)
    if name.endswith(TF_SUFFIXES):
        return "tf"
    if name.endswith(".tfplan.json") or name in ("tfplan.json", "plan.json"):
        return "plan"  # `terraform show -json` output (any .json named on the command line is tried too)
    if name.endswith(TFVARS_SUFFIXES):
        return "tfvars"
    if name.endswith(YAML_SUFFIXES) or name.endswith(".tpl") or name.endswith(".tgz"):
        root = chart_root(path)
        if root is not None:
            relative = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
            if relative.startswith(("templates/", "charts/")) or relative == "Chart.yaml" or \
                    (relative.startswith("values") and "/" not in relative):
                return "helm"
        return "yaml" if name.endswith(YAML_SUFFIXES) else None
    return None


def chart_root(path: str) -> str | None:
    """The chart folder (with Chart.yaml) that `path` belongs to, if any."""
    directory = os.path.dirname(os.path.abspath(path))
    for _ in range(8):
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return None




def discover(paths: Iterable[str], config: Config, problems: list[Problem],
             display: Callable[[str], str] = display_path) -> list[str]:
    """Files to analyse under `paths` (explicit files are always analysed), in a stable order.

    Symlinks inside a scanned folder are not followed (a loop, or a link to /etc, must not widen
    the scan); each one that would have been read is reported as skipped, with where it points."""
    found: list[str] = []
    seen: set[str] = set()
    roots = [os.path.realpath(path) for path in paths]

    def skip_link(link: str, folder: bool) -> None:
        target = os.path.realpath(link)
        inside = any(target == root or target.startswith(root + os.sep) for root in roots)
        what = "symlinked folder" if folder else "symlink"
        where = "inside the scan, read at its own path" if inside else "outside the scanned folders"
        problems.append(Problem(display(link), f"{what} to {display(target)} ({where}); not followed",
                                kind="skipped"))

    for path in paths:
        if not os.path.exists(path):
            problems.append(Problem(display(path), "no such file or directory"))
            continue
        if os.path.isfile(path):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
            continue
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in DEFAULT_EXCLUDES and not config.excluded(os.path.join(root, d)))
            for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                dirs.remove(name)
                skip_link(os.path.join(root, name), folder=True)
            for name in sorted(files):
                full = os.path.join(root, name)
                if classify(full) is None or config.excluded(full):
                    continue
                if os.path.islink(full):
                    if classify(full) != "helm":  # a chart's own files: the chart reader decides
                        skip_link(full, folder=False)
                    continue
                real = os.path.realpath(full)
                if real not in seen:
                    seen.add(real)
                    found.append(full)
    return found


def _default_reader(path: str, shown: str) -> SourceFile:
    return read_source(path, shown)


class ParseCache:
    """Parsed files by (path, text), so an editor re-parses only the file that changed.

    `--check` uses a fresh, short-lived cache; the language server keeps one for its lifetime."""

    def __init__(self, limit: int = 4096):
        self.limit = limit
        # by path: (the text and settings it was parsed with, the parse); one version per path
        self._yaml: dict[str, tuple[tuple, tuple]] = {}
        self._hcl: dict[str, tuple[str, HclFile]] = {}
        self.evaluations: dict[str, dict] = {}  # Terraform block evaluations by module folder (terraform.py)
        self.charts: dict[str, object] = {}  # last render per chart (templates mid-edit keep their objects)
        # by file: (id(resource), settings) -> every check's result on it; each analysis replaces
        # the tables of the files it analysed, so only current resources are kept alive
        self.rule_hits: dict[str, dict[tuple, _CachedResults]] = {}

    def yaml(self, source: SourceFile, limits: Limits = DEFAULT_LIMITS):
        key = (source.text, limits)
        found = self._yaml.get(source.path)
        if found is None or found[0] != key:
            documents, errors = parse_yaml(source, limits)
            found = (key, (errors, kubernetes_resources(documents, source.path)))
            self._store(self._yaml, source.path, found)
        return found[1]

    def hcl(self, source: SourceFile) -> HclFile:
        """The parsed file; a new text of a path is re-parsed incrementally from its last tree."""
        found = self._hcl.get(source.path)
        if found is None or found[0] != source.text:
            found = (source.text, HclFile(source, found[1] if found is not None else None))
            self._store(self._hcl, source.path, found)
        return found[1]

    def _store(self, table: dict, path: str, value) -> None:
        table.pop(path, None)  # one version per path, the newest last
        if len(table) >= self.limit:
            del table[next(iter(table))]
        table[path] = value


class Engine:
    """Runs the rules. Cheap to create; the rule list is loaded once per engine.

    `absolute_paths` makes every reported path absolute (the language server maps them to URIs);
    `cache` lets a long-lived caller reuse parses of unchanged files."""

    def __init__(self, config: Config | None = None, absolute_paths: bool = False, cache: ParseCache | None = None,
                 overlay: Callable[[str], str | None] | None = None, set_values: tuple[str, ...] = ()):
        self.config = config or Config()
        self.overlay = overlay  # the text of an open editor buffer, for files read in bulk (charts)
        self.set_values = set_values
        self._settings_key = repr(sorted((k, repr(v)) for k, v in vars(self.config).items()))
        self.display: Callable[[str], str] = os.path.abspath if absolute_paths else display_path
        self.cache = cache
        # called with each scope's resources before its rules run (`--diff` records digests)
        self.scope_observers: list[Callable[[list[Resource]], None]] = []
        from .policy.loader import load_policies

        self.policies = load_policies(self.config, self.display)
        self.rules: list[Rule] = [rule for rule in [*all_rules(), *self.policies.rules]
                                  if self.config.rule_enabled(rule.id)]
        self._custom_rules: dict[str, Rule] = {}  # Rego findings' rules, by id
        self._rego_hits: dict[int, list] = {}  # id(resource) -> Rego (rule, hit)s of the current analysis
        # rules that find credentials run even when switched off: their hits are only masked
        self._mask_only = {rule.id for rule in all_rules() if rule.finds_secrets and rule not in self.rules}
        self._by_kind: dict[str, list[Rule]] = {}
        self._any_kind: list[Rule] = []
        for rule in [*self.rules, *(get_rule(rule_id) for rule_id in sorted(self._mask_only))]:
            if rule.applies_to is None:
                self._any_kind.append(rule)
            else:
                for kind in rule.applies_to:
                    self._by_kind.setdefault(kind, []).append(rule)

    # ---- entry points -------------------------------------------------------------------------

    def analyse_paths(self, paths: list[str], var_files: Iterable[str] = (),
                      reader: Reader = _default_reader) -> Analysis:
        """Everything under `paths`, in this process (`parallel.analyse_paths` may use two)."""
        analysis = Analysis()
        files = self.files_under(paths, analysis)
        return self.analyse_files(files, analysis, var_files=[*self.config.var_files, *var_files], reader=reader)

    def files_under(self, paths: list[str], analysis: Analysis) -> list[str]:
        """The files to analyse under `paths` (rule files are configuration, not infrastructure)."""
        files = discover(paths, self.config, analysis.problems, self.display)
        if self.policies.files:
            policy_files = {os.path.abspath(path) for path in self.policies.files}
            files = [path for path in files if os.path.abspath(path) not in policy_files]
        return files

    def analyse_files(self, files: list[str], analysis: Analysis, var_files: Iterable[str] = (),
                      reader: Reader = _default_reader, context_facts=None) -> Analysis:
        """`context_facts`: what the rest of the workspace says (the editor analyses one folder
        at a time): which buckets hold models, which ServiceAccounts roles trust."""
        cache = self.cache or ParseCache()
        scopes = self.load(files, analysis, list(var_files), reader, cache)
        from .rules import collect_facts

        facts = analysis.facts = collect_facts([resource for scope in scopes for resource in scope], self.config)
        if context_facts is not None:
            facts = context_facts.merged(facts)
        return self.apply_rules(scopes, facts, analysis)

    def collect_facts(self, files: list[str], var_files: Iterable[str] = (), reader: Reader = _default_reader):
        """Only the facts of these files: read, parse and evaluate, no rules."""
        from .rules import collect_facts

        scopes = self.load(files, Analysis(), list(var_files), reader, ParseCache())
        return collect_facts([resource for scope in scopes for resource in scope], self.config)

    def load(self, files: list[str], analysis: Analysis, var_files: list[str], reader: Reader,
             cache: ParseCache) -> list[list[Resource]]:
        """Read, parse, render and evaluate: the resources in their rule scopes (all Kubernetes
        objects of the scan are one scope; each Terraform module instance is one)."""
        if reader is _default_reader:
            reader = self.read_file
        kubernetes: list[Resource] = []
        plans: list[list[Resource]] = []
        tf_dirs: dict[str, list[str]] = {}
        charts: dict[str, None] = {}
        for path in files:
            kind = classify(path) or "yaml"
            shown = self.display(path)
            if kind == "helm":
                root = outermost_chart_root(path)
                if root is not None:
                    charts[root] = None
                continue
            if kind in ("tf", "tfvars"):
                tf_dirs.setdefault(os.path.dirname(os.path.abspath(path)), []).append(path)
                continue
            source = self._read(path, shown, analysis, reader)
            if source is None:
                continue
            if path.endswith(".json") and looks_like_plan(source.text):
                with guarded(analysis, shown, "reading the Terraform plan"):
                    plans.append(self._plan(path, source, analysis, var_files, reader))
                continue
            with guarded(analysis, shown, "reading the YAML"):
                errors, resources = cache.yaml(source, self.config.limits)
                for error in errors:
                    analysis.problems.append(Problem(shown, error.message, error.span, kind="syntax"))
                kubernetes.extend(resources)
        for root in charts:
            with guarded(analysis, self.display(root), "rendering the chart"):
                kubernetes.extend(self._chart(root, analysis, reader, cache))
        scopes: list[list[Resource]] = []
        if kubernetes:
            scopes.append(kubernetes)
        if tf_dirs:
            scopes.extend(self._terraform(tf_dirs, analysis, var_files, reader, cache))
        scopes.extend(plan for plan in plans if plan)
        analysis.resources += sum(len(scope) for scope in scopes)
        return scopes

    def apply_rules(self, scopes: list[list[Resource]], facts, analysis: Analysis) -> Analysis:
        """Every enabled rule on every resource, then suppressions; findings sorted by place."""
        seen: set[tuple[str, Span]] = set()
        fresh: dict[str, dict] | None = {} if self.cache is not None else None
        self._rego_hits = {}
        if self.policies.rego is not None:  # one batch for the whole analysis (policy/rego.py)
            with guarded(analysis, self.policies.rego.modules[0].source.path if self.policies.rego.modules
                         else "policies", "evaluating Rego policies"):
                self._rego_hits = self.policies.rego.evaluate_all(
                    [resource for scope in scopes for resource in scope], self._custom_rule)
        for scope in scopes:
            context = RuleContext(scope=scope, facts=facts, settings=self.config)
            for observe in self.scope_observers:
                observe(scope)
            for resource in scope:
                for finding in self.check(resource, context, analysis, fresh):
                    key = (finding.rule, finding.span)
                    if key not in seen:
                        seen.add(key)
                        analysis.findings.append(finding)
        if fresh is not None:
            self.cache.rule_hits.update({path: {} for path in analysis.sources})
            self.cache.rule_hits.update(fresh)
        self._suppression_findings(analysis)
        analysis.policy_files = [self.display(path) for path in self.policies.files]
        for problem in self.policies.all_problems:  # broken policy files, reported once
            analysis.add_problem(problem)
        analysis.findings.sort(key=Finding.sort_key)
        return analysis

    # ---- reading ------------------------------------------------------------------------------

    def read_file(self, path: str, shown: str) -> SourceFile:
        """The disk, within the configured file size limit."""
        return read_source(path, shown, self.config.limits.max_file_bytes)

    def _read(self, path: str, shown: str, analysis: Analysis, reader: Reader) -> SourceFile | None:
        try:
            source = reader(path, shown)
        except SourceError as exc:
            analysis.problems.append(Problem(shown, exc.message, exc.span))
            return None
        analysis.sources[shown] = source
        analysis.files += 1
        analysis.lines += source.text.count("\n") + 1
        return source

    def _chart(self, root: str, analysis: Analysis, reader: Reader, cache: ParseCache) -> list[Resource]:
        """Render a chart in-process; its objects join the Kubernetes scope, located at their origin."""
        values_files = [os.path.join(root, f) if not os.path.isabs(f) else f for f in self.config.values_files]
        options = RenderOptions(values_files=tuple(f for f in values_files if os.path.isfile(f) or (self.overlay
                                                   and self.overlay(f) is not None)),
                                set_values=self.set_values, limits=self.config.limits)
        return self._render(root, options, root, analysis, reader, cache)

    def _releases(self, resources: list[Resource], module_dir: str, analysis: Analysis, reader: Reader,
                  cache: ParseCache) -> list[Resource]:
        """Charts in the repository that a `helm_release` deploys, rendered with its values."""
        if not any(resource.kind == "helm_release" for resource in resources):
            return []
        from .formats.helm_release import local_releases

        def text_of(path: str) -> str | None:
            source = analysis.sources.get(path)
            return source.text if source else None

        rendered: list[Resource] = []
        for release in local_releases(resources, module_dir, text_of):
            options = RenderOptions(release_name=release.name, namespace=release.namespace,
                                    values_files=release.values_files, value_overrides=release.overrides,
                                    limits=self.config.limits)
            with guarded(analysis, release.resource.file, f"rendering the chart of {release.resource.address}"):
                rendered += self._render(release.chart_root, options, (release.chart_root, release.resource.address),
                                         analysis, reader, cache)
        return rendered

    def _render(self, root: str, options: RenderOptions, key, analysis: Analysis, reader: Reader,
                cache: ParseCache) -> list[Resource]:
        if self.config.kube_version:
            options.kube_version = self.config.kube_version
        previous = cache.charts.get(key)
        render = render_chart(root, options, display=self.display, read=reader, overlay=self.overlay,
                              previous=previous)
        render.files = []  # the rendered text and its segments are not needed once objects are mapped
        if self.cache is not None:  # an editor keeps the last good render of each template
            cache.charts[key] = render
        for source in render.sources.values():
            if source.path not in analysis.sources:
                analysis.sources[source.path] = source
                analysis.files += 1
                analysis.lines += source.text.count("\n") + 1
        for problem in render.problems:
            kind = {"syntax": "syntax", "warning": "warning", "skipped": "skipped"}.get(problem.kind, "error")
            analysis.add_problem(Problem(problem.path, problem.message, problem.span, kind=kind))
        return render.resources

    def _plan(self, path: str, source: SourceFile, analysis: Analysis, var_files: list[str],
              reader: Reader) -> list[Resource]:
        """A plan's resources (one scope), located in the configuration of the plan's folder or
        its parent when that holds the `.tf` files, else in the plan file."""
        from .formats.tfplan import plan_resources
        from .formats.yaml import json_nodes

        root = json_nodes(source.text, source.path, 0)
        if not isinstance(root, Mapping):
            analysis.problems.append(Problem(source.path, "Terraform plan JSON could not be read"))
            return []
        config: dict[str, Resource] = {}
        folder = os.path.dirname(os.path.abspath(path))
        for directory in (folder, os.path.dirname(folder)):
            tf_files = sorted(os.path.join(directory, name) for name in os.listdir(directory)
                              if name.endswith(TF_SUFFIXES + TFVARS_SUFFIXES))
            if any(name.endswith(TF_SUFFIXES) for name in tf_files):
                scratch = Analysis()  # only the configuration's positions and texts are wanted
                for scope in self._terraform({directory: tf_files}, scratch, var_files, reader, ParseCache()):
                    config.update((resource.address, resource) for resource in scope
                                  if resource.source == "terraform")
                for shown, text in scratch.sources.items():
                    analysis.sources.setdefault(shown, text)
                break
        resources = plan_resources(root, config)
        if not resources:
            analysis.problems.append(Problem(source.path, "Terraform plan JSON has no planned_values resources",
                                             kind="warning"))
        return resources

    def _terraform(self, tf_dirs: dict[str, list[str]], analysis: Analysis, var_files: list[str],
                   reader: Reader, cache: ParseCache) -> list[list[Resource]]:
        """Module instances of the scanned Terraform, group by group: folders that call each other
        as local modules are one group. In `--check` each group gets its own parse cache, so its
        syntax trees (~60 bytes per byte of HCL) are freed before the next group is parsed."""
        sources: dict[str, SourceFile] = {}
        for paths in tf_dirs.values():
            for path in paths:
                source = self._read(path, self.display(path), analysis, reader)
                if source is not None:
                    sources[path] = source
        extra_sources = [s for s in (self._read(p, self.display(p), analysis, reader) for p in var_files) if s]
        scopes: list[list[Resource]] = []
        # the editor analyses one folder, with a cache it keeps: one group, no regex per keystroke
        groups = module_groups(tf_dirs, {path: source.text for path, source in sources.items()}) \
            if self.cache is None else [list(tf_dirs)]
        for group in groups:
            group_cache = cache if self.cache is not None else ParseCache()
            scopes.extend(self._terraform_group({d: tf_dirs[d] for d in group}, sources, extra_sources, analysis,
                                                reader, group_cache))
        return scopes

    def _terraform_group(self, tf_dirs: dict[str, list[str]], sources: dict[str, SourceFile],
                         extra_sources: list[SourceFile], analysis: Analysis, reader: Reader,
                         cache: ParseCache) -> list[list[Resource]]:
        def load(path: str) -> HclFile:
            """Files of child modules outside the scan: read (through the editor's buffers) and parsed."""
            source = reader(path, self.display(path))
            analysis.sources[source.path] = source
            return cache.hcl(source)

        project = TerraformProject(display=self.display, load=load, evaluations=cache.evaluations)
        for paths in tf_dirs.values():
            for path in paths:
                source = sources.get(path)
                if source is None:
                    continue
                with guarded(analysis, source.path, "parsing the Terraform"):
                    hcl = cache.hcl(source)
                    for span, message in hcl.syntax_errors():
                        analysis.problems.append(Problem(source.path, message, span, kind="syntax"))
                    project.add_file(hcl, path)
        extra_vars = [cache.hcl(source) for source in extra_sources]
        roots: dict[str, ModuleInstance] = {}
        for directory in tf_dirs:
            files = project.module_files(directory)
            if files is not None and files.tf:
                roots[os.path.realpath(directory)] = ModuleInstance(project, files, var_files=extra_vars)
        # a folder called as a local module by another scanned module is analysed through its
        # callers (with their inputs), not on its own with defaults
        called: set[str] = set()
        for instance in roots.values():
            for call in instance.calls():
                if call.child_dir and os.path.realpath(call.child_dir) != instance.directory:
                    called.add(os.path.realpath(call.child_dir))
        scopes: list[list[Resource]] = []
        for key, instance in roots.items():
            if key in called:
                continue
            with guarded(analysis, instance.files.display_dir, "evaluating the Terraform module"):
                self._instance_scopes(instance, scopes, analysis, reader, cache)
        for path, error in project.problems:
            analysis.problems.append(Problem(self.display(path), getattr(error, "message", str(error)),
                                             getattr(error, "span", None)))
        return scopes

    def _instance_scopes(self, instance: ModuleInstance, scopes: list[list[Resource]], analysis: Analysis,
                         reader: Reader, cache: ParseCache) -> None:
        try:
            resources = instance.resources()
            scopes.append(resources + kubernetes_objects(resources)
                          + self._releases(resources, instance.files.display_dir, analysis, reader, cache))
        except RecursionError:
            analysis.problems.append(Problem(instance.files.display_dir, "module too deeply nested to evaluate"))
            return
        for call in instance.calls():
            if call.child_dir is None:
                continue
            if not os.path.isdir(call.child_dir):
                analysis.problems.append(Problem(call.span.file, f"module `{call.name}`: source folder "
                                                 f"`{call.source}` not found", call.span, kind="warning"))
                continue
            child = instance.child(call.name)
            if child is not None:
                self._instance_scopes(child, scopes, analysis, reader, cache)

    # ---- rules --------------------------------------------------------------------------------

    def rules_for(self, resource: Resource) -> list[Rule]:
        candidates = self._by_kind.get(resource.kind, []) + self._any_kind
        return [rule for rule in candidates if rule.applies(resource)]

    def _run_rule(self, rule: Rule, resource: Resource, context: RuleContext) -> _RuleResult:
        """One check, with what it read of its neighbours recorded."""
        context.reads = set()
        try:
            hits = list(rule.check(resource, context) or ())
        finally:
            reads, context.reads = context.reads, None
        return _RuleResult(rule, hits, frozenset(reads), [None] * len(hits))

    def _cached_results(self, resource: Resource, rules: list[Rule], context: RuleContext, fresh: dict,
                        analysis: Analysis) -> list[_RuleResult]:
        """In the editor, the last analysis's results are reused while the resource is the same
        object (its text and position unchanged), the rule the same, and nothing the check read
        of its neighbours (the kinds it looked up, the facts) has changed: a keystroke in one
        block of a 20,000-line module re-runs only the checks that block can affect."""
        key = (id(resource), self._settings_key)
        entry = self.cache.rule_hits.get(resource.file, {}).get(key)
        if entry is not None and entry.resource is not resource:
            entry = None
        if entry is not None and self._unchanged(entry.reads, entry.view, context) and \
                len(entry.results) == len(rules) and all(r.rule is rule for r, rule in zip(entry.results, rules, strict=True)):
            results = entry.results
        else:
            previous = {id(result.rule): result for result in entry.results} if entry is not None else {}
            results = []
            for rule in rules:
                result = previous.get(id(rule))
                if result is None or not self._unchanged(result.reads, entry.view, context):
                    try:
                        result = self._run_rule(rule, resource, context)
                    except Exception as exc:  # a rule bug must not stop the scan
                        self._rule_failed(rule, resource, exc, analysis)
                        continue
                results.append(result)
        # stamped with this analysis's view, which equals the one they were made in for all they read
        fresh.setdefault(resource.file, {})[key] = _CachedResults(
            resource, self._view(context), frozenset().union(*(result.reads for result in results)), results)
        return results

    def _view(self, context: RuleContext) -> tuple:
        """What the checks of `context` can read of their neighbours: the scope by kind, and the facts."""
        view = context.__dict__.get("_view")
        if view is None:
            view = context.__dict__["_view"] = (context.kinds(), context.facts)
        return view

    def _unchanged(self, reads: set[str], then: tuple, context: RuleContext) -> bool:
        """Whether everything in `reads` is the same in the view `then` as in this analysis."""
        now = self._view(context)
        if then is now:
            return True
        memo = context.__dict__.setdefault("_changes", {})
        changes = memo.get(id(then))
        if changes is None:
            changes = memo[id(then)] = _changes(then, now)
        return reads.isdisjoint(changes) and not (changes and EVERYTHING in reads)

    def _rule_hits(self, resource: Resource, context: RuleContext, analysis: Analysis,
                   fresh: dict | None) -> Iterable[tuple[Rule, list[Hit], list[Finding | None] | None]]:
        """Each applicable rule's hits (and in the editor the findings made of them so far):
        built-in and YAML rules, then the Rego policies."""
        rules = self.rules_for(resource)
        if self.cache is not None and fresh is not None:
            for result in self._cached_results(resource, rules, context, fresh, analysis):
                yield result.rule, result.hits, result.findings
        else:
            for rule in rules:
                try:
                    hits = list(rule.check(resource, context) or ())
                except Exception as exc:  # a rule bug must not stop the scan
                    self._rule_failed(rule, resource, exc, analysis)
                    continue
                yield rule, hits, None
        for rule, hit in self._rego_hits.get(id(resource), ()):
            if self.config.rule_enabled(rule.id):
                yield rule, [hit], None

    def _rule_failed(self, rule: Rule, resource: Resource, exc: Exception, analysis: Analysis) -> None:
        log.exception("rule %s failed on %s", rule.id, resource.address)
        analysis.problems.append(Problem(resource.file, f"internal error in rule {rule.id} on "
                                         f"{resource.address}: {type(exc).__name__}: {exc}",
                                         resource.head, kind="internal"))

    def reported_rules(self) -> list[Rule]:
        """The enabled rules and the Rego rules findings have named so far (for SARIF)."""
        return [*self.rules, *(rule for rule in self._custom_rules.values() if self.config.rule_enabled(rule.id))]

    def _custom_rule(self, rule_id: str, title: str, severity: str, origin: str, meta: dict) -> Rule:
        rule = self._custom_rules.get(rule_id)
        if rule is None:
            from .policy.meta import custom_rule

            rule = self._custom_rules[rule_id] = custom_rule(rule_id, title, severity, origin, meta)
        return rule

    def check(self, resource: Resource, context: RuleContext, analysis: Analysis,
              fresh: dict | None = None) -> Iterable[Finding]:
        for rule, hits, made in self._rule_hits(resource, context, analysis, fresh):
            for index, hit in enumerate(hits):
                if hit.redact:
                    span = locate(hit.at) or resource.head
                    analysis.secret_spans.setdefault(span.file, []).append(span)
                    if rule.id in self._mask_only:
                        continue
                finding = made[index] if made is not None else None
                if finding is None:  # made once per hit: the editor reuses hits across keystrokes
                    finding = self._finding(rule, resource, hit)
                    if made is not None:
                        made[index] = finding
                if self._suppressed(finding, resource, hit, analysis):
                    analysis.suppressed += 1
                    continue
                yield finding

    def _finding(self, rule: Rule, resource: Resource, hit: Hit) -> Finding:
        span = locate(hit.at) or resource.head
        severity = self.config.severity.get(rule.id) or hit.severity or rule.severity
        fix = None if resource.plan else writable_fix(hit.fix) if resource.translated else hit.fix
        return Finding(rule=rule.id, severity=severity, title=rule.title, message=hit.message, span=span,
                       resource=resource.address, fix=fix, related=hit.related,
                       equivalents=rule.equivalents, redact=hit.redact)

    # ---- suppression --------------------------------------------------------------------------

    def _directives(self, path: str, analysis: Analysis) -> dict[int, list[Directive]]:
        cache = analysis.__dict__.setdefault("_directives", {})
        if path not in cache:
            source = analysis.sources.get(path)
            cache[path] = parse_directives(path, source.lines) if source and may_have_directives(source.text) else {}
        return cache[path]

    def _suppressed(self, finding: Finding, resource: Resource, hit: Hit, analysis: Analysis) -> bool:
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
                    if directive.tool == "aiiac":
                        unknown = [i for i in directive.ids if not self._known_rule(i)] or \
                            ([] if directive.ids else ["(none)"])
                        if unknown and "AIS002" in enabled:
                            analysis.findings.append(self._meta_finding(
                                "AIS002", directive, f"suppression names unknown rule {', '.join(unknown)}"))
                    if not directive.reason and "AIS001" in enabled:
                        analysis.findings.append(self._meta_finding(
                            "AIS001", directive, "suppression gives no reason (add `-- why this is acceptable`)"))

    def _known_rule(self, rule_id: str) -> bool:
        """Rego rules exist only once a finding names them; with Rego policies configured, any
        well-formed custom id may be one."""
        if get_rule(rule_id) is not None:
            return True
        return self.policies.rego is not None and not rule_id.upper().startswith("AIS")

    def _meta_finding(self, rule_id: str, directive: Directive, message: str) -> Finding:
        rule = get_rule(rule_id)
        assert rule is not None
        return Finding(rule=rule_id, severity=self.config.severity.get(rule_id, rule.severity), title=rule.title,
                       message=message, span=directive.span, resource="", equivalents=rule.equivalents)


_LOCAL_MODULE_SOURCE = re.compile(r'\bsource\s*=\s*"(\.{1,2}/[^"]*)"')


def module_groups(tf_dirs: dict[str, list[str]], texts: dict[str, str]) -> list[list[str]]:
    """The folders of `tf_dirs` grouped so that folders calling each other as local modules
    (`source = "../modules/x"`, directly or through others) are in one group; in scan order."""
    leader = {directory: directory for directory in tf_dirs}
    by_real = {os.path.realpath(directory): directory for directory in tf_dirs}

    def find(directory: str) -> str:
        while leader[directory] != directory:
            leader[directory] = leader[leader[directory]]
            directory = leader[directory]
        return directory

    for directory, paths in tf_dirs.items():
        for path in paths:
            text = texts.get(path, "")
            if "source" not in text:
                continue
            for match in _LOCAL_MODULE_SOURCE.finditer(text):
                target = by_real.get(os.path.realpath(os.path.join(directory, match.group(1))))
                if target is not None:
                    leader[find(target)] = find(directory)
    groups: dict[str, list[str]] = {}
    for directory in tf_dirs:
        groups.setdefault(find(directory), []).append(directory)
    return list(groups.values())


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


@contextlib.contextmanager
def guarded(analysis: Analysis, path: str, doing: str):
    """The last line of defence: a bug on one file or unit becomes a problem naming it, and the
    rest of the scan goes on. (Expected bad input has its own, precise problems.)"""
    try:
        yield
    except Exception as exc:
        log.exception("internal error while %s %s", doing, path)
        analysis.problems.append(Problem(path, f"internal error while {doing}: {type(exc).__name__}: {exc} "
                                               "(please report this)", kind="internal"))


def writable_fix(fix: Fix | None) -> Fix | None:
    """For a translated resource: the fix (or its fallback) if it only replaces values or removes
    keys, edits made on the nodes' own spans; None when it would have to spell a new key."""
    while fix is not None and not all(isinstance(edit, (ReplaceValue, RemoveKey)) for edit in fix.edits):
        fix = fix.fallback
    return fix


def locate(target) -> Span | None:
    """The span a finding is reported at: a key with its value when on one line, a block's header."""
    if isinstance(target, Span):
        return target
    if isinstance(target, Entry):
        key, value = target.key_span, target.value.span
        if key is not None and value is not None and key.file != value.file:
            return value  # a chart value written in values.yaml: report where the user changes it
        if key is not None and value is not None and key.start_line == value.end_line and \
                not isinstance(target.value, (Mapping, Sequence)):
            return Span(key.file, key.start_line, key.start_col, value.end_line, value.end_col)
        return key or value
    if isinstance(target, Mapping):
        return target.head or target.span
    if isinstance(target, Sequence) and target.style == "hcl-blocks" and target.items:
        first = target.items[0]
        return getattr(first, "head", None) or first.span
    if isinstance(target, Node):
        return target.span
    return None
