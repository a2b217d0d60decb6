"""From semantic edits to minimal text edits, per format.

A rule's `SetPath(container, ("securityContext", "runAsNonRoot"), True)` becomes the few lines to
insert at the right indentation after the container's last key (YAML), or before the closing
brace of a block (HCL). Existing text, comments and formatting around the edit are untouched,
so quick fixes are safe to apply in an editor and `--fix` leaves a reviewable diff.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .formats.source import SourceFile
from .model.findings import AddBlockAfter, AppendItem, Fix, RemoveKey, ReplaceValue, SetPath
from .model.nodes import Entry, Mapping, Node, Scalar, Sequence, Span

INDENT = "  "


@dataclass(frozen=True)
class TextEdit:
    span: Span  # range to replace (empty for an insertion)
    new_text: str


class FixError(Exception):
    """The fix cannot be expressed safely in this text (the finding stays, without a fix)."""


SourceLookup = Callable[[str], SourceFile]


def is_hcl_file(path: str) -> bool:
    return path.endswith((".tf", ".tfvars", ".hcl"))


def resolve_fix(fix: Fix, source_of: SourceLookup) -> tuple[Fix, list[TextEdit]]:
    """The fix that can be written, and its text edits: `fix` itself or else its fallbacks."""
    try:
        return fix, text_edits(fix, source_of)
    except FixError:
        if fix.fallback is None:
            raise
        return resolve_fix(fix.fallback, source_of)


def text_edits(fix: Fix, source_of: SourceLookup) -> list[TextEdit]:
    edits: list[TextEdit] = []
    for edit in fix.edits:
        if isinstance(edit, AddBlockAfter):
            end = edit.after
            edits.append(
                TextEdit(Span(end.file, end.end_line, end.end_col, end.end_line, end.end_col), "\n\n" + edit.text)
            )
            continue
        if isinstance(edit, SetPath):
            edits.append(_set_path(edit, source_of))
            continue
        if isinstance(edit, AppendItem):
            target_seq = edit.sequence
            if target_seq.span is None or is_hcl_file(target_seq.span.file):
                raise FixError("only YAML sequences can be appended to")
            edits.append(_YamlWriter(source_of(target_seq.span.file)).append(target_seq, edit.value))
            continue
        target = edit.mapping if isinstance(edit, RemoveKey) else edit.node
        if target.span is None:
            raise FixError("the value has no position in the source")
        source = source_of(target.span.file)
        writer = _HclWriter(source) if is_hcl_file(target.span.file) else _YamlWriter(source)
        if isinstance(edit, ReplaceValue):
            edits.append(writer.replace(edit.node, edit.value))
        elif isinstance(edit, RemoveKey):
            edits.append(writer.remove_key(edit.mapping, edit.key))
    return _merge_same_point(edits)


def _set_path(edit: SetPath, source_of: SourceLookup) -> TextEdit:
    """Walk the existing part of the path first: the edit lands in the file of the node it
    reaches (a chart's container in a template, its `securityContext` block in values.yaml)."""
    node: Node = edit.mapping
    for index, key in enumerate(edit.path):
        assert isinstance(node, Mapping)
        entry = node.entry(key)
        if entry is None:
            return _writer(node, source_of).insert(node, edit.path[index:], edit.value)
        if index == len(edit.path) - 1:
            return _writer(entry.value, source_of).replace(entry.value, edit.value)
        child = entry.value
        if isinstance(child, Sequence) and child.style == "hcl-blocks" and child.items:
            child = child.items[0]
        if isinstance(child, Mapping) and (child.entries or child.style in ("block", "hcl-block", "hcl-object")):
            node = child
            continue
        writer = _writer(child, source_of)
        if not isinstance(writer, _YamlWriter):
            raise FixError(f"`{key}` is not a block or object")
        return writer.replace_empty(entry, edit.path[index + 1 :], edit.value)
    raise FixError("empty path")


def _writer(node: Node, source_of: SourceLookup):
    if node.span is None:
        raise FixError("the value has no position in the source")
    source = source_of(node.span.file)
    return _HclWriter(source) if is_hcl_file(node.span.file) else _YamlWriter(source)


def _merge_same_point(edits: list[TextEdit]) -> list[TextEdit]:
    """Two insertions at one point become one, in order (e.g. two attributes added to a block)."""
    merged: list[TextEdit] = []
    for edit in edits:
        previous = merged[-1] if merged else None
        if previous and previous.span == edit.span and edit.span[1:3] == edit.span[3:5]:
            merged[-1] = TextEdit(edit.span, previous.new_text + edit.new_text)
        else:
            merged.append(edit)
    return merged


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (positions in code points) to `text`, in one pass. Insertions
    at one point land in reverse order of `edits` (as if applied one by one from the end)."""
    offsets = _line_offsets(text)

    def offset(line: int, col: int) -> int:
        if line >= len(offsets):
            return len(text)
        return min(offsets[line] + col, len(text))

    ordered = sorted(enumerate(edits), key=lambda item: (item[1].span.start_line, item[1].span.start_col, -item[0]))
    pieces: list[str] = []
    position = 0
    for _, edit in ordered:
        start = max(offset(edit.span.start_line, edit.span.start_col), position)
        pieces += [text[position:start], edit.new_text]
        position = max(offset(edit.span.end_line, edit.span.end_col), start)
    pieces.append(text[position:])
    return "".join(pieces)


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for match in re.finditer(r"\r\n|\r|\n", text):
        offsets.append(match.end())
    return offsets


Point = tuple[int, int]


class _TakenRanges:
    """The ranges already edited in one file, sorted and pairwise apart, so whether a new range
    touches one of them is a binary search, not a scan of everything taken."""

    def __init__(self) -> None:
        self.ranges: list[tuple[Point, Point]] = []

    def touches(self, start: Point, end: Point) -> bool:
        index = bisect.bisect_left(self.ranges, (start, start))
        before = self.ranges[index - 1] if index else None
        after = self.ranges[index] if index < len(self.ranges) else None
        # touching counts: two insertions at one point conflict
        return (before is not None and before[1] >= start) or (after is not None and after[0] <= end)

    def add(self, start: Point, end: Point) -> None:
        bisect.insort(self.ranges, (start, end))


def _merged_ranges(edits: list[TextEdit]) -> dict[str, list[tuple[Point, Point]]]:
    """The ranges of one fix's edits per file, overlapping ones joined."""
    by_file: dict[str, list[tuple[Point, Point]]] = {}
    for edit in sorted(edits, key=lambda e: (e.span.file, e.span.start_line, e.span.start_col)):
        span = edit.span
        start, end = (span.start_line, span.start_col), (span.end_line, span.end_col)
        ranges = by_file.setdefault(span.file, [])
        if ranges and ranges[-1][1] >= start:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((start, end))
    return by_file


@dataclass
class FixSelection:
    """The fixes that can be applied together: their edits by file, and how many fixes."""

    edits: dict[str, list[TextEdit]]
    fixes: int


def select_fixes(findings, source_of: SourceLookup, path: str | None = None, unsafe: bool = False) -> FixSelection:
    """The fixes of `findings` (only those in `path`, if given; unsafe ones only with `unsafe`)
    whose edits touch no edit of an earlier one, in order: what `--fix` applies in one round and
    the editor's fix-all offers. Linear in the number of edits (each check is a binary search)."""
    taken: dict[str, _TakenRanges] = {}
    chosen: dict[str, list[TextEdit]] = {}
    count = 0
    for finding in findings:
        if finding.fix is None or (path is not None and finding.file != path):
            continue
        if finding.fix.unsafe and not unsafe:
            continue
        try:
            _, edits = resolve_fix(finding.fix, source_of)
        except (FixError, KeyError):
            continue
        ranges = _merged_ranges(edits)
        if any(
            file in taken and taken[file].touches(start, end) for file, spans in ranges.items() for start, end in spans
        ):
            continue
        for file, spans in ranges.items():
            for start, end in spans:
                taken.setdefault(file, _TakenRanges()).add(start, end)
        for edit in edits:
            chosen.setdefault(edit.span.file, []).append(edit)
        count += 1
    return FixSelection(chosen, count)


def _insertion(span_file: str, line: int, col: int, text: str) -> TextEdit:
    return TextEdit(Span(span_file, line, col, line, col), text)


def _minimal_string_edit(source: SourceFile, node: Scalar, new: str) -> TextEdit | None:
    """Insert into a string instead of rewriting it when the change is a pure insertion before a
    literal tail: `"${aws_s3_bucket.m.arn}/*"` -> `"${aws_s3_bucket.m.arn}/models/x/*"`."""
    old = node.value
    if not isinstance(old, str) or node.span is None or node.span.start_line != node.span.end_line:
        return None
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    if prefix + suffix != len(old) or suffix == 0:
        return None
    text = source.line(node.span.start_line)[node.span.start_col : node.span.end_col]
    quoted = text[:1] in "\"'" and text[-1:] == text[:1]
    body_end = len(text) - (1 if quoted else 0)
    tail = old[len(old) - suffix :]
    if text[body_end - suffix : body_end] != tail:
        return None
    col = node.span.start_col + body_end - suffix
    return _insertion(node.span.file, node.span.start_line, col, new[prefix : len(new) - suffix])


# ---- YAML ---------------------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./-]*$")
_YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def yaml_scalar(value: Any, style: str | None = None) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if style == '"' or not _PLAIN_SAFE.match(text) or text.lower() in _YAML_RESERVED:
        return json.dumps(text, ensure_ascii=False)
    return text


def yaml_flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {yaml_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(item) if isinstance(item, str) else yaml_flow(item) for item in value) + "]"
    return yaml_scalar(value)


def yaml_block_lines(keys: tuple[str, ...], value: Any) -> list[str]:
    """`a:\n  b: value` for keys (a, b), relative indentation only."""
    lines = []
    for depth, key in enumerate(keys[:-1]):
        lines.append(INDENT * depth + f"{key}:")
    depth = len(keys) - 1
    lines.append(INDENT * depth + f"{keys[-1]}: {yaml_flow(value)}")
    return lines


def _nest(keys: tuple[str, ...], value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def content_end(node: Node, source: SourceFile) -> tuple[int, int]:
    """Where a value's own text ends (block collections end at their last descendant)."""
    if isinstance(node, Mapping) and node.style == "block" and node.entries:
        last = _last_entry(node)
        if last is not None:
            return content_end(last.value, source)
    if isinstance(node, Sequence) and node.style == "block" and node.items:
        return content_end(node.items[-1], source)
    span = node.span
    assert span is not None
    if span.end_col == 0 and span.end_line > span.start_line:  # block scalars end at the next line
        line = span.end_line - 1
        return line, len(source.line(line).rstrip())
    return span.end_line, span.end_col


def _entries_in_order(mapping: Mapping) -> list[Entry]:
    """The mapping's own entries in text order (merged `<<` entries live elsewhere)."""
    span = mapping.span
    own = [
        e
        for e in mapping.entries.values()
        if e.key_span is not None
        and span is not None
        and e.key_span.file == span.file
        and (span.start_line, span.start_col) <= (e.key_span.start_line, e.key_span.start_col)
        and (e.key_span.end_line, e.key_span.end_col) <= (span.end_line, span.end_col)
    ]
    return sorted(own, key=lambda e: (e.key_span.start_line, e.key_span.start_col))  # type: ignore[union-attr]


def _last_entry(mapping: Mapping) -> Entry | None:
    entries = _entries_in_order(mapping)
    return entries[-1] if entries else None


GENERATED = "helm-generated"  # nodes a Helm action produced: never edited (see formats/helm/chart.py)


def _check_editable(node: Node, source: SourceFile) -> None:
    if getattr(node, "style", None) == GENERATED:
        raise FixError("the value is produced by a template action; fix it where the action gets it from")
    if node.span is not None and node.span.file != source.path:
        raise FixError("the value is written in another file")


class _YamlWriter:
    def __init__(self, source: SourceFile):
        self.source = source

    def set_path(self, mapping: Mapping, path: tuple[str, ...], value: Any) -> TextEdit:
        _check_editable(mapping, self.source)
        node = mapping
        for index, key in enumerate(path):
            entry = node.entry(key)
            if entry is None:
                return self.insert(node, path[index:], value)
            if index == len(path) - 1:
                return self.replace(entry.value, value)
            child = entry.value
            if isinstance(child, Mapping) and (child.entries or child.style == "block"):
                node = child
                continue
            return self.replace_empty(entry, path[index + 1 :], value)
        raise FixError("empty path")

    def insert(self, mapping: Mapping, keys: tuple[str, ...], value: Any) -> TextEdit:
        span = mapping.span
        assert span is not None
        if mapping.style == "flow":
            close_col = span.end_col - 1
            separator = ", " if mapping.entries else ""
            text = f"{separator}{keys[0]}: {yaml_flow(_nest(keys[1:], value)) if len(keys) > 1 else yaml_flow(value)}"
            return _insertion(span.file, span.end_line, close_col, text)
        last = _last_entry(mapping)
        if last is None:
            raise FixError("cannot insert into an empty block mapping")
        for node in last.value.walk():
            _check_editable(node, self.source)  # the insertion point must be text of this file
        line, _ = content_end(last.value, self.source)
        indent = " " * mapping.indent
        text = "".join("\n" + indent + row for row in yaml_block_lines(keys, value))
        return _insertion(span.file, line, len(self.source.line(line)), text)

    def replace_empty(self, entry: Entry, keys: tuple[str, ...], value: Any) -> TextEdit:
        """`securityContext: {}` or `securityContext:` (null) gets the missing keys."""
        child = entry.value
        if isinstance(child, Mapping) and child.style == "flow":
            return TextEdit(child.span, yaml_flow(_nest(keys, value)))  # type: ignore[arg-type]
        if isinstance(child, Scalar) and child.value is None and entry.key_span is not None:
            key_line = entry.key_span.start_line
            indent = " " * (entry.key_span.start_col + len(INDENT))
            text = "".join("\n" + indent + row for row in yaml_block_lines(keys, value))
            span = child.span
            if span is not None and (span.start_line, span.start_col) != (span.end_line, span.end_col):
                return TextEdit(span, text)  # an explicit `null` / `~` is replaced
            return _insertion(entry.key_span.file, key_line, len(self.source.line(key_line)), text)
        raise FixError("the value at this path is not a mapping")

    def replace(self, node: Node, value: Any) -> TextEdit:
        span = node.span
        if span is None:
            raise FixError("no position")
        _check_editable(node, self.source)
        if isinstance(node, Scalar) and isinstance(value, str):
            minimal = _minimal_string_edit(self.source, node, value)
            if minimal is not None:
                return minimal
        if isinstance(node, Sequence) and node.style == "block" and isinstance(value, (list, tuple)):
            end_line, end_col = content_end(node, self.source)
            indent = " " * span.start_col
            text = ("\n" + indent).join(f"- {yaml_scalar(item)}" for item in value)
            return TextEdit(Span(span.file, span.start_line, span.start_col, end_line, end_col), text)
        if isinstance(node, (Mapping, Sequence)):
            end_line, end_col = content_end(node, self.source)
            return TextEdit(Span(span.file, span.start_line, span.start_col, end_line, end_col), yaml_flow(value))
        style = node.style if isinstance(node, Scalar) and isinstance(value, str) else None
        return TextEdit(span, yaml_scalar(value, style if style in ("'", '"') else None))

    def append(self, sequence: Sequence, value: Any) -> TextEdit:
        """A new last item: `, item` before a flow sequence's `]`, or a `- {item}` line at the
        dash column of a block sequence."""
        span = sequence.span
        assert span is not None
        _check_editable(sequence, self.source)
        if sequence.style == "flow":
            separator = ", " if sequence.items else ""
            return _insertion(span.file, span.end_line, span.end_col - 1, separator + yaml_flow(value))
        if not sequence.items:
            raise FixError("cannot append to an empty block sequence")
        for node in sequence.items[-1].walk():
            _check_editable(node, self.source)
        line, _ = content_end(sequence, self.source)
        return _insertion(
            span.file, line, len(self.source.line(line)), "\n" + " " * span.start_col + "- " + yaml_flow(value)
        )

    def remove_key(self, mapping: Mapping, key: str) -> TextEdit:
        _check_editable(mapping, self.source)
        entries = _entries_in_order(mapping)
        target = next((e for e in entries if e.key == key), None)
        if target is None or target.key_span is None:
            raise FixError(f"no key {key}")
        for neighbour in entries:
            _check_editable(neighbour.value, self.source)
        if mapping.style == "flow":
            raise FixError("removing keys from flow mappings is not supported")
        position = entries.index(target)
        file = target.key_span.file
        if position + 1 < len(entries):
            following = entries[position + 1].key_span
            assert following is not None
            return TextEdit(
                Span(
                    file,
                    target.key_span.start_line,
                    target.key_span.start_col,
                    following.start_line,
                    following.start_col,
                ),
                "",
            )
        if position > 0:
            previous_line, _ = content_end(entries[position - 1].value, self.source)
            end_line, _ = content_end(target.value, self.source)
            return TextEdit(
                Span(
                    file, previous_line, len(self.source.line(previous_line)), end_line, len(self.source.line(end_line))
                ),
                "",
            )
        end_line, end_col = content_end(target.value, self.source)
        return TextEdit(Span(file, target.key_span.start_line, target.key_span.start_col, end_line, end_col), "{}")


# ---- HCL ----------------------------------------------------------------------------------------


def hcl_literal(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {hcl_literal(item)}" for key, item in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False).replace("${", "$${")


class _HclWriter:
    def __init__(self, source: SourceFile):
        self.source = source

    def set_path(self, mapping: Mapping, path: tuple[str, ...], value: Any) -> TextEdit:
        node = mapping
        for index, key in enumerate(path):
            entry = node.entry(key)
            if entry is None:
                return self.insert(node, path[index:], value)
            if index == len(path) - 1:
                return self.replace(entry.value, value)
            child = entry.value
            if isinstance(child, Sequence) and child.style == "hcl-blocks" and child.items:
                child = child.items[0]
            if not isinstance(child, Mapping):
                raise FixError(f"`{key}` is not a block or object")
            node = child
        raise FixError("empty path")

    def _lines(self, keys: tuple[str, ...], value: Any) -> list[str]:
        if len(keys) == 1:
            return [f"{keys[0]} = {hcl_literal(value)}"]
        inner = self._lines(keys[1:], value)
        return [f"{keys[0]} {{", *[INDENT + line for line in inner], "}"]

    def insert(self, mapping: Mapping, keys: tuple[str, ...], value: Any) -> TextEdit:
        span = mapping.span
        if span is None or mapping.style not in ("hcl-block", "hcl-object"):
            raise FixError("cannot insert here")
        close_line, close_col = span.end_line, span.end_col - 1
        line_text = self.source.line(close_line)
        if line_text[close_col : close_col + 1] != "}":
            raise FixError("block end not found")
        start_line = self.source.line(span.start_line)
        base = start_line[: len(start_line) - len(start_line.lstrip())]
        indent = " " * mapping.indent if mapping.entries else base + INDENT
        rows = self._lines(keys, value)
        if line_text[:close_col].strip() == "":
            text = "".join(indent + row + "\n" for row in rows)
            return _insertion(span.file, close_line, 0, text)
        text = "".join("\n" + indent + row for row in rows) + "\n" + base
        return _insertion(span.file, close_line, close_col, text)

    def replace(self, node: Node, value: Any) -> TextEdit:
        if node.span is None:
            raise FixError("no position")
        if isinstance(node, Scalar) and isinstance(value, str):
            minimal = _minimal_string_edit(self.source, node, value)
            if minimal is not None:
                return minimal
        return TextEdit(node.span, hcl_literal(value))

    def remove_key(self, mapping: Mapping, key: str) -> TextEdit:
        entry = mapping.entry(key)
        if entry is None or entry.key_span is None or entry.value.span is None:
            raise FixError(f"no attribute {key}")
        start = entry.key_span.start_line
        end = entry.value.span.end_line
        return TextEdit(Span(entry.key_span.file, start, 0, end + 1, 0), "")
