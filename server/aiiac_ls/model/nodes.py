"""The positioned value tree every format produces and every rule reads.

YAML documents and evaluated Terraform bodies become the same four node types, so a rule
navigates `spec.template.spec` or `vpc_config.endpoint_public_access` the same way and never
sees text. Every node carries the span where its text is written; positions are 0-based lines
and 0-based columns in code points (the LSP layer converts to the negotiated encoding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple


class Span(NamedTuple):
    """A range in one file: 0-based line, 0-based code-point column, end exclusive."""

    file: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains_line(self, line: int) -> bool:
        return self.start_line <= line <= self.end_line


class Decided(NamedTuple):
    """A value computed (by a conditional, an operator, a function) from the values written at
    `spans`: the operands that decided it (the `false` of an `&&` that is false), at most 16."""

    spans: tuple[Span, ...]


class Node:
    """Base of the value tree. `span` is where the value is written (None if synthesised)."""

    __slots__ = ("span", "ref", "origin")

    def __init__(self, span: Span | None, ref: str | None = None):
        self.span = span
        # The Terraform address this value was read from (e.g. ``aws_s3_bucket.models``), so
        # rules can link resources even when the value itself is unknown.
        self.ref = ref
        # Where the value was decided, when not where it is written (Terraform): the literal a
        # reference copied it from (a Span), or the value it was computed from (Decided). A
        # finding inside a module follows it to the caller's input that the user can change.
        self.origin: Span | Decided | None = None

    @property
    def known(self) -> bool:
        return True

    def plain(self) -> Any:
        """The value as plain Python data (Unknown becomes the UNKNOWN sentinel)."""
        raise NotImplementedError

    def walk(self) -> Iterator[Node]:
        yield self


def decided_at(node: Node) -> tuple[Span, ...]:
    """The spans of the written values that decided `node`, when that is not `node.span`."""
    origin = node.origin
    if origin is None:
        return ()
    return origin.spans if isinstance(origin, Decided) else (origin,)


class _UnknownSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _UnknownSentinel()


class Scalar(Node):
    """A string, number, bool or null. `style` keeps YAML quoting so fixes can preserve it."""

    __slots__ = ("value", "style")

    def __init__(self, value: Any, span: Span | None, style: str | None = None, ref: str | None = None):
        super().__init__(span, ref)
        self.value = value
        self.style = style

    def plain(self) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Scalar({self.value!r})"


class Unknown(Node):
    """A value that cannot be known statically; rules must never guess it secure or insecure."""

    __slots__ = ("reason",)

    def __init__(self, span: Span | None, reason: str = "", ref: str | None = None):
        super().__init__(span, ref)
        self.reason = reason

    @property
    def known(self) -> bool:
        return False

    def plain(self) -> Any:
        return UNKNOWN

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r}, ref={self.ref!r})"


@dataclass(slots=True)
class Entry:
    """One key of a mapping: the key's own span plus its value."""

    key: str
    key_span: Span | None
    value: Node


