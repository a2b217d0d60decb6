"""Terraform `helm_release` resources whose chart is in the repository, rendered with the values
Terraform gives them, so the Kubernetes rules see what the release deploys.

The values keep their positions: `set { name = "service.type" value = "LoadBalancer" }` puts the
HCL string at `service.type`, `values = [yamlencode({...})]` the HCL object, a heredoc its YAML
lines, `values = [file("values-prod.yaml")]` that file. A finding on a value is then reported
where Terraform sets it, and a value fix edits that place. Order as the provider applies them:
`values` entries in order, then `set` / `set_sensitive` / `set_list`. Charts from a remote `repository` are
not fetched (no network at run time) and are left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..model.nodes import Mapping, Node, Scalar, Span, as_list, as_str, from_plain
from ..model.resources import Resource
from .hcl.evaluate import TextBlock
from .hcl.functions import FileText, module_path
from .helm.chart import set_value_node


@dataclass
class Release:
    resource: Resource
    chart_root: str
    name: str
    namespace: str
    values_files: tuple[str, ...]
    overrides: tuple[Node, ...]


def local_releases(resources: list[Resource], module_dir: str, text_of: Callable[[str], str | None]) -> list[Release]:
    """The `helm_release`s of a module instance whose `chart` is a folder with a Chart.yaml."""
    found = []
    for resource in resources:
        if resource.kind != "helm_release" or resource.block_type != "resource":
            continue
        chart = as_str(resource.body.get("chart"))
        if not chart:
            continue
        root = module_path(module_dir, chart)
        if not os.path.isfile(os.path.join(root, "Chart.yaml")):
            continue  # a chart name in a remote repository, or a path that does not exist
        values_files, overrides = [], []
        for item in as_list(resource.body.get("values")):
            if isinstance(item, FileText):
                values_files.append(item.path)
            elif isinstance(item, Mapping):  # yamlencode({...}) keeps the object's nodes
                overrides.append(item)
            elif isinstance(item, Scalar) and isinstance(item.value, str):
                parsed = _yaml_string(item, text_of)
                if isinstance(parsed, Mapping):
                    overrides.append(parsed)
        sets = Mapping(resource.head, style="flow")
        for block in (
            resource.body.blocks("set") + resource.body.blocks("set_sensitive") + resource.body.blocks("set_list")
        ):
            name = as_str(block.get("name"))
            value = block.get("value")
            if not name or value is None:
                continue
            entry = block.entry("value")  # typed like --set, as the provider does, unless `type = "string"`
            set_value_node(
                sets, name, value, entry.key_span if entry else value.span, as_str(block.get("type")) == "string"
            )
        if sets.entries:
            overrides.append(sets)
        found.append(
            Release(
                resource,
                root,
                as_str(resource.body.get("name")) or resource.name,
                as_str(resource.body.get("namespace")) or "default",
                tuple(values_files),
                tuple(overrides),
            )
        )
    return found


def _yaml_string(node: Scalar, text_of: Callable[[str], str | None]) -> Node | None:
    """YAML in a string. A heredoc is parsed in place (every other character of the file blanked
    out) so its nodes keep their lines; any other string maps all values to the string."""
    from ..formats.source import SourceFile
    from ..formats.yaml import parse_yaml

    if isinstance(node, TextBlock) and node.span is not None:
        text = text_of(node.span.file)
        if text is not None:
            lines = text.split("\n")
            count = node.value.count("\n") + 1
            first = node.content_line
            kept = [line if first <= number < first + count else "" for number, line in enumerate(lines)]
            documents, errors = parse_yaml(SourceFile(node.span.file, "\n".join(kept)))
            if documents and not errors:
                return documents[0].root
    try:
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(node.value)
    except Exception:  # not YAML: the provider would fail on it too
        return None
    return from_plain(data, node.span or Span("", 0, 0, 0, 0)) if isinstance(data, dict) else None
