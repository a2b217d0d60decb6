"""Helm charts without the helm binary: load, coalesce values, render, and map findings back.

A chart is a folder with `Chart.yaml`. Its values are coalesced like Helm does (chart defaults,
then `values-files` / `--values`, then `--set`; subchart values from the parent's `<alias>:` key
and `global`), as positioned node trees, so every value knows the file and line it came from.
Templates are rendered in-process (`execute.py`); each rendered Kubernetes object is parsed with
the YAML layer and every node is mapped back through the output segments:

- text copied from a template keeps its exact position in that template;
- a value printed from `.Values` (`{{ .Values.service.type }}`, `{{ toYaml .Values.x | nindent }}`)
  is replaced by the values-file node itself, so findings and fixes land in `values.yaml`;
- anything else produced by an action (an `include`, a computed string) points at the action and
  is marked generated, so no fix ever edits a template where it is not safe.
"""

from __future__ import annotations

import bisect
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from ...limits import DEFAULT_LIMITS, MIB, Limits
from ...model.nodes import Mapping, Node, Scalar, Sequence, Span
from ...model.resources import Resource
from ..source import FileSystem, SourceError, SourceFile, decode
from ..yaml import kubernetes_resources, parse_yaml
from .execute import Renderer, RenderError, Segment
from .gotypes import from_plain_numbers
from .template import Template, TemplateSyntaxError, parse_template

GENERATED = "helm-generated"  # style of nodes an action produced: located at the action, never edited
DEFAULT_KUBE_VERSION = "v1.31.0"
DEFAULT_API_VERSIONS = [
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "networking.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "storage.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "admissionregistration.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "node.k8s.io/v1",
    "certificates.k8s.io/v1",
]


@dataclass
class ChartProblem:
    path: str  # display path of the file
    message: str
    span: Span | None = None
    kind: str = "error"


@dataclass
class ChartSource:
    """The files of one chart (a folder, or a .tgz read in memory)."""

    root: str  # display root (folder path, or path of the .tgz)
    files: dict[str, bytes]  # chart-relative path -> content

    def text(self, relative: str, display) -> SourceFile | None:
        data = self.files.get(relative)
        if data is None:
            return None
        return SourceFile(display(relative), decode(display(relative), data))


@dataclass
class Chart:
    source: ChartSource
    metadata: dict
    name: str
    display: Callable[[str], str]  # relative path -> display path
    values: Node | None = None  # the chart's own values.yaml
    subcharts: list[Chart] = field(default_factory=list)
    alias: str | None = None
    parent: Chart | None = None
    sources: list[SourceFile] = field(default_factory=list)  # Chart.yaml and values.yaml as read
    missing: list[str] = field(default_factory=list)  # declared dependencies not found
    disabled: bool = False  # a subchart its condition or tags switch off

    @property
    def is_library(self) -> bool:
        return self.metadata.get("type") == "library"


# ---- loading -----------------------------------------------------------------------------------


def _read_folder(root: str, limits: Limits, skipped: list[tuple[str, str]], filesystem: FileSystem) -> dict[str, bytes]:
    """The chart's files (not `charts/`, read as subcharts). Every file left out is named in
    `skipped` (path, reason): a template that silently vanished would hide its findings."""
    files: dict[str, bytes] = {}
    total = 0
    real_root = os.path.realpath(root)
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not (os.path.relpath(os.path.join(folder, d), root) == "charts")
        )
        for name in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            dirs.remove(name)
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            skipped.append((relative, "a symlinked folder; not followed"))
        for name in sorted(names):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                target = os.path.realpath(path)
                if not (target + os.sep).startswith(real_root + os.sep) or not os.path.isfile(target):
                    skipped.append((relative, "a symlink to outside the chart; not read"))
                    continue
            if not os.path.isfile(path):
                continue
            reason = _too_big(os.path.getsize(path), len(files), total, limits)
            if reason:
                skipped.append((relative, f"{reason}; not read"))
                continue
            files[relative] = filesystem.read_bytes(path)
            total += len(files[relative])
    return files


