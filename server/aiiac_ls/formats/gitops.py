"""GitOps releases of charts in the repository: Argo CD `Application`s (and those of an
`ApplicationSet`'s list generators) and Flux `HelmRelease`s,
rendered with the values they give, so the Kubernetes rules see what the release deploys.

The values keep their positions, as for Terraform's `helm_release`: `helm.valuesObject` and a
HelmRelease's `spec.values` are the manifest's own nodes; a `helm.values` block string (and a
`valuesFrom` ConfigMap's `values.yaml`) is parsed where it is written; `helm.parameters` put each
`value` at its `name`. A finding caused by them is reported on the Application's (HelmRelease's)
line; the chart's values are blamed only where they decide. Precedence is the tools': Argo CD
`valueFiles` < `values` < `valuesObject` < `parameters`; Flux `valuesFrom` in order < `values`.
A chart from a Helm or OCI repository (or another git repository) is never fetched: it is named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..model.nodes import Mapping, Node, Scalar, Sequence, Span, as_str
from ..model.resources import Resource
from .helm.chart import set_value_node
from .source import SourceFile
from .yaml import parse_yaml

MAX_ANCESTORS = 12


@dataclass
class GitOpsRelease:
    resource: Resource  # the Application or HelmRelease
    chart_root: str | None  # the chart's folder; None when it is not in this repository
    remote: str  # what it names when not local
    where: Span  # the entry that names the chart
    name: str = ""
    namespace: str = "default"
    values_files: tuple[str, ...] = ()
    overrides: tuple[Node, ...] = ()


def gitops_releases(resources: list[Resource], text_of: Callable[[str], str | None]) -> list[GitOpsRelease]:
    """The releases the Argo CD Applications and Flux HelmReleases among `resources` make."""
    found: list[GitOpsRelease] = []
    config_maps = {(r.namespace, r.name): r for r in resources if r.kind == "ConfigMap"}
    for resource in resources:
        api = as_str(resource.body.get("apiVersion")) or ""
        if resource.kind == "Application" and api.startswith("argoproj.io/"):
            found += _argo(resource, text_of)
        elif resource.kind == "ApplicationSet" and api.startswith("argoproj.io/"):
            for application in _generated_applications(resource):
                found += _argo(application, text_of)
        elif resource.kind == "HelmRelease" and api.startswith("helm.toolkit.fluxcd.io/"):
            release = _flux(resource, config_maps, text_of)
            if release is not None:
                found.append(release)
    return found


def _chart_folder(resource: Resource, path: str) -> str | None:
    """`path` (relative to the repository root) as a chart folder: tried from the manifest's
    folder upwards, the repository root (the folder with `.git`) first when there is one."""
    directory = os.path.dirname(os.path.abspath(resource.file))
    ancestors = []
    for _ in range(MAX_ANCESTORS):
        ancestors.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    git_root = next((a for a in ancestors if os.path.isdir(os.path.join(a, ".git"))), None)
    for base in ([git_root] if git_root else []) + ancestors:
        candidate = os.path.normpath(os.path.join(base, path))
        if os.path.isfile(os.path.join(candidate, "Chart.yaml")):
            return candidate
    return None


# ---- Argo CD ---------------------------------------------------------------------------------------


def _argo(resource: Resource, text_of) -> list[GitOpsRelease]:
    spec = resource.body.mapping("spec")
    if spec is None:
        return []
    sources = [spec.get("source")] if spec.get("source") is not None else []
    listed = spec.get("sources")
    sources += list(listed.items) if isinstance(listed, Sequence) else []
    destination = spec.mapping("destination")
    namespace = (as_str(destination.get("namespace")) if destination else None) or "default"
    releases = []
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        path, chart = source.get("path"), source.get("chart")
        helm = source.mapping("helm")
        if isinstance(chart, Scalar) and chart.value:  # a chart from a Helm or OCI repository
            where = chart.span or resource.head
            repo = as_str(source.get("repoURL")) or "?"
            releases.append(GitOpsRelease(resource, None, f"chart `{chart.value}` from {repo}", where))
            continue
        if not (isinstance(path, Scalar) and isinstance(path.value, str)):
            continue
        root = _chart_folder(resource, path.value)
        if root is None:
            if helm is not None:  # a Helm source that is not a chart of this repository
                repo = as_str(source.get("repoURL")) or "?"
                releases.append(GitOpsRelease(resource, None, f"`{path.value}` of {repo}", path.span or resource.head))
            continue
        overrides: list[Node] = []
        values_files: list[str] = []
        release_name = resource.name
        if helm is not None:
            release_name = as_str(helm.get("releaseName")) or release_name
            files = helm.get("valueFiles")
            for item in files.items if isinstance(files, Sequence) else []:
                if isinstance(item, Scalar) and isinstance(item.value, str) and not item.value.startswith("$"):
                    values_files.append(os.path.normpath(os.path.join(root, item.value)))
            text = helm.get("values")
            if isinstance(text, Scalar) and isinstance(text.value, str):
                parsed = yaml_string(text, text_of)
                if isinstance(parsed, Mapping):
                    overrides.append(parsed)
            values_object = helm.get("valuesObject")
            if isinstance(values_object, Mapping):
                overrides.append(values_object)
            parameters = helm.get("parameters")
            sets = Mapping(resource.head, style="flow")
            for parameter in parameters.items if isinstance(parameters, Sequence) else []:
                if not isinstance(parameter, Mapping):
                    continue
                name, value = as_str(parameter.get("name")), parameter.get("value")
                if not name or not isinstance(value, Scalar):
                    continue
                force = parameter.get("forceString")
                entry = parameter.entry("value")
                as_string = isinstance(force, Scalar) and force.value is True
                set_value_node(sets, name, value, entry.key_span if entry else value.span, as_string)
            if sets.entries:
                overrides.append(sets)
        releases.append(
            GitOpsRelease(
                resource,
                root,
                "",
                path.span or resource.head,
                release_name,
                namespace,
                tuple(values_files),
                tuple(overrides),
            )
        )
    return releases


def _generated_applications(resource: Resource) -> list[Resource]:
    """The Applications an ApplicationSet's `list` generators make (other generators need the
    cluster or the network): its `template` with each element's `{{key}}` filled in."""
    spec = resource.body.mapping("spec")
    template = spec.mapping("template") if spec else None
    generators = spec.get("generators") if spec else None
    if template is None or not isinstance(generators, Sequence):
        return []
    made = []
    for generator in generators.items:
        elements = generator.find("list.elements") if isinstance(generator, Mapping) else None
        for element in elements.items if isinstance(elements, Sequence) else []:
            if not isinstance(element, Mapping):
                continue
            values = {key: value for key, value in element.items() if isinstance(value, Scalar)}
            body = _filled(template, values)
            assert isinstance(body, Mapping)
            name = as_str(body.find("metadata.name")) or resource.name
            made.append(
                Resource(
                    source="kubernetes",
                    kind="Application",
                    name=name,
                    address=f"{resource.address}[{name}]",
                    file=resource.file,
                    body=_with_api(body, resource),
                    span=resource.span,
                    head=resource.head,
                    namespace=resource.namespace,
                )
            )
    return made


_PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")


def _filled(node: Node, values: dict[str, Scalar]) -> Node:
    """The template with each `{{key}}` filled in; a value that is one placeholder is the
    element's own node (a finding on it lands on the element, where the user sets it)."""
    if isinstance(node, Mapping):
        result = Mapping(node.span, style=node.style, indent=node.indent, head=node.head)
        for key, entry in node.entries.items():
            result.set(key, _filled(entry.value, values), entry.key_span)
        return result
    if isinstance(node, Sequence):
        return Sequence(node.span, [_filled(item, values) for item in node.items], style=node.style)
    if isinstance(node, Scalar) and isinstance(node.value, str) and "{{" in node.value:
        whole = _PLACEHOLDER.fullmatch(node.value.strip())
        if whole is not None and whole.group(1) in values:
            element = values[whole.group(1)]
            return Scalar(str(element.plain()), element.span, style=element.style)
        text = _PLACEHOLDER.sub(
            lambda m: str(values[m.group(1)].plain()) if m.group(1) in values else m.group(0), node.value
        )
        return Scalar(text, node.span, style=node.style)
    return node


def _with_api(body: Mapping, resource: Resource) -> Mapping:
    body.set("apiVersion", Scalar(as_str(resource.body.get("apiVersion")) or "argoproj.io/v1alpha1", resource.head))
    body.set("kind", Scalar("Application", resource.head))
    return body


