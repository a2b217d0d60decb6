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

from dataclasses import dataclass, field

from ...limits import DEFAULT_LIMITS, Limits
from ...model.nodes import Mapping, Node, Scalar, Span
from ...model.resources import Resource
from ..source import FileSystem, SourceError, SourceFile
from .builtins import DEFAULT_KUBE_VERSION, Files, _chart_object, capabilities
from .execute import Renderer, RenderError, Segment
from .loading import Chart, ChartProblem, _yaml_plain, load_chart, outermost_chart_root
from .sourcemap import GENERATED, _resources
from .template import Template, TemplateSyntaxError, parse_template
from .values import _plain_with_paths, chart_values, coalesce, set_node, set_scalar, set_value, set_value_node

__all__ = [
    "GENERATED",
    "ChartRender",
    "RenderOptions",
    "coalesce",
    "outermost_chart_root",
    "render_chart",
    "set_node",
    "set_scalar",
    "set_value",
    "set_value_node",
]


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
    kept: set[str] = field(default_factory=set)  # templates whose objects are the last good render's


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
    if previous is not None and previous.chart is not None and any(p.kind == "syntax" for p in problems):
        # values.yaml, a values file or Chart.yaml broken mid-edit: rendering with half the values
        # would report what the user never wrote; the last good render's objects stay instead
        result.resources = list(previous.resources)
        result.by_template = dict(previous.by_template)
        result.kept = set(previous.by_template)
        return result
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
                result.kept.add(path)
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
                # the chart cannot render this without its dependencies: counted in the chart's
                # one AIS005 finding, not an error of the scan (rendering it half would invent findings)
                chart.unrendered.append(source.path)
            else:
                result.problems.append(  # with these values: a warning, not a failure of the scan
                    ChartProblem(
                        where.path,
                        f"render error: {exc.message}",
                        _offset_span(where, exc.offset) if exc.offset is not None else None,
                        "warning",
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