def _too_big(size: int, count: int, total: int, limits: Limits) -> str | None:
    if size > limits.chart_max_file_mb * MIB:
        return f"larger than {limits.chart_max_file_mb:g} MiB (limit `chart-max-file-mb`)"
    if count >= limits.chart_max_files:
        return f"the chart has more than {limits.chart_max_files} files (limit `chart-max-files`)"
    if total + size > limits.chart_max_mb * MIB:
        return f"the chart is larger than {limits.chart_max_mb:g} MiB (limit `chart-max-mb`)"
    return None


def _read_tgz(path: str, limits: Limits, skipped: list[tuple[str, str]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/", 1)
            if not member.isfile() or len(parts) < 2 or parts[1].startswith("charts/"):
                continue
            if ".." in parts[1].split("/") or parts[1].startswith("/"):
                skipped.append((member.name, "a path leaving the archive; not read"))
                continue
            reason = _too_big(member.size, len(files), total, limits)
            if reason:
                skipped.append((parts[1], f"{reason}; not read"))
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                files[parts[1]] = handle.read(member.size)
                total += member.size
    return files


def _yaml_plain(source: SourceFile | None, limits: Limits = DEFAULT_LIMITS) -> tuple[Node | None, list[ChartProblem]]:
    if source is None:
        return None, []
    documents, errors = parse_yaml(source, limits)
    problems = [ChartProblem(source.path, e.message, e.span, "syntax") for e in errors]
    return (documents[0].root if documents else None), problems


def load_chart(
    root: str,
    display,
    problems: list[ChartProblem],
    dependency_dirs: tuple[str, ...] = (),
    parent: Chart | None = None,
    depth: int = 0,
    filesystem: FileSystem | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Chart | None:
    """The chart in `root` (a folder or a .tgz) with its subcharts, its files read through
    `filesystem` (the disk, or in the editor the open buffers over it)."""
    filesystem = filesystem or FileSystem()
    is_tgz = root.endswith((".tgz", ".tar.gz"))
    try:
        skipped: list[tuple[str, str]] = []
        files = _read_tgz(root, limits, skipped) if is_tgz else _read_folder(root, limits, skipped, filesystem)
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        problems.append(ChartProblem(display(root), f"cannot read chart: {exc}"))
        return None
    for relative, reason in skipped:
        shown_path = display(f"{root}!/{relative}") if is_tgz else display(os.path.join(root, relative))
        problems.append(ChartProblem(shown_path, f"chart file {reason}", None, "skipped"))
    source = ChartSource(root, files)

    def shown(relative: str) -> str:
        return display(f"{root}!/{relative}") if is_tgz else display(os.path.join(root, relative))

    try:
        chart_yaml = source.text("Chart.yaml", shown)
        values_yaml = source.text("values.yaml", shown)
    except SourceError as exc:
        problems.append(ChartProblem(display(root), exc.message, exc.span))
        return None
    metadata_node, found = _yaml_plain(chart_yaml, limits)
    problems.extend(found)
    metadata = metadata_node.plain() if isinstance(metadata_node, Mapping) else {}
    values, found = _yaml_plain(values_yaml, limits)
    problems.extend(found)
    chart = Chart(
        source,
        metadata if isinstance(metadata, dict) else {},
        str(metadata.get("name", "chart")),
        shown,
        values if isinstance(values, Mapping) else None,
        parent=parent,
    )
    chart.sources = [s for s in (chart_yaml, values_yaml) if s is not None]
    if depth > 8:
        return chart
    # subcharts: folders and archives under charts/, then declared dependencies
    available: dict[str, str] = {}
    charts_dir = os.path.join(root, "charts") if not is_tgz else None
    if charts_dir and os.path.isdir(charts_dir):
        for entry in sorted(os.listdir(charts_dir)):
            folder = os.path.join(charts_dir, entry)
            if os.path.isfile(os.path.join(folder, "Chart.yaml")) or entry.endswith(".tgz"):
                name = re.sub(r"-\d+\.\d+\.\d+.*\.tgz$", "", entry) if entry.endswith(".tgz") else entry
                available[name] = folder
    for directory in dependency_dirs:
        for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if entry not in available and os.path.isfile(os.path.join(directory, entry, "Chart.yaml")):
                available[entry] = os.path.join(directory, entry)
    dependencies = metadata.get("dependencies") or []
    if not dependencies and str(metadata.get("apiVersion", "v1")) == "v1":  # v1 charts: requirements.yaml
        requirements, found = _yaml_plain(source.text("requirements.yaml", shown), limits)
        problems.extend(found)
        if isinstance(requirements, Mapping):
            dependencies = requirements.plain().get("dependencies") or []
    declared = {str(d.get("name")) for d in dependencies if isinstance(d, dict)}
    for dependency in dependencies:
        if not isinstance(dependency, dict):
            continue
        name = str(dependency.get("name"))
        path = available.get(name)
        if path is None:
            chart.missing.append(name)
            problems.append(
                ChartProblem(
                    chart_yaml.path if chart_yaml else shown("Chart.yaml"),
                    f"dependency `{name}` is not in charts/ (run `helm dependency build`); "
                    "templates that use it cannot be rendered",
                    _dependency_span(metadata_node, name),
                    kind="warning",
                )
            )
            continue
        sub = load_chart(path, display, problems, dependency_dirs, chart, depth + 1, filesystem, limits)
        if sub is not None:
            sub.alias = dependency.get("alias") or name
            sub.metadata["_condition"] = dependency.get("condition")
            sub.metadata["_tags"] = dependency.get("tags") or []
            sub.metadata["_imports"] = dependency.get("import-values") or []
            chart.subcharts.append(sub)
    for name, path in available.items():  # undeclared subcharts in charts/ are always used
        if name not in declared and path.startswith(charts_dir or "\0"):
            sub = load_chart(path, display, problems, dependency_dirs, chart, depth + 1, filesystem, limits)
            if sub is not None:
                sub.alias = sub.name
                chart.subcharts.append(sub)
    return chart


def _dependency_span(metadata: Node | None, name: str) -> Span | None:
    if not isinstance(metadata, Mapping):
        return None
    dependencies = metadata.get("dependencies")
    for item in dependencies.items if isinstance(dependencies, Sequence) else []:
        found = item.get("name") if isinstance(item, Mapping) else None
        if found is not None and getattr(found, "value", None) == name:
            return found.span
    return None


# ---- values ------------------------------------------------------------------------------------------


def coalesce(base: Node | None, override: Node | None) -> Node | None:
    """Helm's coalescing on positioned nodes: maps merge key by key, other values replace, null deletes."""
    if override is None:
        return base
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = Mapping(override.span, style=override.style, indent=override.indent, head=override.head)
        merged.entries = dict(base.entries)
        for key, entry in override.entries.items():
            if isinstance(entry.value, Scalar) and entry.value.value is None:
                merged.entries.pop(key, None)
            elif key in merged.entries:
                value = coalesce(merged.entries[key].value, entry.value)
                if value is not None:
                    merged.entries[key] = type(entry)(key, entry.key_span, value)
            else:
                merged.entries[key] = entry
        return merged
    return override


def set_value(values: Mapping, assignment: str, span: Span) -> None:
    """`--set a.b=c` (also `a.b={x,y}` lists and `a[0]=x` indexes in their simple forms)."""
    key, _, raw = assignment.partition("=")
    if raw.startswith("{") and raw.endswith("}"):
        value: Node = Sequence(span, [Scalar(set_scalar(v), span) for v in raw[1:-1].split(",") if v], style="flow")
    else:
        value = Scalar(set_scalar(raw), span)
    set_node(values, key, value, span)


def set_node(values: Mapping, key: str, value: Node, span: Span | None) -> None:
    """Put `value` at the dotted `key` (`service.type`), creating the mappings on the way."""
    parts = [p for p in re.split(r"\.(?![^\[]*\])", key) if p]
    if not parts:
        return
    node = values
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, Mapping):
            child = Mapping(span, style="flow")
            node.set(part, child, span)
        node = child
    node.set(parts[-1], value, span)


def set_scalar(text: str):
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def chart_values(chart: Chart, overrides: list[Node]) -> Mapping:
    """The coalesced values of a (sub)chart as positioned nodes."""
    values: Node | None = chart.values or Mapping(None, style="block")
    for override in overrides:
        values = coalesce(values, override)
    if not isinstance(values, Mapping):
        values = Mapping(None, style="block")
    return values


def _plain_with_paths(node: Node, path: tuple, paths: dict[int, tuple], nodes: dict[tuple, Node]):
    """Plain values (numbers as float64) and, for every container, its path under .Values."""
    nodes[path] = node
    if isinstance(node, Mapping):
        result = {}
        for key, entry in node.entries.items():
            result[key] = _plain_with_paths(entry.value, path + (key,), paths, nodes)
        paths[id(result)] = path
        return result
    if isinstance(node, Sequence):
        result_list = [_plain_with_paths(item, path + (index,), paths, nodes) for index, item in enumerate(node.items)]
        paths[id(result_list)] = path
        return result_list
    return from_plain_numbers(node.plain())


# ---- .Files, .Capabilities ------------------------------------------------------------------------


class Files:
    """`.Files`, confined to the chart: `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`."""

    def __init__(self, files: dict[str, bytes]):
        self._files = {k: v for k, v in files.items() if not k.startswith("templates/")}

    def _path(self, name) -> str | None:
        name = str(name or "").replace("\\", "/")
        normal = os.path.normpath(name).replace(os.sep, "/")
        if name.startswith("/") or normal.startswith("..") or normal == ".":
            return None  # outside the chart: nothing, as Helm
        return normal

    def __len__(self) -> int:  # an empty Glob result is false in `if`, like Go's empty map
        return len(self._files)

    def Get(self, name) -> str:
        path = self._path(name)
        data = self._files.get(path) if path else None
        return data.decode("utf-8", "replace") if data is not None else ""

    def GetBytes(self, name) -> str:
        return self.Get(name)

    def Lines(self, name) -> list[str]:
        text = self.Get(name)
        if text.endswith("\n"):  # as Helm: one trailing newline is not an empty last line
            text = text[:-1]
        return text.split("\n") if text else []

    def Glob(self, pattern) -> Files:
        import fnmatch

        selected = Files({})
        selected._files = {k: v for k, v in self._files.items() if fnmatch.fnmatch(k, str(pattern))}
        return selected

    def AsConfig(self) -> str:
        from .gotypes import to_yaml

        return to_yaml({os.path.basename(k): v.decode("utf-8", "replace") for k, v in sorted(self._files.items())})

    def AsSecrets(self) -> str:
        import base64

        from .gotypes import to_yaml

        return to_yaml({os.path.basename(k): base64.b64encode(v).decode() for k, v in sorted(self._files.items())})


class APIVersions(list):
    def Has(self, version) -> bool:
        return str(version) in self


def capabilities(kube_version: str = DEFAULT_KUBE_VERSION, api_versions=DEFAULT_API_VERSIONS) -> dict:
    major, minor = kube_version.lstrip("v").split(".")[:2]
    return {
        "KubeVersion": {"Version": kube_version, "Major": major, "Minor": minor, "GitVersion": kube_version},
        "APIVersions": APIVersions(api_versions),
        "HelmVersion": {"Version": "v3.16.0"},
    }


def _chart_object(chart: Chart) -> dict:
    meta = chart.metadata
    names = {"apiVersion": "APIVersion", "appVersion": "AppVersion", "kubeVersion": "KubeVersion"}
    result = {names.get(k, k[:1].upper() + k[1:]): v for k, v in meta.items() if not k.startswith("_")}
    result["IsRoot"] = chart.parent is None
    return result


# ---- rendering ------------------------------------------------------------------------------------------


@dataclass
class RenderedFile:
    path: str  # display path of the template
    name: str  # Helm's template name, e.g. mychart/templates/deployment.yaml
    text: str
    segments: list[Segment]


@dataclass
class ChartRender:
    chart: Chart
    files: list[RenderedFile] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    problems: list[ChartProblem] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)  # templates and values files read
    by_template: dict[str, list[Resource]] = field(default_factory=dict)  # template path -> its objects
    failed: set[str] = field(default_factory=set)  # templates that did not parse or render


@dataclass
class RenderOptions:
    release_name: str = "release-name"
    namespace: str = "default"
    values_files: tuple[str, ...] = ()  # extra values files (paths)
    set_values: tuple[str, ...] = ()
    value_overrides: tuple[Node, ...] = ()  # positioned values over the files and sets (Terraform helm_release)
    kube_version: str = DEFAULT_KUBE_VERSION
    dependency_dirs: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS


def render_chart(
    root: str,
    options: RenderOptions,
    display=lambda p: p,
    filesystem: FileSystem | None = None,
    previous: ChartRender | None = None,
) -> ChartRender:
    """Render a chart folder, its files and extra values files read through `filesystem` (the
    disk by default). With the `previous` render, a template that does not parse or render
    (mid-edit) keeps its last good objects."""
    filesystem = filesystem or FileSystem()
    problems: list[ChartProblem] = []
    chart = load_chart(root, display, problems, options.dependency_dirs, filesystem=filesystem, limits=options.limits)
    result = ChartRender(chart, problems=problems) if chart else ChartRender(None, problems=problems)  # type: ignore
    if chart is None:
        return result
    stack = [chart]
    while stack:
        current = stack.pop()
        for source in current.sources:
            result.sources[source.path] = source
        stack.extend(current.subcharts)
    overrides: list[Node] = []
    for path in options.values_files:
        try:
            source = filesystem.read(path, display(path))
        except (OSError, SourceError) as exc:
            problems.append(ChartProblem(display(path), f"cannot read values file: {exc}"))
            continue
        result.sources[source.path] = source
        node, found = _yaml_plain(source, options.limits)
        problems.extend(found)
        if isinstance(node, Mapping):
            overrides.append(node)
    if options.set_values:
        command_line = Mapping(None, style="block")
        for assignment in options.set_values:
            set_value(command_line, assignment, Span("--set", 0, 0, 0, len(assignment)))
        overrides.append(command_line)
    overrides.extend(options.value_overrides)
    # templates of every chart share one namespace of defines (subcharts first, the parent wins)
    templates: dict[str, Template] = {}
    renderable: list[tuple[Chart, str, Template, SourceFile]] = []
    _collect_templates(chart, chart.name, templates, renderable, result)
    root_values = _coalesce_tree(chart, chart_values(chart, overrides), renderable)
    _render(chart, root_values, templates, renderable, options, result)
    if previous is not None:
        for path in result.failed:
            kept = previous.by_template.get(path)
            if kept:
                result.resources.extend(kept)
                result.by_template[path] = kept
    return result


def _collect_templates(chart: Chart, name_prefix: str, templates: dict, renderable: list, result: ChartRender) -> None:
    for sub in chart.subcharts:
        _collect_templates(sub, f"{name_prefix}/charts/{sub.alias or sub.name}", templates, renderable, result)
    for relative in sorted(chart.source.files):
        if not relative.startswith("templates/"):
            continue
        base = relative.rsplit("/", 1)[-1]
        if base == "NOTES.txt" or not base.endswith((".yaml", ".yml", ".tpl", ".txt", ".json")):
            continue
        try:
            source = chart.source.text(relative, chart.display)
        except SourceError as exc:
            result.problems.append(ChartProblem(chart.display(relative), exc.message, exc.span))
            continue
        if source is None:  # listed, so present
            continue
        result.sources[source.path] = source
        name = f"{name_prefix}/{relative}"
        try:
            template, defines = parse_template(source.path, source.text)
        except TemplateSyntaxError as exc:
            result.problems.append(
                ChartProblem(
                    source.path, f"template syntax error: {exc.message}", _offset_span(source, exc.offset), "syntax"
                )
            )
            result.failed.add(source.path)
            continue
        template.name = name
        templates.update(defines)
        templates[name] = template  # files are templates too: `include (print .Template.BasePath "/x.yaml") .`
        if not base.startswith("_") and not chart.is_library:
            renderable.append((chart, name, template, source))


def _enabled(sub: Chart, values: Mapping) -> bool:
    condition = sub.metadata.get("_condition")
    if condition:
        for path in str(condition).split(","):
            node: Node | None = values
            for part in path.strip().split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            if isinstance(node, Scalar) and isinstance(node.value, bool):
                return node.value
    tags = sub.metadata.get("_tags") or []
    tag_values = values.get("tags") if isinstance(values, Mapping) else None
    if tags and isinstance(tag_values, Mapping):
        states = [getattr(tag_values.get(str(t)), "value", None) for t in tags]
        if any(s is True for s in states):
            return True
        if all(s is False for s in states if s is not None) and any(s is not None for s in states):
            return False
    return True


def _coalesce_tree(chart: Chart, values: Mapping, renderable: list) -> Mapping:
    """Like Helm: each enabled subchart's values are its defaults under the parent's `<alias>:` key
    (plus the parent's `global`), and the result is visible to the parent at that key too."""
    coalesced = coalesce(Mapping(values.span, style=values.style, indent=values.indent, head=values.head), values)
    assert isinstance(coalesced, Mapping)  # two mappings coalesce to a mapping
    values = coalesced
    for sub in chart.subcharts:
        key = sub.alias or sub.name
        if not _enabled(sub, values):
            renderable[:] = [r for r in renderable if r[0] is not sub and not _descends(r[0], sub)]
            sub.disabled = True
            continue
        own = values.get(key)
        sub_values = chart_values(sub, [own] if isinstance(own, Mapping) else [])
        parent_global = values.get("global")
        if isinstance(parent_global, Mapping):
            sub_values = coalesce(sub_values, _mapping_of(global_=parent_global))  # type: ignore[assignment]
        sub_values = _coalesce_tree(sub, sub_values, renderable)
        entry = values.entry(key)
        values.set(key, sub_values, entry.key_span if entry else None)
        imported = _imported_values(sub, sub_values)
        if imported is not None:  # the parent's own values win over imported ones
            values = coalesce(imported, values)  # type: ignore[assignment]
    return values


def _imported_values(sub: Chart, sub_values: Mapping) -> Mapping | None:
    """`import-values`: `- name` imports the child's `exports.name`; `- {child: a.b, parent: c}`
    copies the child's value at `a.b` to the parent's `c`."""
    result: Mapping | None = None
    for item in sub.metadata.get("_imports") or []:
        source: tuple[str, ...]
        target: tuple[str, ...]
        if isinstance(item, str):
            source, target = ("exports", item), ()
        elif isinstance(item, dict) and item.get("child") is not None:
            source = tuple(str(item["child"]).split("."))
            target = tuple(p for p in str(item.get("parent", "")).split(".") if p)
        else:
            continue
        node: Node | None = sub_values
        for part in source:
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            continue  # Helm imports tables only ("ImportValues missing table")
        for part in reversed(target):
            wrapper = Mapping(node.span, style="block")
            wrapper.set(part, node, node.span)
            node = wrapper
        if isinstance(node, Mapping):
            result = coalesce(result, node) if result is not None else node  # type: ignore[assignment]
    return result


def _render(chart: Chart, values: Mapping, templates, renderable, options: RenderOptions, result: ChartRender) -> None:
    for sub in chart.subcharts:
        if getattr(sub, "disabled", False):
            continue
        sub_values = values.get(sub.alias or sub.name)
        if isinstance(sub_values, Mapping):
            _render(sub, sub_values, templates, renderable, options, result)
    paths: dict[int, tuple] = {}
    nodes: dict[tuple, Node] = {}
    plain_values = _plain_with_paths(values, (), paths, nodes)
    renderer = Renderer(templates, paths, options.limits)
    data = {
        "Values": plain_values,
        "Release": {
            "Name": options.release_name,
            "Namespace": options.namespace,
            "Service": "Helm",
            "IsInstall": True,
            "IsUpgrade": False,
            "Revision": 1,
        },
        "Chart": _chart_object(chart),
        "Capabilities": capabilities(options.kube_version),
        "Files": Files(chart.source.files),
        "Subcharts": {},
    }
    for owner, name, template, source in renderable:
        if owner is not chart:
            continue
        data["Template"] = {"Name": name, "BasePath": name[: name.find("/templates/") + len("/templates")]}
        try:
            output = renderer.render(template, data)
        except RenderError as exc:
            where = result.sources.get(exc.template) or source
            missing = _missing_dependencies(chart)
            if missing and "not defined" in exc.message:
                # not our failure to report as an error: the chart cannot render without its dependency
                result.problems.append(
                    ChartProblem(
                        source.path,
                        f"not rendered: {exc.message}, probably from the missing dependency {', '.join(missing)}",
                        kind="warning",
                    )
                )
            else:
                result.problems.append(
                    ChartProblem(
                        where.path,
                        f"render error: {exc.message}",
                        _offset_span(where, exc.offset) if exc.offset is not None else None,
                    )
                )
            result.failed.add(source.path)
            continue
        except RecursionError:
            result.problems.append(ChartProblem(source.path, "render error: templates nested too deeply"))
            result.failed.add(source.path)
            continue
        text = output.text()
        rendered = RenderedFile(source.path, name, text, output.segments)
        result.files.append(rendered)
        objects = _resources(rendered, nodes, result, source, options.limits)
        result.by_template[source.path] = objects
        result.resources.extend(objects)


def _missing_dependencies(chart: Chart) -> list[str]:
    missing: list[str] = []
    current: Chart | None = chart
    while current is not None:
        missing += current.missing
        current = current.parent
    return missing


def _descends(chart: Chart, ancestor: Chart) -> bool:
    current: Chart | None = chart
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _mapping_of(global_: Mapping) -> Mapping:
    wrapper = Mapping(global_.span, style="block")
    wrapper.set("global", global_, global_.head)
    return wrapper


def _offset_span(source: SourceFile, offset: int | None) -> Span:
    if offset is None:
        return Span(source.path, 0, 0, 0, 0)
    return source.point(offset)


# ---- source map ------------------------------------------------------------------------------------------


class _SourceMap:
    def __init__(self, rendered: RenderedFile, nodes: dict[tuple, Node], sources: dict[str, SourceFile]):
        self.rendered = rendered
        self.nodes = nodes
        self.sources = sources
        self.starts = [s.out_start for s in rendered.segments]
        text = rendered.text
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self._file_lines: dict[str, list[int]] = {}

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line] + col if line < len(self.line_starts) else len(self.rendered.text)

    def segment(self, offset: int) -> Segment | None:
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            return None
        segment = self.rendered.segments[index]
        if offset >= segment.out_end and index + 1 < len(self.rendered.segments):
            return None
        return segment

    def position(self, file: str, offset: int) -> tuple[int, int]:
        starts = self._file_lines.get(file)
        if starts is None:
            text = self.sources[file].text if file in self.sources else ""
            starts = self._file_lines[file] = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line]

    def location(self, offset: int, end: bool = False) -> tuple[str, int, Segment | None]:
        """(file, offset in that file, segment) of a rendered offset."""
        segment = self.segment(offset - 1 if end and offset > 0 else offset)
        if segment is None:
            return self.rendered.path, 0, None
        if segment.literal:
            return segment.file, segment.start + (offset - segment.out_start), segment
        return segment.file, segment.end if end else segment.start, segment

    def span(self, span: Span) -> tuple[Span, Segment | None]:
        start = self.offset(span.start_line, span.start_col)
        end = self.offset(span.end_line, span.end_col)
        file, start_at, segment = self.location(start)
        end_file, end_at, _ = self.location(end, end=True)
        if end_file != file or end_at < start_at:
            end_at = start_at
        start_line, start_col = self.position(file, start_at)
        end_line, end_col = self.position(file, end_at)
        return Span(file, start_line, start_col, end_line, end_col), segment