class Mapping(Node):
    """A YAML mapping, an HCL block body or an HCL object.

    `style` tells the fix writer how to insert text: ``block`` / ``flow`` (YAML),
    ``hcl-block`` / ``hcl-object`` (HCL). `indent` is the column of the keys of a YAML block
    mapping or of the attributes inside an HCL block.
    """

    __slots__ = ("entries", "style", "indent", "head")

    def __init__(
        self, span: Span | None, style: str = "block", indent: int = 0, head: Span | None = None, ref: str | None = None
    ):
        super().__init__(span, ref)
        self.entries: dict[str, Entry] = {}
        self.style = style
        self.indent = indent
        # A short span to report "this whole object" at: an HCL block header, a mapping's first key.
        self.head = head

    def set(self, key: str, value: Node, key_span: Span | None = None) -> None:
        self.entries[key] = Entry(key, key_span, value)

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry.value if entry else None

    def entry(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def keys(self):
        return self.entries.keys()

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, entry in self.entries.items():
            yield key, entry.value

    def find(self, dotted: str) -> Node | None:
        """Follow a dotted path of mapping keys (`spec.template.spec`)."""
        node: Node | None = self
        for part in dotted.split("."):
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        return node

    def mapping(self, key: str) -> Mapping | None:
        node = self.get(key)
        return node if isinstance(node, Mapping) else None

    def blocks(self, key: str) -> list[Mapping]:
        """Nested HCL blocks of one type (or a YAML list of mappings) under `key`."""
        node = self.get(key)
        if isinstance(node, Sequence):
            return [item for item in node.items if isinstance(item, Mapping)]
        if isinstance(node, Mapping):
            return [node]
        return []

    def block(self, key: str) -> Mapping | None:
        found = self.blocks(key)
        return found[0] if found else None

    def plain(self) -> Any:
        return {key: entry.value.plain() for key, entry in self.entries.items()}

    def walk(self) -> Iterator[Node]:
        yield self
        for entry in self.entries.values():
            yield from entry.value.walk()

    def __repr__(self) -> str:
        return f"Mapping({list(self.entries)})"


class Sequence(Node):
    """A YAML sequence, an HCL tuple, or the repeated nested blocks of one type."""

    __slots__ = ("items", "style", "indent")

    def __init__(
        self,
        span: Span | None,
        items: list[Node] | None = None,
        style: str = "block",
        indent: int = 0,
        ref: str | None = None,
    ):
        super().__init__(span, ref)
        self.items: list[Node] = items if items is not None else []
        self.style = style
        self.indent = indent

    def plain(self) -> Any:
        return [item.plain() for item in self.items]

    def walk(self) -> Iterator[Node]:
        yield self
        for item in self.items:
            yield from item.walk()

    def __repr__(self) -> str:
        return f"Sequence({len(self.items)})"


# ---- small readers rules use, all of them unknown-aware ----------------------------------------

_TRUE_STRINGS = {"true"}
_FALSE_STRINGS = {"false"}


def as_bool(node: Node | None, default: bool | None = None) -> bool | None:
    """True/False when the node is a known boolean (Terraform also accepts "true"); `default`
    when absent; None when unknown or not a boolean."""
    if node is None:
        return default
    if isinstance(node, Scalar):
        if isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str):
            lowered = node.value.lower()
            if lowered in _TRUE_STRINGS:
                return True
            if lowered in _FALSE_STRINGS:
                return False
    return None


def as_str(node: Node | None) -> str | None:
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    return None


def as_int(node: Node | None) -> int | None:
    if isinstance(node, Scalar):
        value = node.value
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def as_list(node: Node | None) -> list[Node]:
    """Items of a sequence; a lone scalar counts as a one-item list (IAM allows both)."""
    if node is None:
        return []
    if isinstance(node, Sequence):
        return node.items
    return [node]


def strings(node: Node | None) -> list[Scalar]:
    """The known string scalars of a string-or-list value."""
    return [item for item in as_list(node) if isinstance(item, Scalar) and isinstance(item.value, str)]


def first_span(*nodes: Node | None) -> Span | None:
    for node in nodes:
        if node is not None and node.span is not None:
            return node.span
    return None


def from_plain(value: Any, span: Span | None, yaml: bool = False) -> Node:
    """Plain data (decoded JSON, a function's result, what a kustomize generator makes) as nodes,
    all at `span`, styled as HCL values or (`yaml`) as YAML blocks."""
    if isinstance(value, dict):
        mapping = Mapping(span, style="block" if yaml else "hcl-object", head=span)
        for key, item in value.items():
            mapping.set(str(key), from_plain(item, span, yaml), span)
        return mapping
    if isinstance(value, (list, tuple)):
        return Sequence(span, [from_plain(item, span, yaml) for item in value], style="block" if yaml else "hcl")
    return Scalar(value, span)
