"""YAML to positioned nodes, and Kubernetes objects out of YAML documents.

ruamel.yaml's C parser composes the node graph with start/end marks (0-based lines, code-point
columns). Documents are split on `---` first and parsed one by one, so a syntax error mid-edit
loses only its own document. Aliases are expanded while converting, with a node budget that
stops alias bombs; merge keys (`<<`) are applied.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from sys import intern

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from ..limits import DEFAULT_LIMITS, Limits
from ..model.nodes import Entry, Mapping, Node, Scalar, Sequence, Span
from ..model.resources import Resource, k8s_address
from ..secrets import could_hold_credential
from .source import SourceError, SourceFile, text_position

_DOC_SEPARATOR = re.compile(r"^(---|\.\.\.)(?=\s|$)", re.M)
# the same after a line break: a search that starts from each `\n` (a fifth of the time of `^`,
# which is tried at every character)
_SEPARATOR_AFTER_BREAK = re.compile(r"\n(?:---|\.\.\.)(?=\s|$)")
# CustomResourceDefinitions are OpenAPI schemas (the KubeRay ones run to 25k lines); no rule reads
# them, so they are recognised by their top-level kind and not composed.
_CRD = re.compile(r"^kind:[ \t]*['\"]?CustomResourceDefinition['\"]?[ \t]*(#.*)?$", re.M)

_TAG_STR = "tag:yaml.org,2002:str"
_TAG_PLAIN = "!aiiac/plain"  # an untagged plain scalar, typed by `_scalar_value`
_TAG_INT = "tag:yaml.org,2002:int"
_TAG_FLOAT = "tag:yaml.org,2002:float"
_TAG_BOOL = "tag:yaml.org,2002:bool"
_TAG_NULL = "tag:yaml.org,2002:null"

# Kubernetes reads YAML with go-yaml (YAML 1.1 booleans); plain scalars are typed here, once,
# instead of by ruamel's resolver, which costs 4x the parse itself.
_BOOL_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_BOOL_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}
_NULLS = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_INT_OTHER = re.compile(r"^[-+]?0(?:x[0-9a-fA-F_]+|o[0-7_]+|[0-7_]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$")
_FLOAT_SPECIAL = {
    ".inf": float("inf"),
    "+.inf": float("inf"),
    "-.inf": float("-inf"),
    ".nan": float("nan"),
    ".Inf": float("inf"),
    "-.Inf": float("-inf"),
    ".NaN": float("nan"),
}


class _PlainResolver(VersionedResolver):
    """Tags every node by kind only; `_scalar_value` types plain scalars. Tags are `Tag` objects,
    as ruamel's pure-Python composer asserts (its C composer also takes strings)."""

    _PLAIN, _STR = Tag(suffix=_TAG_PLAIN), Tag(suffix=_TAG_STR)

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            return self._PLAIN if implicit and implicit[0] else self._STR
        return self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG

    def descend_resolver(self, current_node, current_index):
        return None

    def ascend_resolver(self):
        return None


def _make_loader(pure: bool = False) -> YAML:
    """The C parser when ruamel.yaml.clib is installed; the pure-Python one elsewhere (the
    server bundled in the VS Code extension, PyPy), with the same results (tested)."""
    try:
        loader = YAML(typ="safe", pure=pure)
    except Exception:  # pragma: no cover - platforms without the C extension
        loader = YAML(typ="safe", pure=True)
    loader.Resolver = _PlainResolver
    return loader


_LOADER = _make_loader()


def _c_composer():
    """A class composing with ruamel's C parser and our resolver, made once: `YAML.compose_all`
    builds such a class (and a constructor, a DocInfo) for every call, a quarter of the time of
    composing a 20-line document, and we compose documents one by one. Only the parser's own
    `__init__` runs: the loader's Python ones make the object refer to itself six times (as its
    parser, constructor, resolver...), so every composer was cyclic garbage that held its libyaml
    buffers until a collection, and composing needs none of it. None without the C parser."""
    if _CParser is None:  # pragma: no cover - platforms without ruamel.yaml.clib
        return None

    class Composer(_CParser, _PlainResolver):  # `resolve` and the resolver hooks, no state
        pass

    return Composer


try:
    from ruamel.yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - platforms without ruamel.yaml.clib
    _CParser = None
_C_COMPOSER = _c_composer()


def _compose_all(text: str) -> list:
    """The node graph of each YAML document in `text`."""
    if _C_COMPOSER is None or _LOADER.Parser is not _CParser:  # the pure-Python loader
        try:
            return list(_LOADER.compose_all(text))
        finally:
            _LOADER.doc_infos.clear()  # ruamel appends one per call and never drops them
    composer = _C_COMPOSER(text)
    try:
        nodes = []
        while composer.check_node():
            nodes.append(composer.get_node())
        return nodes
    finally:
        composer.dispose()


