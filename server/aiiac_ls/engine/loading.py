"""Reading, parsing, rendering and evaluating: files in, resources out, in their rule scopes (all
Kubernetes objects of a scan are one scope; each Terraform module instance is one). One loader
per format: YAML manifests (`cache.yaml`), Helm charts (`_chart`, `_render`), Terraform module
groups (`_terraform`), plans (`_plan`), and the charts a `helm_release` deploys (`_releases`).
`ParseCache` keeps parses by text, so an editor re-parses only what changed."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import Config, ConfigTree
from ..formats.kustomize import KUSTOMIZATION_FILES
from ..formats.source import FileSystem, SourceError, SourceFile
from ..formats.yaml import kubernetes_resources, object_resources, parse_yaml
from ..limits import DEFAULT_LIMITS, Limits
from ..model.findings import Problem
from ..model.nodes import Mapping
from ..model.resources import Resource
from .analysis import Analysis, guarded
from .discovery import TF_SUFFIXES, TFVARS_SUFFIXES, classify

if TYPE_CHECKING:
    from ..formats.hcl.syntax import HclFile
    from ..formats.helm.chart import ChartRender, RenderOptions
    from ..formats.kustomize.build import Built
    from ..formats.terraform import ModuleInstance, ModuleMemory
    from .checking import _CachedResults

# The loaders of Terraform, charts, plans and kustomizations import their formats when first
# used: a scan of plain manifests never loads them (a tenth of a second of every run).

log = logging.getLogger("aiiac_ls.engine")


class ParseCache:
    """Parsed files by (path, text), so an editor re-parses only the file that changed.

    `--check` uses a fresh, short-lived cache; the language server keeps one for its lifetime."""

    def __init__(self, limit: int = 4096):
        self.limit = limit
        # by path: (the text and settings it was parsed with, the parse); one version per path
        self._yaml: dict[str, tuple[tuple, tuple]] = {}
        self._hcl: dict[str, tuple[str, HclFile]] = {}
        self._hcl_good: dict[str, HclFile] = {}  # the last parse of each path without a syntax error
        self.evaluations: dict[str, ModuleMemory] = {}  # Terraform evaluations by root module folder
        self.charts: dict[object, ChartRender] = {}  # last render per chart (templates mid-edit keep theirs)
        self.kustomize_builds: dict[str, Built] = {}  # last good build per kustomization folder (editor)
        # by file: (id(resource), settings) -> every check's result on it; each analysis replaces
        # the tables of the files it analysed, so only current resources are kept alive
        self.rule_hits: dict[str, dict[tuple, _CachedResults]] = {}
        self.rule_set: tuple = ()  # the rules those results were made with

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
        from ..formats.hcl.syntax import HclFile

        found = self._hcl.get(source.path)
        if found is None or found[0] != source.text:
            found = (source.text, HclFile(source, found[1] if found is not None else None))
            self._store(self._hcl, source.path, found)
            if not found[1].root.has_error:
                self._store(self._hcl_good, source.path, found[1])
        return found[1]

    def last_good_hcl(self, path: str) -> HclFile | None:
        """The file as it last parsed without errors (an editor keeps analysing it mid-edit)."""
        return self._hcl_good.get(path)

    def _store(self, table: dict, path: str, value) -> None:
        table.pop(path, None)  # one version per path, the newest last
        if len(table) >= self.limit:
            del table[next(iter(table))]
        table[path] = value


@contextlib.contextmanager
def _unseen_by_collector(batch: bool):
    """In a one-shot run, what is made inside is moved where the cyclic garbage collector never
    looks (`gc.freeze`): parsed YAML lives until the report, and makes no reference cycles (a
    test keeps it so), so each collection that scanned it found nothing, and 40,000 objects'
    worth took 0.5 s. Whatever else exists then is frozen too: in a one-shot run, so be it;
    `cli` unfreezes once the report is written. The editor never freezes."""
    if not batch:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class Loading:
    """The engine's loading half (`Engine` is made of it)."""

    config: Config
    configs: ConfigTree | None
    config_of: Callable[[str], Config]  # Engine's: the configuration of one file
    display: Callable[[str], str]  # how paths are reported
    filesystem: FileSystem  # where every file is read: the disk, or the editor's buffers over it
    set_values: tuple[str, ...]  # `--set` for charts
    cache: ParseCache | None  # the editor's, kept across analyses
    batch: bool  # a one-shot run (`--check`): what YAML parsing makes is kept out of the collector's sight

    def load(
        self, files: list[str], analysis: Analysis, var_files: list[str], cache: ParseCache
    ) -> list[list[Resource]]:
        """Read, parse, render and evaluate: the resources in their rule scopes (all Kubernetes
        objects of the scan are one scope; each Terraform module instance is one)."""
        kubernetes: list[Resource] = []
        plans: list[list[Resource]] = []
        tf_dirs: dict[str, list[str]] = {}
        charts: dict[str, None] = {}
        kustomizations = [path for path in files if os.path.basename(path) in KUSTOMIZATION_FILES]
        reached: set[str] = set()  # files a kustomization builds from: analysed through it only
        if kustomizations:
            with guarded(analysis, self.display(kustomizations[0]), "building the kustomizations"):
                built, reached = self._kustomize(kustomizations, analysis, cache)
                kubernetes.extend(built)
        for path in files:
            if reached and (os.path.abspath(path) in reached or os.path.basename(path) in KUSTOMIZATION_FILES):
                continue
            kind = classify(path) or "yaml"
            shown = self.display(path)
            if kind == "helm":
                from ..formats.helm.chart import outermost_chart_root

                root = outermost_chart_root(path)
                if root is not None and not (reached and os.path.join(os.path.abspath(root), "Chart.yaml") in reached):
                    charts[root] = None  # (a chart a kustomization renders is checked through it)
                continue
            if kind in ("tf", "tfvars"):
                tf_dirs.setdefault(os.path.dirname(os.path.abspath(path)), []).append(path)
                continue
            source = self._read(path, shown, analysis)
            if source is None:
                continue
            if path.endswith(".json"):
                from ..formats.tfplan import looks_like_plan

                if looks_like_plan(source.text):
                    with guarded(analysis, shown, "reading the Terraform plan"):
                        plans.append(self._plan(path, source, analysis, var_files))
                    continue
            with guarded(analysis, shown, "reading the YAML"):
                with _unseen_by_collector(self.batch):
                    errors, resources = cache.yaml(source, self.config.limits)
                if errors and _TEMPLATED.search(source.text):
                    # a template for another tool (Terraform templatefile(), ClusterLoader2, a
                    # chart's data): not YAML until rendered, and not ours to render
                    analysis.add_problem(
                        Problem(
                            shown, "a template (`{{ }}` or `${}` placeholders), not YAML: not analysed", kind="skipped"
                        )
                    )
                    continue
                for error in errors:
                    analysis.problems.append(Problem(shown, error.message, error.span, kind="syntax"))
                kubernetes.extend(resources)
        for root in charts:
            with guarded(analysis, self.display(root), "rendering the chart"):
                kubernetes.extend(self._chart(root, analysis, cache))
        if any(r.kind in ("Application", "ApplicationSet", "HelmRelease") for r in kubernetes):
            kubernetes.extend(self._gitops(kubernetes, analysis, cache))
        scopes: list[list[Resource]] = []
        if kubernetes:
            scopes.append(kubernetes)
        if tf_dirs:
            scopes.extend(self._terraform(tf_dirs, analysis, var_files, cache))
        scopes.extend(plan for plan in plans if plan)
        analysis.resources += sum(len(scope) for scope in scopes)
        return scopes

    def _kustomize(
        self, kustomizations: list[str], analysis: Analysis, cache: ParseCache
    ) -> tuple[list[Resource], set[str]]:
        """The objects of the scanned kustomizations that no other one includes, each built
        in-process (`formats/kustomize`), and every file the builds read. In the editor, a build
        that meets a file it cannot parse (mid-edit) keeps the objects of its last good build."""
        from ..formats.kustomize.build import Builder

        builder = Builder(self.filesystem, self.display, self.config.limits)
        builds = {}
        kept_builds: set[str] = set()  # builds kept from the last good one (a file broken mid-edit)
        for path in kustomizations:
            directory = os.path.dirname(os.path.abspath(path))
            built = builder.build(directory)
            kept_build = False
            analysis.kustomize_reach[directory] = set(built.files)
            if self.cache is not None:
                previous = cache.kustomize_builds.get(directory)
                if built.syntax_errors and previous is not None:
                    previous.problems = built.problems
                    built = previous
                    kept_build = True
                elif not built.syntax_errors:
                    cache.kustomize_builds[directory] = built
            builds[directory] = (path, built)
            if kept_build:
                kept_builds.add(directory)
        included = {
            os.path.dirname(file)
            for directory, (_, built) in builds.items()
            for file in built.files
            if os.path.basename(file) in KUSTOMIZATION_FILES and os.path.dirname(file) != directory
        }
        resources: list[Resource] = []
        reached: set[str] = set()
        for directory, (path, built) in builds.items():
            reached |= built.files
            if directory in included:
                continue  # built through the overlays that include it
            shown = self.display(directory)
            kustomization = self.display(path)
            for source in built.sources.values():
                if source.path not in analysis.sources:
                    analysis.sources[source.path] = source
                    analysis.files += 1
                    analysis.lines += source.text.count("\n") + 1
            for file, span, message in built.problems:
                analysis.add_problem(Problem(span.file if span else file, message, span))
            for span, address in built.remote:
                analysis.remote_resources.append((span, f"{address} (in the build of {shown})"))
            for obj in built.objects:
                made = object_resources(
                    obj, built.declared_in.get(id(obj), obj.span.file if obj.span else shown), kustomization
                )
                if directory in kept_builds:
                    analysis.kept.update(map(id, made))
                resources.extend(made)
        return resources, reached

    def _read(self, path: str, shown: str, analysis: Analysis) -> SourceFile | None:
        try:
            source = self.filesystem.read(path, shown)
        except SourceError as exc:
            analysis.problems.append(Problem(shown, exc.message, exc.span))
            return None
        analysis.sources[shown] = source
        analysis.files += 1
        analysis.lines += source.text.count("\n") + 1
        return source

    def _chart(self, root: str, analysis: Analysis, cache: ParseCache) -> list[Resource]:
        """Render a chart in-process; its objects join the Kubernetes scope, located at their origin."""
        from ..formats.helm.chart import RenderOptions

        values_files = [os.path.join(root, f) if not os.path.isabs(f) else f for f in self.config_of(root).values_files]
        options = RenderOptions(
            values_files=tuple(f for f in values_files if self.filesystem.is_file(f)),
            set_values=self.set_values,
            limits=self.config.limits,
        )
        return self._render(root, options, root, analysis, cache)

    def _releases(
        self, resources: list[Resource], module_dir: str, analysis: Analysis, cache: ParseCache
    ) -> list[Resource]:
        """Charts in the repository that a `helm_release` deploys, rendered with its values."""
        if not any(resource.kind == "helm_release" for resource in resources):
            return []
        from ..formats.helm.chart import RenderOptions
        from ..formats.helm_release import local_releases

        def text_of(path: str) -> str | None:
            source = analysis.sources.get(path)
            return source.text if source else None

        rendered: list[Resource] = []
        for release in local_releases(resources, module_dir, text_of):
            options = RenderOptions(
                release_name=release.name,
                namespace=release.namespace,
                values_files=release.values_files,
                value_overrides=release.overrides,
                limits=self.config.limits,
            )
            with guarded(analysis, release.resource.file, f"rendering the chart of {release.resource.address}"):
                rendered += self._render(
                    release.chart_root, options, (release.chart_root, release.resource.address), analysis, cache
                )
        return rendered

    def _gitops(self, resources: list[Resource], analysis: Analysis, cache: ParseCache) -> list[Resource]:
        """Charts in the repository that Argo CD Applications and Flux HelmReleases deploy,
        rendered with their values; remote charts are named (AIS006)."""
        from ..formats.gitops import gitops_releases
        from ..formats.helm.chart import RenderOptions

        def text_of(path: str) -> str | None:
            source = analysis.sources.get(path)
            return source.text if source else None

        rendered: list[Resource] = []
        for release in gitops_releases(resources, text_of):
            if release.chart_root is None:
                analysis.remote_charts.append((release.where, f"{release.resource.address} deploys {release.remote}"))
                continue
            options = RenderOptions(
                release_name=release.name,
                namespace=release.namespace,
                values_files=tuple(f for f in release.values_files if self.filesystem.is_file(f)),
                value_overrides=release.overrides,
                limits=self.config.limits,
            )
            with guarded(analysis, release.resource.file, f"rendering the chart of {release.resource.address}"):
                rendered += self._render(
                    release.chart_root, options, (release.chart_root, release.resource.address), analysis, cache
                )
        return rendered

    def _render(self, root: str, options: RenderOptions, key, analysis: Analysis, cache: ParseCache) -> list[Resource]:
        from ..formats.helm.chart import render_chart

        kube_version = self.config_of(root).kube_version
        if kube_version:
            options.kube_version = kube_version
        previous = cache.charts.get(key)
        render = render_chart(root, options, display=self.display, filesystem=self.filesystem, previous=previous)
        render.files = []  # the rendered text and its segments are not needed once objects are mapped
        if self.cache is not None:  # an editor keeps the last good render of each template
            cache.charts[key] = render
        for source in render.sources.values():
            if source.path not in analysis.sources:
                analysis.sources[source.path] = source
                analysis.files += 1
                analysis.lines += source.text.count("\n") + 1
        pending = [render.chart] if render.chart is not None else []
        while pending:  # charts whose dependencies are not vendored: AIS005, once per chart
            chart = pending.pop()
            pending.extend(chart.subcharts)
            if chart.missing and chart.missing_span is not None:
                analysis.unvendored_charts.append(
                    (chart.missing_span, chart.name, tuple(chart.missing), len(chart.unrendered))
                )
        if render.chart is not None:  # the chart's YAML data (`files/`, `ci/`): read as data, not linted
            for relative, data in render.chart.source.files.items():
                shown = render.chart.display(relative)
                if relative.endswith((".yaml", ".yml")) and shown not in analysis.sources:
                    analysis.sources[shown] = SourceFile(shown, data.decode("utf-8", "replace"))
        for problem in render.problems:
            kind = {"syntax": "syntax", "warning": "warning", "skipped": "skipped"}.get(problem.kind, "error")
            analysis.add_problem(Problem(problem.path, problem.message, problem.span, kind=kind))
        for template in render.kept:
            analysis.kept.update(id(resource) for resource in render.by_template.get(template, ()))
        return render.resources

    def _plan(self, path: str, source: SourceFile, analysis: Analysis, var_files: list[str]) -> list[Resource]:
        """A plan's resources (one scope), located in the configuration of the plan's folder or
        its parent when that holds the `.tf` files, else in the plan file."""
        from ..formats.tfplan import plan_resources
        from ..formats.yaml import json_nodes

        root = json_nodes(source.text, source.path, 0)
        if not isinstance(root, Mapping):
            analysis.problems.append(Problem(source.path, "Terraform plan JSON could not be read"))
            return []
        config: dict[str, Resource] = {}
        folder = os.path.dirname(os.path.abspath(path))
        for directory in (folder, os.path.dirname(folder)):
            tf_files = sorted(
                os.path.join(directory, name)
                for name in os.listdir(directory)
                if name.endswith(TF_SUFFIXES + TFVARS_SUFFIXES)
            )
            if any(name.endswith(TF_SUFFIXES) for name in tf_files):
                scratch = Analysis()  # only the configuration's positions and texts are wanted
                for scope in self._terraform({directory: tf_files}, scratch, var_files, ParseCache()):
                    config.update((resource.address, resource) for resource in scope if resource.source == "terraform")
                for shown, text in scratch.sources.items():
                    analysis.sources.setdefault(shown, text)
                break
        resources = plan_resources(root, config)
        if not resources:
            analysis.problems.append(
                Problem(source.path, "Terraform plan JSON has no planned_values resources", kind="warning")
            )
        return resources

    def _terraform(
        self, tf_dirs: dict[str, list[str]], analysis: Analysis, var_files: list[str], cache: ParseCache
    ) -> list[list[Resource]]:
        """Module instances of the scanned Terraform, group by group: folders that call each other
        as local modules are one group. In `--check` each group gets its own parse cache, so its
        syntax trees (~60 bytes per byte of HCL) are freed before the next group is parsed."""
        sources: dict[str, SourceFile] = {}
        for paths in tf_dirs.values():
            for path in paths:
                source = self._read(path, self.display(path), analysis)
                if source is not None:
                    sources[path] = source
        extra_sources = [s for s in (self._read(p, self.display(p), analysis) for p in var_files) if s]
        scopes: list[list[Resource]] = []
        # the editor analyses one folder, with a cache it keeps: one group, no regex per keystroke
        groups = (
            module_groups(tf_dirs, {path: source.text for path, source in sources.items()})
            if self.cache is None
            else [list(tf_dirs)]
        )
        for group in groups:
            group_cache = cache if self.cache is not None else ParseCache()
            scopes.extend(
                self._terraform_group({d: tf_dirs[d] for d in group}, sources, extra_sources, analysis, group_cache)
            )
        return scopes

    def _terraform_group(
        self,
        tf_dirs: dict[str, list[str]],
        sources: dict[str, SourceFile],
        extra_sources: list[SourceFile],
        analysis: Analysis,
        cache: ParseCache,
    ) -> list[list[Resource]]:
        from ..formats.terraform import ModuleInstance, TerraformProject

        def load(path: str) -> HclFile:
            """Files of child modules outside the scan: read (through the editor's buffers) and parsed."""
            source = self.filesystem.read(path, self.display(path))
            analysis.sources[source.path] = source
            return cache.hcl(source)

        project = TerraformProject(
            display=self.display,
            load=load,
            evaluations=cache.evaluations,
            filesystem=self.filesystem,
            module_dirs=tuple(  # every configuration's, when nested ones apply
                dict.fromkeys(
                    d for c in (self.configs.distinct() if self.configs else [self.config]) for d in c.module_dirs
                )
            ),
        )
        kept_files: set[str] = set()
        for paths in tf_dirs.values():
            for path in paths:
                source = sources.get(path)
                if source is None:
                    continue
                with guarded(analysis, source.path, "parsing the Terraform"):
                    hcl = cache.hcl(source)
                    errors = hcl.syntax_errors()
                    for span, message in errors:
                        analysis.problems.append(Problem(source.path, message, span, kind="syntax"))
                    good = cache.last_good_hcl(source.path) if errors else None
                    if good is not None:  # broken mid-edit: its resources keep their last good analysis
                        hcl = good
                        kept_files.add(source.path)
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
                self._instance_scopes(instance, scopes, analysis, cache)
        if kept_files:
            analysis.kept.update(id(r) for scope in scopes for r in scope if r.file in kept_files)
        for path, error in project.problems:
            analysis.problems.append(
                Problem(self.display(path), getattr(error, "message", str(error)), getattr(error, "span", None))
            )
        for path, message in project.resolver.problems:
            analysis.add_problem(Problem(self.display(path), message, kind="warning"))
        for span, message in project.warnings:
            analysis.add_problem(Problem(span.file, message, span, kind="warning"))
        return scopes

    def _instance_scopes(
        self,
        instance: ModuleInstance,
        scopes: list[list[Resource]],
        analysis: Analysis,
        cache: ParseCache,
    ) -> None:
        from ..formats.kubernetes_tf import kubernetes_objects
        from ..formats.terraform_modules import unpinned_source

        try:
            resources = instance.resources()
            scopes.append(
                resources
                + kubernetes_objects(resources)
                + self._releases(resources, instance.files.display_dir, analysis, cache)
            )
        except RecursionError:
            analysis.problems.append(Problem(instance.files.display_dir, "module too deeply nested to evaluate"))
            return
        for call in instance.calls():
            unpinned = None if instance.installed else unpinned_source(call.source, call.version)
            if unpinned and not any(span == call.span for _, span, _ in analysis.unpinned_modules):
                analysis.unpinned_modules.append((f"{instance.prefix}module.{call.name}", call.span, unpinned))
            if call.child_dir is None:
                reported = any(span == call.span for _, span, _ in analysis.uninstalled_modules)
                if call.missing is not None and not instance.installed and not reported:  # once per call
                    version = f" {call.version}" if call.version else ""
                    analysis.uninstalled_modules.append(
                        (
                            f"{instance.prefix}module.{call.name}",
                            call.span,
                            f"module `{call.name}` ({call.source or '?'}{version}) {call.missing}: its resources are "
                            "not checked; run `terraform init` first (aiiac-ls never downloads modules)",
                        )
                    )
                continue
            if not os.path.isdir(call.child_dir):
                analysis.problems.append(
                    Problem(
                        call.span.file,
                        f"module `{call.name}`: source folder `{call.source}` not found",
                        call.span,
                        kind="warning",
                    )
                )
                continue
            for child in instance.children(call.name):
                self._instance_scopes(child, scopes, analysis, cache)


_TEMPLATED = re.compile(r"\{\{.*?\}\}|\$\{[^}\n]*\}")


def module_groups(tf_dirs: dict[str, list[str]], texts: dict[str, str]) -> list[list[str]]:
    """The folders of `tf_dirs` grouped so that folders calling each other as local modules
    (`source = "../modules/x"`, directly or through others) are in one group; in scan order."""
    from ..formats.terraform import local_module_sources

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
            for source in local_module_sources(text):
                target = by_real.get(os.path.realpath(os.path.join(directory, source)))
                if target is not None:
                    leader[find(target)] = find(directory)
    groups: dict[str, list[str]] = {}
    for directory in tf_dirs:
        groups.setdefault(find(directory), []).append(directory)
    return list(groups.values())