def _resources(
    rendered: RenderedFile,
    nodes: dict[tuple, Node],
    result: ChartRender,
    source: SourceFile,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Resource]:
    documents, errors = parse_yaml(SourceFile(rendered.path, rendered.text), limits)
    source_map = _SourceMap(rendered, nodes, result.sources)
    for error in errors:
        span, _ = source_map.span(error.span) if error.span else (None, None)
        result.problems.append(
            ChartProblem(rendered.path, f"rendered template is not valid YAML: {error.message}", span, "error")
        )
    resources = kubernetes_resources(documents, rendered.path)
    for resource in resources:
        resource.body = _remap(resource.body, source_map, yaml_bases={})  # type: ignore[assignment]
        resource.span, _ = source_map.span(resource.span)
        resource.head, _ = source_map.span(resource.head)
        resource.file = resource.head.file
        resource.labels["helm.sh/template"] = rendered.name
    return resources


def _values_node(source_map: _SourceMap, path: tuple) -> Node | None:
    return source_map.nodes.get(path)


def _same_value(rendered: Node, original: Node) -> bool:
    return from_plain_numbers(rendered.plain()) == from_plain_numbers(original.plain())


def _remap(node: Node, source_map: _SourceMap, yaml_bases: dict[int, tuple], path_here: tuple = ()) -> Node:
    """Map a rendered node (and its children) to where the user wrote it; see the module docstring."""
    assert node.span is not None
    new_span, segment = source_map.span(node.span)
    if segment is not None and not segment.literal and segment.values_path is not None:
        values_path = segment.values_path
        if segment.as_yaml:
            base = yaml_bases.setdefault(id(segment), path_here)
            values_path = values_path + path_here[len(base) :]
        original = _values_node(source_map, values_path)
        if original is not None and _same_value(node, original):
            return original  # the values-file node itself: findings and fixes land in values.yaml
        if original is not None and original.span is not None:
            new_span = original.span
    generated = segment is not None and not segment.literal
    node.span = new_span
    if isinstance(node, Mapping):
        if node.head is not None:
            node.head, _ = source_map.span(node.head)
        if generated:
            node.style = GENERATED
        for key, entry in list(node.entries.items()):
            if entry.key_span is not None:
                key_span, key_segment = source_map.span(entry.key_span)
                if key_segment is not None and key_segment.as_yaml and not key_segment.literal:
                    # a key written by toYaml: its value sits one level below the subtree's base
                    yaml_bases.setdefault(id(key_segment), path_here)
                entry.key_span = key_span
            entry.value = _remap(entry.value, source_map, yaml_bases, path_here + (key,))
    elif isinstance(node, Sequence):
        if generated:
            node.style = GENERATED
        node.items = [
            _remap(item, source_map, yaml_bases, path_here + (index,)) for index, item in enumerate(node.items)
        ]
    elif isinstance(node, Scalar) and generated:
        node.style = GENERATED
    return node


def outermost_chart_root(path: str) -> str | None:
    """The chart a file belongs to; a subchart in `charts/` belongs to its parent chart."""
    directory = os.path.dirname(os.path.abspath(path))
    root = None
    for _ in range(32):
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            root = directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    while root is not None:
        charts_dir = os.path.dirname(root)
        owner = os.path.dirname(charts_dir)
        if os.path.basename(charts_dir) == "charts" and os.path.isfile(os.path.join(owner, "Chart.yaml")):
            root = owner
        else:
            break
    return root
