"""Terraform plan JSON (`terraform show -json plan.out`) as resources, located in the `.tf` source.

The plan knows what configuration alone cannot: values from remote state, data sources, module
outputs and `-var` flags. Its `planned_values` become the resources' bodies (every module,
`count` and `for_each` instance as its own address); a value only known after apply (in
`resource_changes[].change.after_unknown`) stays unknown, and `null` is treated as absent, as in
configuration.

Findings are reported in the configuration when it is beside the plan: the configuration is
evaluated from the plan's folder (or its parent), each planned resource is matched by address,
and every value takes the position of the same attribute in the `.tf` file, or of the nearest
enclosing block when the attribute is not written (a provider default). Without the
configuration, findings point into the plan JSON itself, at the resource's values.
"""

from __future__ import annotations

import re

from ..model.nodes import Mapping, Node, Scalar, Sequence, Span, Unknown
from ..model.resources import Resource
from .providers import decode_policies

PLAN_MARKERS = ('"planned_values"', '"resource_changes"')


def looks_like_plan(text: str) -> bool:
    head = text[:4096]
    return text.lstrip().startswith("{") and '"format_version"' in head and any(m in text for m in PLAN_MARKERS)


def plan_resources(root: Mapping, config: dict[str, Resource]) -> list[Resource]:
    """Resources of a parsed plan (positioned in the plan file); `config` maps addresses to the
    same resources evaluated from the `.tf` files."""
    unknown = _after_unknown(root)
    found: list[Resource] = []
    # also by address without instance keys: a `for_each` over values only the plan knows is one
    # instance in the configuration, which stands for all
    config = {**{_base(address): resource for address, resource in reversed(config.items())}, **config}
    planned = root.get("planned_values")
    module = planned.get("root_module") if isinstance(planned, Mapping) else None
    if isinstance(module, Mapping):
        _module_resources(module, config, unknown, found, depth=0)
    return found


def _after_unknown(root: Mapping) -> dict[str, Node]:
    result: dict[str, Node] = {}
    changes = root.get("resource_changes")
    for change in changes.items if isinstance(changes, Sequence) else []:
        if not isinstance(change, Mapping):
            continue
        address = change.get("address")
        detail = change.get("change")
        after_unknown = detail.get("after_unknown") if isinstance(detail, Mapping) else None
        if isinstance(address, Scalar) and isinstance(after_unknown, Mapping):
            result[str(address.value)] = after_unknown
    return result


def _module_resources(
    module: Mapping, config: dict[str, Resource], unknown: dict[str, Node], found: list[Resource], depth: int
) -> None:
    if depth > 16:
        return
    resources = module.get("resources")
    for item in resources.items if isinstance(resources, Sequence) else []:
        if isinstance(item, Mapping):
            resource = _resource(item, config, unknown)
            if resource is not None:
                found.append(resource)
    children = module.get("child_modules")
    for child in children.items if isinstance(children, Sequence) else []:
        if isinstance(child, Mapping):
            _module_resources(child, config, unknown, found, depth + 1)


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def _resource(item: Mapping, config: dict[str, Resource], unknown: dict[str, Node]) -> Resource | None:
    address, kind, name = _text(item.get("address")), _text(item.get("type")), _text(item.get("name"))
    values = item.get("values")
    if not (address and kind and name) or not isinstance(values, Mapping):
        return None
    mode = _text(item.get("mode")) or "managed"
    body = _with_unknowns(values, unknown.get(address))
    assert isinstance(body, Mapping) and item.span is not None  # a mapping stays a mapping
    module = address.rsplit(f"{'data.' if mode == 'data' else ''}{kind}.{name}", 1)[0]
    written = config.get(address) or config.get(_base(address))
    entry = item.entry("address")
    head = (entry.key_span if entry else None) or item.span
    if written is not None:  # located on the configuration's lines
        body = _anchor(body, written.body, written.head)
        assert isinstance(body, Mapping)
        file, span, head, block_type = written.file, written.span, written.head, written.block_type
        site = written.site  # inside a module: reported where the caller decides it
    else:  # only in the plan
        file, span, block_type = head.file, item.span, "data" if mode == "data" else "resource"
        site = None
    return decode_policies(
        Resource(
            source="terraform",
            kind=kind,
            name=name,
            address=address,
            file=file,
            body=body,
            span=span,
            head=head,
            block_type=block_type,
            module=module,
            plan=True,
            site=site,
        )
    )


def _with_unknowns(values: Node, after_unknown: Node | None) -> Node:
    """The planned values without nulls, with an Unknown wherever the plan says "known after apply"."""
    if isinstance(values, Mapping):
        result = Mapping(values.span, style="hcl-block", head=values.head)
        for key, entry in values.entries.items():
            marker = after_unknown.get(key) if isinstance(after_unknown, Mapping) else None
            if isinstance(entry.value, Scalar) and entry.value.value is None:
                if isinstance(marker, Scalar) and marker.value is True:
                    result.set(key, Unknown(entry.value.span, "known after apply"), entry.key_span)
                continue  # null: not set
            result.set(key, _with_unknowns(entry.value, marker), entry.key_span)
        if isinstance(after_unknown, Mapping):
            for key, entry in after_unknown.entries.items():
                if key not in result and isinstance(entry.value, Scalar) and entry.value.value is True:
                    result.set(key, Unknown(entry.key_span, "known after apply"), entry.key_span)
        return result
    if isinstance(values, Sequence):
        markers = after_unknown.items if isinstance(after_unknown, Sequence) else []
        items = [_with_unknowns(item, markers[i] if i < len(markers) else None) for i, item in enumerate(values.items)]
        style = "hcl-blocks" if items and all(isinstance(i, Mapping) for i in items) else values.style
        return Sequence(values.span, items, style=style)
    return values


def _anchor(node: Node, written: Node | None, fallback: Span | None) -> Node:
    """`node` (from the plan) with the positions of the same path in the configuration."""
    span = written.span if written is not None and written.span is not None else fallback
    if isinstance(node, Mapping):
        head = written.head if isinstance(written, Mapping) and written.head else span
        result = Mapping(
            span,
            style=written.style if isinstance(written, Mapping) else "hcl-block",
            indent=written.indent if isinstance(written, Mapping) else 0,
            head=head,
        )
        for key, entry in node.entries.items():
            counterpart = written.entry(key) if isinstance(written, Mapping) else None
            key_span = counterpart.key_span if counterpart is not None else head
            result.set(key, _anchor(entry.value, counterpart.value if counterpart else None, head), key_span)
        return result
    if isinstance(node, Sequence):
        items = written.items if isinstance(written, Sequence) else []
        anchored = [_anchor(item, items[i] if i < len(items) else None, span) for i, item in enumerate(node.items)]
        return Sequence(span, anchored, style=written.style if isinstance(written, Sequence) else node.style)
    if isinstance(node, Unknown):  # keeps the configuration's reference (`aws_s3_bucket.models`)
        return Unknown(span, node.reason, ref=written.ref if written is not None else None)
    if isinstance(node, Scalar):
        located = Scalar(node.value, span, style=node.style if written is None else getattr(written, "style", None))
        located.origin = written.origin if written is not None else None  # a module input, a tfvars entry
        return located
    return node


_INSTANCE_KEY = re.compile(r"\[[^\]]*\]")


def _base(address: str) -> str:
    """`module.pool["a"].aws_s3_bucket.this[0]` -> `module.pool.aws_s3_bucket.this`."""
    return _INSTANCE_KEY.sub("", address)
