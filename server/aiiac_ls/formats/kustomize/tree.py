"""The positioned tree as kustomize edits it: copies, paths, values made by a transformer.

A built object is a copy of its base's tree; patches and transformers replace nodes in it. Every
node keeps the span where its value was written (the base, a patch, the kustomization entry), so
a finding on the built object lands where the user set the value.
"""

from __future__ import annotations

from typing import Any

from ...model.nodes import Mapping, Node, Scalar, Sequence, Span

MAX_DEPTH = 200


def copy(node: Node, depth: int = 0) -> Node:
    """A deep copy sharing nothing with `node` but the spans."""
    if depth > MAX_DEPTH:
        return node
    if isinstance(node, Mapping):
        result = Mapping(node.span, style=node.style, indent=node.indent, head=node.head, ref=node.ref)
        for key, entry in node.entries.items():
            result.set(key, copy(entry.value, depth + 1), entry.key_span)
        return result
    if isinstance(node, Sequence):
        return Sequence(node.span, [copy(item, depth + 1) for item in node.items], style=node.style, indent=node.indent)
    if isinstance(node, Scalar):
        return Scalar(node.value, node.span, style=node.style, ref=node.ref)
    return node


def text(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def child(node: Node | None, key: str) -> Node | None:
    return node.get(key) if isinstance(node, Mapping) else None


def ensure_mapping(parent: Mapping, key: str, span: Span | None) -> Mapping:
    """`parent[key]` as a mapping, created (at `span`) when absent or null."""
    found = parent.get(key)
    if isinstance(found, Mapping):
        return found
    created = Mapping(span, style="block", head=span)
    parent.set(key, created, span)
    return created


def shifted(node: Node, path: str, line: int, column: int) -> Node:
    """`node`, parsed from text embedded in `path` at (line, column) (a block scalar), with its
    spans moved there; every line of a block scalar is indented by the same `column`."""

    def move(span: Span | None) -> Span | None:
        if span is None:
            return None
        return Span(
            path,
            span.start_line + line,
            span.start_col + column,
            span.end_line + line,
            span.end_col + (column if span.end_col or span.end_line == span.start_line else 0),
        )

    def walk(current: Node, depth: int) -> Node:
        if isinstance(current, Mapping):
            result = Mapping(
                move(current.span), style=current.style, indent=current.indent + column, head=move(current.head)
            )
            for key, entry in current.entries.items():
                result.set(
                    key, walk(entry.value, depth + 1) if depth < MAX_DEPTH else entry.value, move(entry.key_span)
                )
            return result
        if isinstance(current, Sequence):
            items = [walk(item, depth + 1) for item in current.items] if depth < MAX_DEPTH else current.items
            return Sequence(move(current.span), items, style=current.style, indent=current.indent + column)
        if isinstance(current, Scalar):
            return Scalar(current.value, move(current.span), style=current.style)
        return current

    return walk(node, 0)


def plain(node: Node | None) -> Any:
    return node.plain() if node is not None else None
