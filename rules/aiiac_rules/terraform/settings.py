"""Reading one setting of a Terraform block, and the finding when it is missing or wrong.

Most cloud checks are "this attribute, maybe inside a nested block, must have this value". The
helper finds it through nested blocks (`metadata_options.http_tokens`), reports a wrong value on
the attribute with a value fix, and a missing one on the innermost block that exists, with a fix
that adds it when that block is the place to write it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import Entry, Mapping, Node, Sequence, Unknown

Wanted = Callable[[object], bool]


def entry_at(block: Mapping, path: str) -> tuple[Entry | None, Mapping, bool]:
    """The entry at a dotted path (through nested blocks, the first of each), the innermost
    block reached, and whether that block is the attribute's own (every parent exists)."""
    node: Mapping = block
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, Sequence) and child.items and isinstance(child.items[0], Mapping):
            child = child.items[0]
        if not isinstance(child, Mapping):
            return None, node, False
        node = child
    return node.entry(parts[-1]), node, True


def require(
    resource, path: str, wanted: Wanted, fixed_value, absent: str, wrong: str, absent_is_ok: bool = False
) -> Iterator[Hit]:
    """A hit when the setting at `path` is absent (unless `absent_is_ok`) or fails `wanted`.
    Unknown values (variables without a value, apply-time attributes) are never judged."""
    entry, block, own_block = entry_at(resource.body, path)
    if entry is None:
        if absent_is_ok:
            return
        last = path.rsplit(".", 1)[-1]
        at = block.head if block is not resource.body and block.head else resource.head
        fix = (
            Fix(f"Set {last} = {_hcl(fixed_value)}", (SetPath(block, (last,), fixed_value),))
            if fixed_value is not None and own_block
            else None
        )
        yield Hit(at, absent, fix)
        return
    value = entry.value
    if isinstance(value, Unknown) or not value.known:
        return
    if not wanted(value.plain()):
        fix = (
            Fix(f"Set {path.rsplit('.', 1)[-1]} = {_hcl(fixed_value)}", (ReplaceValue(value, fixed_value),))
            if fixed_value is not None and not isinstance(value, (Mapping, Sequence))
            else None
        )
        yield Hit(entry, wrong.format(value=_shown(value)), fix)


def _shown(value: Node) -> str:
    plain = value.plain()
    return _hcl(plain) if not isinstance(plain, (dict, list)) else "…"


def _hcl(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def is_true(value) -> bool:
    return value is True


def equals(expected) -> Wanted:
    def check(value) -> bool:
        return (
            isinstance(value, str) and value.lower() == str(expected).lower()
            if isinstance(expected, str)
            else value == expected
        )

    return check


def present(value) -> bool:
    return value not in (None, "", [], {})
