"""kustomize `replacements`: copy a field of one object into fields of others.

Field paths are kustomize's: dot-separated, `[name=manager]` selects a list item by a field,
a number indexes a list, `[a.b/c]` quotes a key with dots or slashes. The copied value keeps the
span of its source, so a finding on it lands where the value is written.
"""

from __future__ import annotations

import re

from ...model.nodes import Mapping, Node, Scalar, Sequence
from .transform import group_of, kind_of, name_of, namespace_of
from .tree import copy, ensure_mapping, text

_PART = re.compile(r"\[[^\]]*\]|[^.\[\]]+")


class ReplacementError(Exception):
    pass


def field_path(path: str) -> list[str]:
    return [part for part in _PART.findall(path.lstrip(".")) if part]


def _selects(obj: Mapping, select: Mapping | None, names: dict[int, set[str]] | None = None) -> bool:
    """Whether `obj` is selected; a name it had before a prefix or suffix counts."""
    if select is None:
        return True
    wanted_name = text(select.get("name"))
    if wanted_name is not None and names and wanted_name in names.get(id(obj), ()):
        select = _without(select, "name")
    checks = {
        "kind": kind_of(obj),
        "name": name_of(obj),
        "namespace": namespace_of(obj) or "",
        "group": group_of(obj),
        "version": (text(obj.get("apiVersion")) or "").rsplit("/", 1)[-1],
    }
    for key, actual in checks.items():
        wanted = text(select.get(key))
        if wanted is not None and wanted != actual:
            return False
    return True


def lookup(node: Node, parts: list[str], create: bool = False) -> tuple[Mapping | Sequence, str] | None:
    """The (container, key or index) of a field path in `node`; None when absent."""
    current = node
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part.startswith("[") and "=" in part:
            key, _, value = part[1:-1].partition("=")
            if not isinstance(current, Sequence):
                return None
            found = next(
                (item for item in current.items if isinstance(item, Mapping) and text(item.get(key)) == value), None
            )
            if found is None:
                return None
            current = found
            continue
        key = part[1:-1] if part.startswith("[") else part
        if isinstance(current, Sequence) and key.isdigit():
            position = int(key)
            if position >= len(current.items):
                return None
            if last:
                return current, key
            current = current.items[position]
            continue
        if not isinstance(current, Mapping):
            return None
        if last:
            return current, key
        child = current.get(key)
        if child is None:
            if not create:
                return None
            child = ensure_mapping(current, key, current.span)
        current = child
    return None


def _value(obj: Mapping, path: str) -> Node | None:
    found = lookup(obj, field_path(path))
    if found is None:
        return None
    container, key = found
    if isinstance(container, Sequence):
        return container.items[int(key)]
    return container.get(key)


def _without(select: Mapping, key: str) -> Mapping:
    result = Mapping(select.span)
    for name, entry in select.entries.items():
        if name != key:
            result.set(name, entry.value, entry.key_span)
    return result


def apply_replacements(
    objects: list[Mapping], replacements: list[Mapping], names: dict[int, set[str]] | None = None
) -> None:
    for replacement in replacements:
        source = replacement.get("source")
        if not isinstance(source, Mapping):
            raise ReplacementError("a replacement needs a `source`")
        matches = [obj for obj in objects if _selects(obj, source, names)]
        if len(matches) != 1:
            described = "/".join(filter(None, (text(source.get("kind")), text(source.get("name")))))
            raise ReplacementError(f"replacement source {described or '?'} matches {len(matches)} objects, not 1")
        value = _value(matches[0], text(source.get("fieldPath")) or "metadata.name")
        if value is None:
            raise ReplacementError(f"replacement source field {text(source.get('fieldPath'))} not found")
        value = _delimited(value, source.get("options"), None)
        targets = replacement.get("targets")
        for target in targets.items if isinstance(targets, Sequence) else []:
            if isinstance(target, Mapping):
                _replace_in(objects, target, value, names)


def _replace_in(objects: list[Mapping], target: Mapping, value: Node, names: dict[int, set[str]] | None) -> None:
    select = target.get("select")
    rejects = target.get("reject")
    options = target.get("options")
    flag = options.get("create") if isinstance(options, Mapping) else None
    create = isinstance(flag, Scalar) and flag.value is True
    paths = target.get("fieldPaths")
    for obj in objects:
        if not _selects(obj, select if isinstance(select, Mapping) else None, names):
            continue
        if isinstance(rejects, Sequence) and any(
            isinstance(r, Mapping) and _selects(obj, r, names) for r in rejects.items
        ):
            continue
        for path in paths.items if isinstance(paths, Sequence) else []:
            if not isinstance(path, Scalar) or not isinstance(path.value, str):
                continue
            found = lookup(obj, field_path(path.value), create=create)
            if found is None:
                continue
            container, key = found
            current = container.items[int(key)] if isinstance(container, Sequence) else container.get(key)
            if current is None and not create:
                continue
            new = _delimited(current, options, value) if current is not None else copy(value)
            if isinstance(container, Sequence):
                container.items[int(key)] = new
            else:
                container.set(key, new, container.entries[key].key_span if key in container.entries else value.span)


def _delimited(current: Node, options: Node | None, value: Node | None) -> Node:
    """With `delimiter`/`index` options: the part of `current` (source) or `current` with its part
    replaced by `value` (target); otherwise `value` (or `current`)."""
    delimiter = text(options.get("delimiter")) if isinstance(options, Mapping) else None
    index_node = options.get("index") if isinstance(options, Mapping) else None
    index = index_node.value if isinstance(index_node, Scalar) and isinstance(index_node.value, int) else 0
    if not delimiter:
        return copy(value) if value is not None else current
    if value is None:
        parts = str(current.plain()).split(delimiter)
        return Scalar(parts[index] if 0 <= index < len(parts) else "", current.span)
    parts = str(current.plain()).split(delimiter) if isinstance(current, Scalar) and current.value is not None else []
    while len(parts) <= index:
        parts.append("")
    parts[index] = str(value.plain())
    return Scalar(delimiter.join(parts), value.span)
