"""The Terraform built-in functions that shape security-relevant values.

Structural functions (`jsonencode`, `merge`, `concat`, `lookup`, `try`, `coalesce`...) keep the
nodes they are given, so positions survive: a statement inside `jsonencode({...})` still points at
its line. Value functions (`format`, `lower`, `join`...) compute on known plain values; any
unknown argument makes the result unknown. Functions with side effects or outside knowledge
(`timestamp`, `uuid`, `templatefile`, `file` outside the module) are never evaluated.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Callable
from typing import Any

from ...model.nodes import Mapping, Node, Scalar, Sequence, Span, Unknown, from_plain
from ..json_documents import parse_json_document
from ..source import FileSystem
from .evaluate import to_str

MAX_FILE_FUNCTION_BYTES = 1024 * 1024


class _NotKnown(Exception):
    def __init__(self, node: Unknown):
        self.node = node


def plain(node: Node) -> Any:
    """Plain Python data, or raise _NotKnown if anything inside is unknown."""
    if isinstance(node, Unknown):
        raise _NotKnown(node)
    if isinstance(node, Mapping):
        return {key: plain(value) for key, value in node.items()}
    if isinstance(node, Sequence):
        return [plain(item) for item in node.items]
    return node.value  # type: ignore[attr-defined]


def _value_fn(fn: Callable[..., Any]) -> Callable[..., Node]:
    """Adapt a function of plain values; unknown in, unknown out."""

    def wrapper(span: Span, args: list[Node], env=None) -> Node:
        try:
            values = [plain(arg) for arg in args]
        except _NotKnown as exc:
            return Unknown(span, f"{fn.__name__.strip('_')}() of an unknown value", ref=exc.node.ref)
        return from_plain(fn(*values), span)

    wrapper.__name__ = fn.__name__
    return wrapper


# ---- structural: keep nodes -------------------------------------------------------------------


def _jsonencode(span, args, env=None):
    # The structure itself stands for its JSON text: rules read policies as trees.
    return args[0] if args else Unknown(span, "jsonencode() without argument")


def _merge(span, args, env=None):
    result = Mapping(span, style="hcl-object", head=span)
    for arg in args:
        if isinstance(arg, Unknown):
            return Unknown(span, "merge() of an unknown map", ref=arg.ref)
        if isinstance(arg, Scalar) and arg.value is None:
            continue
        if not isinstance(arg, Mapping):
            return Unknown(span, "merge() of a non-map")
        result.entries.update(arg.entries)
    return result


def _concat(span, args, env=None):
    items: list[Node] = []
    for arg in args:
        if not isinstance(arg, Sequence):
            return Unknown(span, "concat() of an unknown list", ref=arg.ref)
        items.extend(arg.items)
    return Sequence(span, items, style="hcl")


def _flatten(span, args, env=None):
    items: list[Node] = []

    def add(node: Node, depth: int) -> bool:
        if isinstance(node, Sequence) and depth < 32:
            return all(add(item, depth + 1) for item in node.items)
        if isinstance(node, Unknown):
            return False
        items.append(node)
        return True

    if not args or not isinstance(args[0], Sequence) or not add(args[0], 0):
        return Unknown(span, "flatten() of an unknown list")
    return Sequence(span, items, style="hcl")


def _lookup(span, args, env=None):
    if len(args) < 2:
        return Unknown(span, "lookup() needs a map and a key")
    table, key = args[0], args[1]
    if not isinstance(key, Scalar) or isinstance(table, Unknown):
        return Unknown(span, "lookup() of an unknown value", ref=table.ref)
    if isinstance(table, Mapping):
        found = table.get(to_str(key.value))
        if found is not None:
            return found
        return args[2] if len(args) > 2 else Unknown(span, "lookup() key missing")
    return Unknown(span, "lookup() of a non-map")


def _element(span, args, env=None):
    if len(args) == 2 and isinstance(args[0], Sequence) and isinstance(args[1], Scalar):
        items = args[0].items
        if items and isinstance(args[1].value, int):
            return items[args[1].value % len(items)]
    return Unknown(span, "element() of an unknown value")


def _one(span, args, env=None):
    if args and isinstance(args[0], Sequence):
        items = args[0].items
        if len(items) == 1:
            return items[0]
        if not items:
            return Scalar(None, span)
    return Unknown(span, "one() of an unknown value")


def _identity(span, args, env=None):
    return args[0] if args else Unknown(span, "missing argument")


def _try(span, thunks, env=None):
    for thunk in thunks:
        value = thunk()
        if value.known and not _contains_unknown(value):
            return value
        if isinstance(value, Unknown) and not value.reason.startswith(
            ("no attribute", "no such key", "index out of range")
        ):
            return Unknown(span, "try() of an unknown value", ref=value.ref)
    return Unknown(span, "try() with no known alternative")


def _can(span, thunks, env=None):
    value = thunks[0]() if thunks else Unknown(span, "")
    return Scalar(True, span) if value.known else Unknown(span, "can() of an unknown value")


def _contains_unknown(node: Node) -> bool:
    return any(isinstance(child, Unknown) for child in node.walk())


def _coalesce(span, args, env=None):
    for arg in args:
        if isinstance(arg, Unknown):
            return Unknown(span, "coalesce() of an unknown value", ref=arg.ref)
        if isinstance(arg, Scalar) and arg.value not in (None, ""):
            return arg
    return Unknown(span, "coalesce() with no value")


def _coalescelist(span, args, env=None):
    for arg in args:
        if isinstance(arg, Unknown):
            return Unknown(span, "coalescelist() of an unknown value", ref=arg.ref)
        if isinstance(arg, Sequence) and arg.items:
            return arg
    return Unknown(span, "coalescelist() with no value")


def _jsondecode(span, args, env=None):
    if args and isinstance(args[0], Scalar) and isinstance(args[0].value, str):
        decoded = parse_json_document(args[0])
        if decoded is not None:
            return decoded
    return Unknown(span, "jsondecode() of an unknown or invalid value")


def module_path(module_dir: str, value: str, display_dir: str | None = None) -> str:
    """A path written in a module: relative to the module's folder, or built from `path.module`,
    which evaluates to the folder as the scan names it (`display_dir`: relative to the working
    directory, or the working tree's name of a revision's folder that `--diff` analyses)."""
    if display_dir is not None:
        prefix = display_dir.rstrip("/\\") + "/"
        if value == display_dir or value.startswith(prefix):
            return os.path.normpath(os.path.join(module_dir, value[len(prefix) :]))
    candidate = os.path.normpath(os.path.join(module_dir, value))
    if not os.path.exists(candidate) and not os.path.isabs(value) and os.path.exists(value):
        return os.path.normpath(value)
    return candidate


class FileText(Scalar):
    """The text `file()` read, remembering from where: a Helm values file given to a
    `helm_release` as `values = [file("values.yaml")]` is then analysed as that file."""

    __slots__ = ("path",)

    def __init__(self, value: str, span: Span | None, path: str):
        super().__init__(value, span)
        self.path = path


def _file(span, args, env=None):
    """Read a file of the module itself (an IAM policy JSON); never outside the module folder."""
    if env is None or not args or not isinstance(args[0], Scalar) or not isinstance(args[0].value, str):
        return Unknown(span, "file() of an unknown path")
    module_dir = os.path.realpath(env.module.directory)
    display_dir = getattr(getattr(env.module, "files", None), "display_dir", None)
    path = os.path.realpath(module_path(module_dir, args[0].value, display_dir))
    # the engine's file system: in the editor, an open buffer rather than the disk
    files = getattr(getattr(env.module, "project", None), "filesystem", None) or FileSystem()
    if os.path.commonpath([module_dir, path]) != module_dir or not files.is_file(path):
        return Unknown(span, "file() outside the module folder is not read")
    if files.buffer(path) is None and os.path.getsize(path) > MAX_FILE_FUNCTION_BYTES:
        return Unknown(span, "file() too large")
    try:
        text = files.read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return Unknown(span, "file() unreadable")
    if len(text) > MAX_FILE_FUNCTION_BYTES:
        return Unknown(span, "file() too large")
    record = getattr(getattr(env.module, "project", None), "files_read", None)
    if record is not None:  # the editor re-evaluates what read a file when the file changes
        record[path] = text
    # the path as the scan names the module (through a symlink, say), so the file is reported
    # under the same name when a chart reads it as a values file
    shown = module_path(display_dir or module_dir, args[0].value)
    return FileText(text, span, shown if os.path.realpath(shown) == path else path)


# ---- value functions ---------------------------------------------------------------------------

_FORMAT_VERB = re.compile(r"%(?:%|[-+# 0]*\d*(?:\.\d+)?[vsdqtfgexXbo])")


def _format(fmt, *values):
    values_iter = iter(values)

    def replace(match: re.Match) -> str:
        verb = match.group(0)
        if verb == "%%":
            return "%"
        value = next(values_iter)
        kind = verb[-1]
        if kind == "q":
            return json.dumps(to_str(value))
        if kind == "d":
            return str(int(value))
        if kind in "fge":
            return ("%" + verb[1:]) % float(value)
        if kind in "xXob":
            return format(int(value), kind)
        return to_str(value) if not isinstance(value, (dict, list)) else json.dumps(value)

    return _FORMAT_VERB.sub(replace, fmt)


def _join(sep, *lists):
    return sep.join(to_str(item) for items in lists for item in items)


def _substr(text, offset, length):
    if offset < 0:
        offset += len(text)
    return text[offset:] if length < 0 else text[offset : offset + length]


def _range(*args):
    if len(args) > 3 or not all(isinstance(a, (int, float)) for a in args):
        raise ValueError("bad range")
    result = list(range(*[int(a) for a in args]))
    if len(result) > 1024:
        raise ValueError("range too long")
    return result


def _distinct(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _replace(text, old, new):
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        return re.sub(old[1:-1], re.sub(r"\$(\d+)", r"\\\1", new), text)
    return text.replace(old, new)


def _tobool(value):
    if isinstance(value, bool) or value is None:
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("not a bool")


def _tonumber(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _contains(items, value):
    return value in items


def _keys(table):
    return sorted(table)


def _values(table):
    return [table[key] for key in sorted(table)]


def _zipmap(keys, values):
    return dict(zip([to_str(k) for k in keys], values, strict=False))


def _setunion(*sets):
    return _distinct([item for items in sets for item in items])


def _startswith(text, prefix):
    return text.startswith(prefix)


def _endswith(text, suffix):
    return text.endswith(suffix)


def _formatlist(fmt, *lists):
    lengths = {len(item) for item in lists if isinstance(item, list)}
    count = lengths.pop() if lengths else 1
    rows = []
    for index in range(count):
        rows.append(_format(fmt, *[item[index] if isinstance(item, list) else item for item in lists]))
    return rows


def _length(value):
    return len(value)


def _slice(items, start, end):
    return items[int(start) : int(end)]


def _index(items, value):
    return items.index(value)


VALUE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "format": _format,
    "formatlist": _formatlist,
    "join": _join,
    "split": lambda sep, text: text.split(sep),
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "trimspace": str.strip,
    "chomp": lambda text: text.rstrip("\r\n"),
    "trim": lambda text, chars: text.strip(chars),
    "trimprefix": lambda text, prefix: text[len(prefix) :] if text.startswith(prefix) else text,
    "trimsuffix": lambda text, suffix: text[: -len(suffix)] if suffix and text.endswith(suffix) else text,
    "replace": _replace,
    "substr": _substr,
    "strrev": lambda text: text[::-1],
    "startswith": _startswith,
    "endswith": _endswith,
    "length": _length,
    "distinct": _distinct,
    "keys": _keys,
    "values": _values,
    "contains": _contains,
    "compact": lambda items: [item for item in items if item not in (None, "")],
    "reverse": lambda items: list(reversed(items)),
    "sort": lambda items: sorted(to_str(i) for i in items),
    "slice": _slice,
    "index": _index,
    "zipmap": _zipmap,
    "setunion": _setunion,
    "range": _range,
    "min": min,
    "max": max,
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "tostring": lambda value: to_str(value) if not isinstance(value, (dict, list)) else _raise(),
    "tonumber": _tonumber,
    "tobool": _tobool,
    "base64encode": lambda text: base64.b64encode(text.encode()).decode(),
    "base64decode": lambda text: base64.b64decode(text).decode("utf-8"),
}


def _raise():
    raise ValueError("not a primitive value")


STRUCTURAL_FUNCTIONS: dict[str, Callable[..., Node]] = {
    "jsonencode": _jsonencode,
    "yamlencode": _jsonencode,
    "jsondecode": _jsondecode,
    "merge": _merge,
    "concat": _concat,
    "flatten": _flatten,
    "lookup": _lookup,
    "element": _element,
    "one": _one,
    "try": _try,
    "can": _can,
    "coalesce": _coalesce,
    "coalescelist": _coalescelist,
    "sensitive": _identity,
    "nonsensitive": _identity,
    "file": _file,
    "tolist": _identity,
    "toset": _identity,
    "tomap": _identity,
}


def builtin_functions() -> dict[str, Callable[..., Node]]:
    table: dict[str, Callable[..., Node]] = {name: _value_fn(fn) for name, fn in VALUE_FUNCTIONS.items()}
    table.update(STRUCTURAL_FUNCTIONS)
    return table
