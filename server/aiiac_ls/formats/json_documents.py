"""JSON written inside a string (a policy heredoc, `file()`, `jsondecode`, a `jsonencode`d
value) as positioned nodes: a heredoc keeps the exact position of every value, any other string
maps every value to the string's own span."""

from __future__ import annotations

import json

from ..model.nodes import Mapping, Node, Scalar, from_plain
from .hcl.evaluate import TextBlock
from .yaml import json_nodes


def parse_json_document(node: Node) -> Node | None:
    """A JSON string (policy heredoc, `file()`, `jsondecode`) as nodes. Heredoc JSON keeps exact
    positions; any other string maps every value to the string's own span."""
    if isinstance(node, Mapping):
        return node
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        return None
    text = node.value.strip()
    if not text.startswith(("{", "[")) or node.span is None:
        return None
    if isinstance(node, TextBlock):
        parsed = json_nodes(node.value, node.span.file, node.content_line, node.indent)
        if parsed is not None:
            return parsed
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return from_plain(data, node.span)