@dataclass
class YamlDocument:
    root: Node | None
    start_line: int  # first line of the document's text (after a `---` line)
    end_line: int
    credential_free: bool = False  # its text cannot hold a credential (`could_hold_credential`)


class _Budget:
    __slots__ = ("left",)

    def __init__(self, nodes: int) -> None:
        self.left = nodes


def _number(text: str, integer: bool):
    cleaned = text.replace("_", "")
    try:
        if not integer:
            return float(cleaned)
        body = cleaned.lstrip("+-")
        sign = -1 if cleaned.startswith("-") else 1
        if body.startswith(("0x", "0X")):
            return sign * int(body[2:], 16)
        if body.startswith(("0o", "0O")):
            return sign * int(body[2:], 8)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)
        return int(cleaned)
    except ValueError:
        return text


def _scalar_value(node: ScalarNode):
    text = node.value
    # our resolver's own tags are compared by identity: `node.tag` is a property that formats
    # its Tag, four calls for each of the million scalars of a large scan
    tag = (
        _TAG_PLAIN
        if node.ctag is _PlainResolver._PLAIN
        else _TAG_STR
        if node.ctag is _PlainResolver._STR
        else str(node.tag)
    )
    if tag == _TAG_PLAIN:
        if text in _NULLS:
            return None
        if text in _BOOL_TRUE:
            return True
        if text in _BOOL_FALSE:
            return False
        first = text[0]
        if first.isdigit() or first in "+-.":
            if _INT.match(text) or _INT_OTHER.match(text):
                return _number(text, integer=True)
            if _FLOAT.match(text):
                return _number(text, integer=False)
            if text in _FLOAT_SPECIAL:
                return _FLOAT_SPECIAL[text]
        return text
    if tag == _TAG_INT:
        return _number(text, integer=True)
    if tag == _TAG_FLOAT:
        return _number(text, integer=False)
    if tag == _TAG_BOOL:
        return text in _BOOL_TRUE
    if tag == _TAG_NULL:
        return None
    return text


# YAML 1.1 parsers (ruamel, libyaml) also break lines at NEL, U+2028 and U+2029; LSP does not.
_EXTRA_BREAKS = re.compile("[\x85\u2028\u2029]")
_LSP_BREAK = re.compile(r"\r\n|\r|\n")


_new_span = tuple.__new__  # `Span(...)` without the Python frame of NamedTuple's __new__


