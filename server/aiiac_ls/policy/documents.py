"""The normalised resource document custom rules read, and the way back from a path to a line.

Shape `aiiac.resource/v1` (documented in docs/policies.md; a change of shape is a new version):

    {"schema": "aiiac.resource/v1", "source": "terraform" | "kubernetes",
     "kind": "aws_s3_bucket" | "Deployment", "name": ..., "namespace": ... | null,
     "address": "module.m.aws_s3_bucket.models" | "Deployment/ml/triton",
     "file": "infra/main.tf", "block_type": "resource" | "data" | "provider" | "",
     "module": "module.m" | "", "config": {...}}

`config` is the evaluated Terraform block body (variables, locals and tfvars applied; nested
blocks always lists of objects, as conftest's HCL parser gives them) or the whole Kubernetes
object (for charts: as rendered). A value Terraform only knows at apply time is `null`; an
attribute that is not written is absent.
"""

from __future__ import annotations

import re
from typing import Any

from ..model.nodes import UNKNOWN, Entry, Mapping, Node, Sequence
from ..model.resources import Resource

SCHEMA = "aiiac.resource/v1"


def plain_json(value: Any) -> Any:
    """`Node.plain()` output made JSON-safe: unknowns become null, odd scalars strings."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {str(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def resource_document(resource: Resource) -> dict:
    return {
        "schema": SCHEMA,
        "source": resource.source,
        "kind": resource.kind,
        "name": resource.name,
        "namespace": resource.namespace,
        "address": resource.address,
        "file": resource.file,
        "block_type": resource.block_type,
        "module": resource.module,
        "config": plain_json(resource.body.plain()),
    }


def conftest_input(resource: Resource) -> dict:
    """What conftest would give a policy for this resource: the Kubernetes object itself, or for
    Terraform `{"resource": {type: {name: config}}}` (hcl2json's shape) holding this one block."""
    config = plain_json(resource.body.plain())
    if resource.source == "kubernetes":
        return config
    section = {"resource": "resource", "data": "data", "provider": "provider"}.get(resource.block_type, "resource")
    if section == "provider":
        return {"provider": {resource.kind: [config]}}
    return {section: {resource.kind: {resource.name: config}}}


_PATH_PART = re.compile(r"""\.?([^.\[\]]+)|\[(\d+|\*)\]|\[(?:"([^"]*)"|'([^']*)')\]""")


def parse_path(path: Any) -> list[str | int] | None:
    """An attribute path as a list of keys and indexes: `["spec", "replicas"]` or a string
    `spec.template.spec.containers[0].image`, with `[*]` for every item and `["a.b/c"]` for keys
    holding dots (annotations). None when it is neither."""
    if isinstance(path, list) and all(isinstance(part, (str, int)) and not isinstance(part, bool) for part in path):
        return list(path)
    if not isinstance(path, str):
        return None
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if match is None or match.end() == position:
            return None
        name, index, double, single = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append("*" if index == "*" else int(index))
        else:
            parts.append(double if double is not None else single)
        position = match.end()
    return parts


def locate_path(body: Node, path: list[str | int]) -> Entry | Node:
    """The deepest node along `path` inside a resource body: the entry holding it when there is
    one (so a finding underlines `key = value`), a list item itself. A path that leaves the tree
    stops at the last node found, so a "missing attribute" finding lands on the block that should
    hold it. The index of a nested block may be left out (`versioning.enabled`: the first one)."""
    node: Node = body
    found: Entry | Node = body
    for part in path:
        if isinstance(part, str) and isinstance(node, Sequence) and node.style == "hcl-blocks" and node.items:
            node = node.items[0]
        if isinstance(node, Mapping) and isinstance(part, str) and part in node:
            entry = node.entries[part]
            node, found = entry.value, entry
        elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node.items):
            node = found = node.items[part]
        else:
            break
    return found
