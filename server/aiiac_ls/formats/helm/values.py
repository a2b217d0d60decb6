"""Values as Helm coalesces them, on positioned nodes: chart defaults, then values files, then
`--set`; null deletes; every value keeps the file and line it came from."""

from __future__ import annotations

import re

from ...model.nodes import Mapping, Node, Scalar, Sequence, Span
from .gotypes import from_plain_numbers
from .loading import Chart


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


def set_value_node(values: Mapping, key: str, value: Node, span: Span | None, as_string: bool = False) -> None:
    """`set_node` for a value given as `--set` gives it (a GitOps `parameters` item, a Terraform
    `set` block): text typed as `--set` types it (`true`, `8000`), unless it must stay a string."""
    if not as_string and isinstance(value, Scalar) and isinstance(value.value, str):
        value = Scalar(set_scalar(value.value), value.span)
    set_node(values, key, value, span)


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