class _Converter:
    def __init__(
        self, path: str, line_offset: int, col_offset: int = 0, text: str | None = None, limits: Limits = DEFAULT_LIMITS
    ):
        self.path = path
        self.offset = line_offset
        self.col_offset = col_offset
        self.limits = limits
        self.budget = _Budget(limits.yaml_max_nodes)
        # where the parser's line numbers cannot be trusted, positions come from character offsets
        self.line_starts: list[int] | None = None
        self.lines: dict[int, int] = {}  # line number -> the one int object spans share for it
        if text is not None and _EXTRA_BREAKS.search(text):
            self.line_starts = [0] + [m.end() for m in _LSP_BREAK.finditer(text)]
            self.text_tail = text[self.line_starts[-1] :]

    def _position(self, mark) -> tuple[int, int]:
        if self.line_starts is None:
            return mark.line, mark.column
        index = min(mark.index, self.line_starts[-1] + len(self.text_tail))
        line = bisect.bisect_right(self.line_starts, index) - 1
        return line, index - self.line_starts[line]

    def span(self, node) -> Span:
        start, end = node.start_mark, node.end_mark
        if self.line_starts is None:  # the parser's lines are the editor's (nearly always): no detour
            offset, shift, lines = self.offset, self.col_offset, self.lines
            # one int object per line number (above 256 each would be its own): a key, its
            # value and their mapping share their line; a third of a YAML model's memory is spans
            first = start.line + offset
            first = lines.setdefault(first, first)
            last = first if end.line == start.line else lines.setdefault(end.line + offset, end.line + offset)
            return _new_span(Span, (self.path, first, start.column + shift, last, end.column + shift))
        (start_line, start_col), (end_line, end_col) = self._position(start), self._position(end)
        shift = self.col_offset
        return Span(self.path, start_line + self.offset, start_col + shift, end_line + self.offset, end_col + shift)

    def convert(self, node, depth: int = 0) -> Node:
        self.budget.left -= 1
        if self.budget.left < 0:
            raise SourceError(
                f"YAML document expands to more than {self.limits.yaml_max_nodes} nodes (alias "
                "bomb?); not analysed (limit `yaml-max-nodes`)",
                self.span(node),
            )
        if depth > self.limits.yaml_max_depth:
            raise SourceError(
                f"YAML nested deeper than {self.limits.yaml_max_depth} levels; not analysed (limit `yaml-max-depth`)",
                self.span(node),
            )
        if isinstance(node, ScalarNode):
            value = _scalar_value(node)
            if type(value) is str and len(value) <= 64:  # `serving`, `apps/v1`, an image: one string each
                value = intern(value)
            return Scalar(value, self.span(node), style=node.style or None)
        if isinstance(node, SequenceNode):
            span = self.span(node)
            return Sequence(
                span,
                [self.convert(item, depth + 1) for item in node.value],
                style="flow" if node.flow_style else "block",
                indent=span.start_col,
            )
        if isinstance(node, MappingNode):
            return self.convert_mapping(node, depth)
        raise SourceError(f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def convert_mapping(self, node: MappingNode, depth: int) -> Mapping:
        span = self.span(node)
        head = span
        first_key = first_key_span = None
        if node.value:  # report "this object" at its first `key: value` when that fits on one line
            first_key, first_value = node.value[0]
            head = first_key_span = self.span(first_key)  # (also its entry's key span, one object)
            value_span = self.span(first_value)
            if isinstance(first_value, ScalarNode) and value_span.end_line == head.start_line:
                head = Span(head.file, head.start_line, head.start_col, value_span.end_line, value_span.end_col)
        mapping = Mapping(span, style="flow" if node.flow_style else "block", indent=head.start_col, head=head)
        merges: list[Mapping] = []
        entries = mapping.entries
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style:
                for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                    merged = self.convert(source, depth + 1)
                    if isinstance(merged, Mapping):
                        merges.append(merged)
                continue
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.value)
            key_span = first_key_span if key_node is first_key else self.span(key_node)
            # keys repeat in every object (`apiVersion`, `name`...): one string each, not one per use
            key = intern(str(key))
            entries[key] = Entry(key, key_span, self.convert(value_node, depth + 1))  # (as `set`, inline)
        for merged in merges:  # explicit keys win over merged ones; earlier merges win over later
            for key, entry in merged.entries.items():
                if key not in mapping.entries:
                    mapping.entries[key] = entry
        return mapping


