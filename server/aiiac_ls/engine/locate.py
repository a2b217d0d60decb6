"""Where a finding is reported: a rule hits a node, an entry or a span; the report needs a span
in the file the user edits. And which fixes can be written into a translated resource."""

from __future__ import annotations

from ..model.findings import Fix, RemoveKey, ReplaceValue
from ..model.nodes import Entry, Mapping, Node, Sequence, Span


def writable_fix(fix: Fix | None) -> Fix | None:
    """For a translated resource: the fix (or its fallback) if it only replaces values or removes
    keys, edits made on the nodes' own spans; None when it would have to spell a new key."""
    while fix is not None and not all(isinstance(edit, (ReplaceValue, RemoveKey)) for edit in fix.edits):
        fix = fix.fallback
    return fix


def locate(target) -> Span | None:
    """The span a finding is reported at: a key with its value when on one line, a block's header."""
    if isinstance(target, Span):
        return target
    if isinstance(target, Entry):
        key, value = target.key_span, target.value.span
        if key is not None and value is not None and key.file != value.file:
            return value  # a chart value written in values.yaml: report where the user changes it
        if (
            key is not None
            and value is not None
            and key.start_line == value.end_line
            and not isinstance(target.value, (Mapping, Sequence))
        ):
            return Span(key.file, key.start_line, key.start_col, value.end_line, value.end_col)
        return key or value
    if isinstance(target, Mapping):
        return target.head or target.span
    if isinstance(target, Sequence) and target.style == "hcl-blocks" and target.items:
        first = target.items[0]
        return getattr(first, "head", None) or first.span
    if isinstance(target, Node):
        return target.span
    return None
