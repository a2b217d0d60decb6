"""Strategic merge and JSON 6902 patches on the positioned tree.

Strategic merge follows the Kubernetes patch-merge keys (containers and volumes by `name`, container
ports by `containerPort`, a Service's ports by `port`, mounts by `mountPath`...) and, for lists the
schema does not describe (custom resources), kyaml's rule: a list of mappings that all carry one of
`mountPath, devicePath, ip, type, topologyKey, name, containerPort` is merged by it. `null` deletes a
key; `$patch: delete` / `replace` work on mappings and list items. Merged values keep the patch's
spans; what the patch does not touch keeps the base's.
"""

from __future__ import annotations

from ...model.nodes import Mapping, Node, Scalar, Sequence
from .tree import copy

# list key -> merge key, where the schema names one (context-free)
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "readinessGates": "conditionType",
    "webhooks": "name",
}
ASSOCIATIVE_KEYS = ("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort")
DIRECTIVES = ("$patch", "$retainKeys", "$deleteFromPrimitiveList", "$setElementOrder")


class PatchError(Exception):
    pass


def merge_key(key: str, items: list[Node], in_service: bool) -> str | None:
    if key == "ports":
        return "port" if in_service else "containerPort"
    if key in MERGE_KEYS:
        return MERGE_KEYS[key]
    if not items or not all(isinstance(item, Mapping) for item in items):
        return None
    for candidate in ASSOCIATIVE_KEYS:
        if all(candidate in item for item in items):  # type: ignore[operator]
            return candidate
    return None


def strategic_merge(base: Mapping, patch: Mapping, kind: str = "", depth: int = 0) -> Mapping | None:
    """`base` with `patch` merged in (a new tree; None when the patch deletes the object)."""
    if depth > 100:
        raise PatchError("patch nested too deeply")
    directive = patch.get("$patch")
    if isinstance(directive, Scalar) and directive.value == "delete":
        return None
    if isinstance(directive, Scalar) and directive.value == "replace":
        replaced = _without_directives(patch)
        assert isinstance(replaced, Mapping)
        return replaced
    result = Mapping(base.span, style=base.style, indent=base.indent, head=base.head, ref=base.ref)
    for key, entry in base.entries.items():
        result.set(key, entry.value, entry.key_span)
    for key, entry in patch.entries.items():
        if key in DIRECTIVES:
            continue
        value = entry.value
        if isinstance(value, Scalar) and value.value is None:
            result.entries.pop(key, None)
            continue
        current = result.get(key)
        key_span = result.entries[key].key_span if key in result.entries else entry.key_span
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged = strategic_merge(current, value, kind, depth + 1)
            if merged is None:
                result.entries.pop(key, None)
            else:
                result.set(key, merged, key_span)
        elif isinstance(value, Sequence) and isinstance(current, Sequence):
            in_service = kind == "Service" and depth == 1
            result.set(key, _merge_list(key, current, value, kind, depth, in_service), key_span)
        else:
            result.set(key, _without_directives(value), entry.key_span)
    return result


def _merge_list(key: str, base: Sequence, patch: Sequence, kind: str, depth: int, in_service: bool) -> Sequence:
    items = [item for item in patch.items if not _is_directive_item(item)]
    replace = any(_is_directive_item(item, "replace") for item in patch.items)
    if replace:
        return Sequence(patch.span, [_without_directives(i) for i in items], style=patch.style, indent=patch.indent)
    by = merge_key(key, [*base.items, *items], in_service)
    if by is None:
        if all(not isinstance(i, (Mapping, Sequence)) for i in [*base.items, *items]) and key == "finalizers":
            union = list(base.items) + [i for i in items if i.plain() not in [b.plain() for b in base.items]]
            return Sequence(base.span, union, style=base.style, indent=base.indent)
        return Sequence(patch.span, [_without_directives(i) for i in items], style=patch.style, indent=patch.indent)
    # as kustomize orders them: the patch's items first, in its order, then the base's others
    leading: list[Node] = []
    used: set[int] = set()
    for item in items:
        if not isinstance(item, Mapping):
            continue
        identity = item.get(by)
        position = next(
            (
                index
                for index, existing in enumerate(base.items)
                if index not in used and isinstance(existing, Mapping) and _same(existing.get(by), identity)
            ),
            None,
        )
        if position is not None:
            used.add(position)
        directive = item.get("$patch")
        if isinstance(directive, Scalar) and directive.value == "delete":
            continue
        if position is None:
            leading.append(_without_directives(item))
        else:
            existing = base.items[position]
            assert isinstance(existing, Mapping)
            merged = strategic_merge(existing, item, kind, depth + 1)
            if merged is not None:
                leading.append(merged)
    rest = [existing for index, existing in enumerate(base.items) if index not in used]
    return Sequence(base.span, leading + rest, style=base.style, indent=base.indent)


