"""The source map: each node of a rendered object mapped back through the output segments to
the template text it was copied from, or to the values node an action printed."""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from ...limits import DEFAULT_LIMITS, Limits
from ...model.nodes import Mapping, Node, Scalar, Sequence, Span
from ...model.resources import Resource
from ..source import SourceFile
from ..yaml import kubernetes_resources, parse_yaml
from .execute import Segment
from .gotypes import from_plain_numbers
from .loading import ChartProblem

if TYPE_CHECKING:
    from .chart import ChartRender, RenderedFile

GENERATED = "helm-generated"  # style of nodes an action produced: located at the action, never edited


class _SourceMap:
    def __init__(self, rendered: RenderedFile, nodes: dict[tuple, Node], sources: dict[str, SourceFile]):
        self.rendered = rendered
        self.nodes = nodes
        self.sources = sources
        self.starts = [s.out_start for s in rendered.segments]
        text = rendered.text
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self._file_lines: dict[str, list[int]] = {}

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line] + col if line < len(self.line_starts) else len(self.rendered.text)

    def segment(self, offset: int) -> Segment | None:
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            return None
        segment = self.rendered.segments[index]
        if offset >= segment.out_end and index + 1 < len(self.rendered.segments):
            return None
        return segment

    def position(self, file: str, offset: int) -> tuple[int, int]:
        starts = self._file_lines.get(file)
        if starts is None:
            text = self.sources[file].text if file in self.sources else ""
            starts = self._file_lines[file] = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line]

    def location(self, offset: int, end: bool = False) -> tuple[str, int, Segment | None]:
        """(file, offset in that file, segment) of a rendered offset."""
        segment = self.segment(offset - 1 if end and offset > 0 else offset)
        if segment is None:
            return self.rendered.path, 0, None
        if segment.literal:
            return segment.file, segment.start + (offset - segment.out_start), segment
        return segment.file, segment.end if end else segment.start, segment

    def span(self, span: Span) -> tuple[Span, Segment | None]:
        start = self.offset(span.start_line, span.start_col)
        end = self.offset(span.end_line, span.end_col)
        file, start_at, segment = self.location(start)
        end_file, end_at, _ = self.location(end, end=True)
        if end_file != file or end_at < start_at:
            end_at = start_at
        start_line, start_col = self.position(file, start_at)
        end_line, end_col = self.position(file, end_at)
        return Span(file, start_line, start_col, end_line, end_col), segment


def _resources(
    rendered: RenderedFile,
    nodes: dict[tuple, Node],
    result: ChartRender,
    source: SourceFile,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Resource]:
    documents, errors = parse_yaml(SourceFile(rendered.path, rendered.text), limits)
    source_map = _SourceMap(rendered, nodes, result.sources)
    for error in errors:
        span, _ = source_map.span(error.span) if error.span else (None, None)
        result.problems.append(
            # with these values (Helm refuses it too): a warning, not a failure of the scan
            ChartProblem(rendered.path, f"rendered template is not valid YAML: {error.message}", span, "warning")
        )
    resources = kubernetes_resources(documents, rendered.path)
    for resource in resources:
        pieces: dict[int, tuple] = {}
        resource.body = _remap(resource.body, source_map, yaml_bases={}, pieces=pieces)  # type: ignore[assignment]
        resource.pieces = pieces
        resource.span, _ = source_map.span(resource.span)
        resource.head, _ = source_map.span(resource.head)
        resource.file = resource.head.file
        resource.labels["helm.sh/template"] = rendered.name
    return resources


def _values_node(source_map: _SourceMap, path: tuple) -> Node | None:
    return source_map.nodes.get(path)


def _same_value(rendered: Node, original: Node) -> bool:
    return from_plain_numbers(rendered.plain()) == from_plain_numbers(original.plain())


def _pieces(node: Scalar, source_map: _SourceMap) -> tuple[tuple[int, int, Node | None], ...] | None:
    """The parts of a rendered string written by different template actions: (start, end, the
    values node the action printed, or None) in the string's characters; None for one piece."""
    assert node.span is not None
    start = source_map.offset(node.span.start_line, node.span.start_col)
    end = source_map.offset(node.span.end_line, node.span.end_col)
    quote = 1 if node.style in ('"', "'") else 0
    first, last = start + quote, end - quote
    if last - first != len(node.value):
        return None  # escapes or folding: the characters do not map one to one
    pieces = []
    index = bisect.bisect_right(source_map.starts, first) - 1
    for segment in source_map.rendered.segments[max(index, 0) :]:
        if segment.out_start >= last:
            break
        low, high = max(segment.out_start, first), min(segment.out_end, last)
        if high <= low:
            continue
        values = None
        if not segment.literal and segment.values_path is not None and not segment.as_yaml:
            values = _values_node(source_map, segment.values_path)
        pieces.append((low - first, high - first, values))
    if len(pieces) < 2 or not any(values is not None for _, _, values in pieces):
        return None
    return tuple(pieces)


def _remap(
    node: Node, source_map: _SourceMap, yaml_bases: dict[int, tuple], path_here: tuple = (), pieces: dict | None = None
) -> Node:
    """Map a rendered node (and its children) to where the user wrote it; see the module docstring."""
    assert node.span is not None
    if pieces is not None and isinstance(node, Scalar) and isinstance(node.value, str):
        found = _pieces(node, source_map)
        if found is not None:
            pieces[id(node)] = found
    new_span, segment = source_map.span(node.span)
    if segment is not None and not segment.literal and segment.values_path is not None:
        values_path = segment.values_path
        if segment.as_yaml:
            base = yaml_bases.setdefault(id(segment), path_here)
            values_path = values_path + path_here[len(base) :]
        original = _values_node(source_map, values_path)
        if original is not None and _same_value(node, original):
            return original  # the values-file node itself: findings and fixes land in values.yaml
        if original is not None and original.span is not None:
            new_span = original.span
    generated = segment is not None and not segment.literal
    node.span = new_span
    if isinstance(node, Mapping):
        if node.head is not None:
            node.head, _ = source_map.span(node.head)
        if generated:
            node.style = GENERATED
        for key, entry in list(node.entries.items()):
            if entry.key_span is not None:
                key_span, key_segment = source_map.span(entry.key_span)
                if key_segment is not None and key_segment.as_yaml and not key_segment.literal:
                    # a key written by toYaml: its value sits one level below the subtree's base
                    yaml_bases.setdefault(id(key_segment), path_here)
                entry.key_span = key_span
            entry.value = _remap(entry.value, source_map, yaml_bases, path_here + (key,), pieces)
    elif isinstance(node, Sequence):
        if generated:
            node.style = GENERATED
        node.items = [
            _remap(item, source_map, yaml_bases, path_here + (index,), pieces) for index, item in enumerate(node.items)
        ]
    elif isinstance(node, Scalar) and generated:
        node.style = GENERATED
    return node