def split_documents(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each `---`-separated document, the separators blanked out.

    Lines are split where LSP splits them (\n, \r\n and a lone \r) and joined with \n, so the
    parser's line numbers are the editor's; YAML folds every line break in a value to \n anyway."""
    if "\r" not in text:  # (nearly always) the same, cut from the text at each separator line
        yield from _split_at_separators(text)
        return
    lines = _LSP_BREAK.split(text)
    start = 0
    for index, line in enumerate(lines):
        if _DOC_SEPARATOR.match(line):
            if index > start:
                yield start, "\n".join(lines[start:index])
            start = index + 1
            # `--- {a: 1}`: the content after the marker opens the next document; blank only
            # the marker so columns stay exact
            rest = line[3:].strip()
            if line.startswith("---") and rest and not rest.startswith("#"):
                lines[index] = "   " + line[3:]
                start = index
    if start < len(lines):
        yield start, "\n".join(lines[start:])


def _split_at_separators(text: str) -> Iterator[tuple[int, str]]:
    """`split_documents` of a text whose only line break is \n, without splitting it into lines:
    a 760,000-line scan spent 0.2 s matching every line against the separator."""
    start, begin = 0, 0  # the current document's first line, and where its text starts
    opening = ""  # a `--- {a: 1}` line that opens it, its marker blanked
    line, at = 0, 0  # a line number and where it starts, moved to each separator
    first = [0] if _DOC_SEPARATOR.match(text) else []
    for separator in itertools.chain(first, (match.start() + 1 for match in _SEPARATOR_AFTER_BREAK.finditer(text))):
        line += text.count("\n", at, separator)
        at = separator
        if line > start:
            yield start, opening + text[begin : separator - 1]
        end = text.find("\n", separator)
        end = len(text) if end < 0 else end
        marker_line = text[separator:end]
        rest = marker_line[3:].strip()
        if marker_line.startswith("---") and rest and not rest.startswith("#"):
            start, begin, opening = line, end, "   " + marker_line[3:]
        else:
            start, begin, opening = line + 1, end + 1, ""
    if start <= line + text.count("\n", at):  # (a line after the last separator)
        yield start, opening + text[begin:]


def parse_yaml(
    source: SourceFile, limits: Limits = DEFAULT_LIMITS, schemas: bool = False
) -> tuple[list[YamlDocument], list[SourceError]]:
    """All documents of a YAML stream; each broken document becomes an error, the rest survive.
    CustomResourceDefinitions are left out unless `schemas` (a build that prints them)."""
    documents: list[YamlDocument] = []
    errors: list[SourceError] = []
    for first_line, chunk in split_documents(source.text):
        if not chunk or chunk.isspace():
            continue
        if not schemas and "CustomResourceDefinition" in chunk and _CRD.search(chunk):  # (the regex tries each line)
            continue
        end_line = first_line + chunk.count("\n")
        try:
            composed = _compose_all(chunk)
        except MarkedYAMLError as exc:
            errors.append(_syntax_error(source, exc, first_line, chunk))
            continue
        except YAMLError as exc:
            errors.append(SourceError(f"YAML error: {exc}", Span(source.path, first_line, 0, first_line, 0)))
            continue
        except RecursionError:
            errors.append(
                SourceError(
                    "YAML nested too deeply to parse; not analysed", Span(source.path, first_line, 0, first_line, 0)
                )
            )
            continue
        converter = _Converter(source.path, first_line, text=chunk, limits=limits)
        credential_free = not could_hold_credential(chunk)
        for composed_node in composed:
            if composed_node is None:
                continue
            try:
                root = converter.convert(composed_node)
            except SourceError as exc:
                errors.append(exc)
                continue
            documents.append(YamlDocument(root, first_line, end_line, credential_free))
    return documents, errors


def _syntax_error(source: SourceFile, exc: MarkedYAMLError, line_offset: int, chunk: str) -> SourceError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "syntax error"
    if exc.context and exc.problem:
        problem = f"{exc.context}: {exc.problem}"
    line, col = text_position(chunk, mark.index) if mark else (0, 0)
    message = f"YAML syntax error: {problem}"
    if "{{" in chunk:
        message += (
            " (the file contains `{{ }}` template markers; a Helm template belongs in a chart's templates/ folder)"
        )
    lines = _LSP_BREAK.split(chunk)
    end = min(col + 1, len(lines[line])) if line < len(lines) else col
    return SourceError(message, Span(source.path, line + line_offset, col, line + line_offset, end))


def json_nodes(text: str, path: str, line_offset: int, col_offset: int = 0) -> Node | None:
    """JSON text (a policy in a Terraform heredoc) as nodes with exact positions, or None."""
    try:
        composed = _LOADER.compose(text)
        _LOADER.doc_infos.clear()
        if composed is None:
            return None
        return _Converter(path, line_offset, col_offset, text=text).convert(composed)
    except (YAMLError, SourceError, RecursionError):
        return None


# ---- Kubernetes objects ----------------------------------------------------------------------


def kubernetes_resources(documents: list[YamlDocument], path: str) -> list[Resource]:
    """Objects with a string `apiVersion` and `kind`; `kind: List` is expanded."""
    found: list[Resource] = []
    for document in documents:
        root = document.root
        if isinstance(root, Mapping):
            _collect(root, path, found, depth=0, credential_free=document.credential_free)
    return found


def object_resources(obj: Mapping, path: str, built_by: str | None = None) -> list[Resource]:
    """The resource of one built object (a kustomize build's), declared in `path`."""
    found: list[Resource] = []
    _collect(obj, path, found, depth=1)
    for resource in found:
        resource.built_by = built_by
    return found


def _collect(obj: Mapping, path: str, found: list[Resource], depth: int, credential_free: bool = False) -> None:
    kind = obj.get("kind")
    api = obj.get("apiVersion")
    if not (isinstance(kind, Scalar) and isinstance(kind.value, str) and isinstance(api, Scalar)):
        return
    if kind.value.endswith("List") and isinstance(obj.get("items"), Sequence) and depth == 0:
        for item in obj.get("items").items:  # type: ignore[union-attr]
            if isinstance(item, Mapping):
                _collect(item, path, found, depth + 1, credential_free)
        return
    metadata = obj.mapping("metadata")
    name_node = metadata.get("name") if metadata else None
    namespace_node = metadata.get("namespace") if metadata else None
    name = str(name_node.value) if isinstance(name_node, Scalar) and name_node.value is not None else "unnamed"
    namespace = (
        str(namespace_node.value) if isinstance(namespace_node, Scalar) and namespace_node.value is not None else None
    )
    labels = {}
    label_map = metadata.mapping("labels") if metadata else None
    if label_map:
        labels = {key: str(value.value) for key, value in label_map.items() if isinstance(value, Scalar)}
    assert obj.span is not None
    head = obj.head or obj.span
    found.append(
        Resource(
            source="kubernetes",
            kind=kind.value,
            name=name,
            namespace=namespace,
            address=k8s_address(kind.value, name, namespace),
            file=path,
            body=obj,
            span=obj.span,
            head=head,
            labels=labels,
            credential_free=credential_free,
        )
    )