def _same(a: Node | None, b: Node | None) -> bool:
    return a is not None and b is not None and a.plain() == b.plain()


def _is_directive_item(item: Node, value: str | None = None) -> bool:
    if not isinstance(item, Mapping) or "$patch" not in item or len(item.entries) != 1:
        return False
    directive = item.get("$patch")
    return value is None or (isinstance(directive, Scalar) and directive.value == value)


def _without_directives(node: Node) -> Node:
    if isinstance(node, Mapping):
        result = Mapping(node.span, style=node.style, indent=node.indent, head=node.head, ref=node.ref)
        for key, entry in node.entries.items():
            if key not in DIRECTIVES:
                result.set(key, _without_directives(entry.value), entry.key_span)
        return result
    if isinstance(node, Sequence):
        return Sequence(node.span, [_without_directives(i) for i in node.items], style=node.style, indent=node.indent)
    return node


# ---- JSON 6902 ----------------------------------------------------------------------------------


def json_patch(target: Mapping, operations: Sequence) -> Mapping:
    """`target` with the RFC 6902 operations applied (`test` checks, the rest edit); the values
    an operation writes keep their spans in the patch."""
    root: Node = copy(target)
    for operation in operations.items:
        if not isinstance(operation, Mapping):
            raise PatchError("a JSON patch operation must be a mapping")
        op, path = _op_text(operation, "op"), _op_text(operation, "path")
        if op is None or path is None:
            raise PatchError("a JSON patch operation needs `op` and `path`")
        parts = _pointer(path)
        if op in ("add", "replace"):
            value = operation.get("value")
            if value is None:
                raise PatchError(f"`{op}` at {path} has no value")
            root = _put(root, parts, copy(value), insert=op == "add", path=path)
        elif op == "remove":
            root, _ = _take(root, parts, path)
        elif op in ("move", "copy"):
            source = _op_text(operation, "from")
            if source is None:
                raise PatchError(f"`{op}` at {path} has no `from`")
            if op == "move":
                root, value = _take(root, _pointer(source), source)
            else:
                value = copy(_get(root, _pointer(source), source))
            root = _put(root, parts, value, insert=True, path=path)
        elif op == "test":
            expected = operation.get("value")
            if expected is None or _get(root, parts, path).plain() != expected.plain():
                raise PatchError(f"`test` at {path} failed")
        else:
            raise PatchError(f"unknown JSON patch operation `{op}`")
    if not isinstance(root, Mapping):
        raise PatchError("a JSON patch must leave an object")
    return root


def _op_text(operation: Mapping, key: str) -> str | None:
    value = operation.get(key)
    return value.value if isinstance(value, Scalar) and isinstance(value.value, str) else None


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"`{path}` is not a JSON pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(sequence: Sequence, part: str, path: str, insert: bool = False) -> int:
    if part == "-" and insert:
        return len(sequence.items)
    if not part.isdigit():
        raise PatchError(f"`{part}` in {path} is not a list index")
    index = int(part)
    if index > len(sequence.items) or (index == len(sequence.items) and not insert):
        raise PatchError(f"index {index} in {path} is out of range")
    return index


def _get(root: Node, parts: list[str], path: str) -> Node:
    node = root
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node.get(part)  # type: ignore[assignment]
        elif isinstance(node, Sequence):
            node = node.items[_index(node, part, path)]
        else:
            raise PatchError(f"{path} does not exist")
    return node


def _put(root: Node, parts: list[str], value: Node, insert: bool, path: str) -> Node:
    if not parts:
        return value
    parent = _get(root, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, Mapping):  # `replace` of an absent key adds it, as kustomize's json-patch does
        key_span = parent.entries[last].key_span if last in parent.entries else value.span
        parent.set(last, value, key_span)
    elif isinstance(parent, Sequence):
        index = _index(parent, last, path, insert)
        if insert:
            parent.items.insert(index, value)
        else:
            parent.items[index] = value
    else:
        raise PatchError(f"the parent of {path} is not an object or a list")
    return root


def _take(root: Node, parts: list[str], path: str) -> tuple[Node, Node]:
    if not parts:
        raise PatchError("cannot remove the whole object")
    parent = _get(root, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, Mapping) and last in parent.entries:
        return root, parent.entries.pop(last).value
    if isinstance(parent, Sequence):
        return root, parent.items.pop(_index(parent, last, path))
    raise PatchError(f"{path} does not exist")