# ---- Flux ---------------------------------------------------------------------------------------------


def _flux(resource: Resource, config_maps: dict, text_of) -> GitOpsRelease | None:
    spec = resource.body.mapping("spec")
    if spec is None:
        return None
    chart_spec = spec.find("chart.spec")
    if not isinstance(chart_spec, Mapping):
        reference = spec.mapping("chartRef")
        if reference is None:
            return None
        kind = as_str(reference.get("kind")) or "?"
        where = reference.head or resource.head
        return GitOpsRelease(resource, None, f"{kind} `{as_str(reference.get('name')) or '?'}`", where)
    chart = chart_spec.get("chart")
    source = chart_spec.mapping("sourceRef")
    source_kind = (as_str(source.get("kind")) if source else None) or "HelmRepository"
    if not (isinstance(chart, Scalar) and isinstance(chart.value, str)):
        return None
    where = chart.span or resource.head
    root = _chart_folder(resource, chart.value) if source_kind in ("GitRepository", "Bucket") else None
    if root is None:
        source_name = (as_str(source.get("name")) if source else None) or "?"
        return GitOpsRelease(resource, None, f"chart `{chart.value}` from {source_kind} `{source_name}`", where)
    overrides: list[Node] = []
    values_from = spec.get("valuesFrom")
    for item in values_from.items if isinstance(values_from, Sequence) else []:
        if not isinstance(item, Mapping) or as_str(item.get("kind")) != "ConfigMap":
            continue  # a Secret's values are base64 and not in the repository in clear
        config_map = config_maps.get((resource.namespace, as_str(item.get("name"))))
        data = config_map.body.mapping("data") if config_map else None
        text = data.get(as_str(item.get("valuesKey")) or "values.yaml") if data else None
        if isinstance(text, Scalar) and isinstance(text.value, str):
            parsed = yaml_string(text, text_of)
            if isinstance(parsed, Mapping):
                overrides.append(parsed)
    values = spec.get("values")
    if isinstance(values, Mapping):
        overrides.append(values)
    target = as_str(spec.get("targetNamespace"))
    name = as_str(spec.get("releaseName")) or (f"{target}-{resource.name}" if target else resource.name)
    namespace = target or resource.namespace or "default"
    return GitOpsRelease(resource, root, "", where, name, namespace, (), tuple(overrides))


def yaml_string(node: Scalar, text_of: Callable[[str], str | None]) -> Node | None:
    """YAML written in a YAML block string (`values: |`), parsed where it is written: every other
    line of the file blanked out, so its nodes keep their lines and columns."""
    if node.span is None:
        return None
    text = text_of(node.span.file)
    if text is None or node.span.end_line <= node.span.start_line:
        return None
    lines = text.split("\n")
    first = node.span.start_line + 1
    last = node.span.end_line - (1 if node.span.end_col == 0 else 0)  # a block ends at the next line's start
    kept = [line if first <= number <= last else "" for number, line in enumerate(lines)]
    documents, errors = parse_yaml(SourceFile(node.span.file, "\n".join(kept)))
    if errors or not documents:
        return None
    return documents[0].root
