"""HCL syntax: tree-sitter for the tree, python-hcl2 for precise error messages.

tree-sitter-hcl parses 1,000 lines in ~7 ms and keeps a usable tree around a syntax error, so
the rest of a half-typed file is still analysed. Its errors are only "ERROR here", so when a file
is broken python-hcl2 (a strict LALR parser of the same grammar) is asked to phrase the message:
"unexpected `}`, expected `,` or `]`". Columns from tree-sitter are bytes; spans are converted
to code points here, once.
"""

from __future__ import annotations

import re
from typing import Any

import tree_sitter
import tree_sitter_hcl

from ...model.nodes import Span
from ..source import SourceFile

_LANGUAGE = tree_sitter.Language(tree_sitter_hcl.language())
_PARSER = tree_sitter.Parser(_LANGUAGE)

MAX_SYNTAX_ERRORS = 5


class HclFile:
    """One parsed `.tf` / `.tfvars` file with byte-to-code-point span conversion.

    Given the `previous` parse of the same file (an editor buffer one keystroke ago), only the
    changed region is re-parsed: the two texts are diffed by common prefix and suffix and the old
    tree is edited, which turns a 90 ms parse of a 20k-line file into a fraction of a millisecond."""

    def __init__(self, source: SourceFile, previous: HclFile | None = None):
        self.source = source
        self.path = source.path
        self.data = source.text.encode("utf-8")
        # tree-sitter counts rows at \n only; LSP (and SourceFile) also break at a lone \r
        parsed = re.sub(rb"\r(?!\n)", b"\n", self.data) if b"\r" in self.data else self.data
        self._parsed = parsed
        old_tree = _edited_tree(previous, parsed) if previous is not None else None
        self.tree = _PARSER.parse(parsed, old_tree) if old_tree is not None else _PARSER.parse(parsed)
        self._lines = parsed.split(b"\n")
        # evaluation asks for the same nodes' spans and texts again and again (a module called
        # from ten examples is evaluated ten times): computed once per byte range
        # (keyed by start << 32 | end: one int instead of a tuple of two, 40 MB less for a
        # 3.7 MB module)
        self._spans: dict[int, Span] = {}
        self._texts: dict[int, str] = {}
        self._rows: dict[int, int] = {}  # row -> the one int object its spans share (as yaml.py)
        self.memo: dict[str, Any] = {}  # per-parse caches of the Terraform reader, by node id
        # what the previous parse of this file put in `memo["carry"]` for the next one: memos by
        # text, never by node (a keystroke re-reads only the blocks whose text changed)
        self.inherited: dict[str, Any] = previous.memo.get("carry", {}) if previous is not None else {}

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node

    def col(self, row: int, byte_col: int) -> int:
        if row >= len(self._lines):
            return byte_col
        line = self._lines[row]
        if byte_col == 0 or line.isascii():
            return byte_col
        return len(line[:byte_col].decode("utf-8", "replace"))

    def span(self, node: tree_sitter.Node) -> Span:
        start, end = node.start_byte, node.end_byte
        key = start << 32 | end
        found = self._spans.get(key)
        if found is None:
            (sr, sc), (er, ec) = node.start_point, node.end_point
            rows = self._rows
            sr = rows.setdefault(sr, sr)
            er = sr if er == sr else rows.setdefault(er, er)
            found = self._spans[key] = Span(self.path, sr, self.col(sr, sc), er, self.col(er, ec))
        return found

    def text(self, node: tree_sitter.Node) -> str:
        start, end = node.start_byte, node.end_byte
        key = start << 32 | end
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = self.data[start:end].decode("utf-8", "replace")
        return found

    def syntax_errors(self) -> list[tuple[Span, str]]:
        if not self.root.has_error:
            return []
        found: list[tuple[Span, str]] = []
        _collect_errors(self, self.root, found)
        if found:
            precise = _hcl2_message(self.source.text)
            if precise:
                line, col, message = precise
                # python-hcl2 points at the token it choked on; prefer its wording and keep
                # tree-sitter's locations for the rest
                found[0] = (self._clamped(line, col), message)
            opened = unterminated_string(self.source.text)
            if opened is not None and (opened[0], opened[1]) < (found[0][0].start_line, found[0][0].start_col):
                # a quote left open swallows the rest of the file: both parsers stop far below it
                line, col = opened
                found.insert(
                    0,
                    (
                        self._clamped(line, col),
                        'syntax error: unterminated string (a `"` opened here is not closed on its line)',
                    ),
                )
                found = [found[0], *(f for f in found[1:] if f[0].start_line < line)]
        return found[:MAX_SYNTAX_ERRORS]

    def first_error_byte(self) -> int:
        """Where the first ERROR or missing node starts (the length of the text if none)."""
        found = self.memo.get("first_error_byte")
        if found is None:
            found = len(self._parsed)
            pending = [self.root]
            while pending:
                node = pending.pop()
                if node.is_missing or node.type == "ERROR":
                    found = min(found, node.start_byte)
                elif node.has_error:
                    pending.extend(node.children)
            self.memo["first_error_byte"] = found
        return found

    def _clamped(self, line: int, col: int) -> Span:
        """A one-character span at (line, col), inside the text (python-hcl2 reports the end of
        file one past the last character)."""
        lines = self.source.lines
        line = max(0, min(line, len(lines) - 1))
        col = max(0, min(col, len(lines[line])))
        return Span(self.path, line, col, line, min(col + 1, len(lines[line])))


_HEREDOC = re.compile(r"<<-?\s*\"?([A-Za-z_][\w-]*)\"?\s*$")


def unterminated_string(text: str) -> tuple[int, int] | None:
    """(line, column) of the first quoted string left open at the end of its line, if any.

    HCL quoted strings cannot span lines, but one left open makes both parsers read on to the end
    of the file and report the error there. Heredocs and comments are skipped; `${ }` and `%{ }`
    inside strings may hold strings of their own (and span lines)."""
    heredoc: str | None = None
    in_comment = False
    stack: list[tuple[str, int, int]] = []  # ("string", line, column) | ("code", braces, 0)
    for row, line in enumerate(text.split("\n")):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        index = 0
        while index < len(line):
            char = line[index]
            if in_comment:
                end = line.find("*/", index)
                if end < 0:
                    break
                in_comment, index = False, end + 2
                continue
            if stack and stack[-1][0] == "string":
                if char == "\\":
                    index += 2
                    continue
                if line.startswith(("${", "%{"), index) and not line.startswith(
                    ("$${", "%%{"), index - 1 if index else 0
                ):
                    stack.append(("code", 0, 0))
                    index += 2
                    continue
                if char == '"':
                    stack.pop()
                index += 1
                continue
            if char == "#" or line.startswith("//", index):
                break
            if line.startswith("/*", index):
                in_comment, index = True, index + 2
                continue
            if not stack and line.startswith("<<", index):
                match = _HEREDOC.match(line, index)
                if match:
                    heredoc = match.group(1)
                    break
            if char == '"':
                stack.append(("string", row, index))
            elif stack and char == "{":
                stack[-1] = ("code", stack[-1][1] + 1, 0)
            elif stack and char == "}":
                if stack[-1][1] == 0:
                    stack.pop()
                else:
                    stack[-1] = ("code", stack[-1][1] - 1, 0)
            index += 1
        if stack and stack[-1][0] == "string":
            return stack[-1][1], len(line[: stack[-1][2]])
    return None


_CHUNK = 4096


def _common_prefix(a: bytes, b: bytes, limit: int | None = None) -> int:
    """How many leading bytes `a` and `b` share (at most `limit`): chunk by chunk (C-speed
    comparisons of small slices), then byte by byte inside the first chunk that differs."""
    limit = min(len(a), len(b)) if limit is None else limit
    index = 0
    while index < limit and a[index : min(index + _CHUNK, limit)] == b[index : min(index + _CHUNK, limit)]:
        index += _CHUNK
    index = min(index, limit)
    end = min(index + _CHUNK, limit)
    while index < end and a[index] == b[index]:
        index += 1
    return index


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many trailing bytes `a` and `b` share, at most `limit`."""
    count = 0
    while count < limit:
        size = min(_CHUNK, limit - count)
        if a[len(a) - count - size : len(a) - count] != b[len(b) - count - size : len(b) - count]:
            break
        count += size
    end = min(count + _CHUNK, limit)
    while count < end and a[len(a) - count - 1] == b[len(b) - count - 1]:
        count += 1
    return count


def _point(data: bytes, offset: int) -> tuple[int, int]:
    row = data.count(b"\n", 0, offset)
    return row, offset - (data.rfind(b"\n", 0, offset) + 1)


def _edited_tree(previous: HclFile, new: bytes):
    """A copy of the previous tree, edited to the single changed region between the two texts."""
    old = previous._parsed
    if old == new:
        return previous.tree
    start = _common_prefix(old, new)
    limit = min(len(old), len(new)) - start
    suffix = _common_suffix(old, new, limit)
    old_end, new_end = len(old) - suffix, len(new) - suffix
    tree = previous.tree.copy()
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(new, new_end),
    )
    return tree


def _collect_errors(hcl: HclFile, node: tree_sitter.Node, found: list[tuple[Span, str]]) -> None:
    if len(found) >= MAX_SYNTAX_ERRORS:
        return
    if node.is_missing:
        found.append((hcl.span(node), f"syntax error: missing `{node.type}`"))
        return
    if node.type == "ERROR":
        snippet = hcl.text(node).strip().splitlines()
        shown = snippet[0][:30] if snippet else ""
        found.append((hcl.span(node), f"syntax error: unexpected `{shown}`" if shown else "syntax error"))
        return
    if not node.has_error:
        return
    for child in node.children:
        _collect_errors(hcl, child, found)


_TOKEN_NAMES = {
    "RBRACE": "}",
    "LBRACE": "{",
    "RSQB": "]",
    "LSQB": "[",
    "RPAR": ")",
    "LPAR": "(",
    "COMMA": ",",
    "EQ": "=",
    "COLON": ":",
    "DBLQUOTE": '"',
    "NL_OR_COMMENT": "a new line",
    "$END": "end of file",
    "NAME": "a name",
    "STRING_CHARS": "text",
    "INT_LITERAL": "a number",
    "QMARK": "?",
}


def _hcl2_message(text: str) -> tuple[int, int, str] | None:
    """(0-based line, column, message) from python-hcl2, or None if it has nothing to add."""
    try:
        import hcl2  # imported lazily: it builds a grammar on first use (~1 s)
        from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
    except Exception:  # pragma: no cover - optional precision only
        return None
    try:
        hcl2.loads(text)
    except UnexpectedToken as exc:
        token = "end of file" if exc.token.type == "$END" else f"`{str(exc.token).strip()[:30] or exc.token.type}`"
        expected = sorted({_TOKEN_NAMES.get(name, name.lower()) for name in exc.expected if not name.startswith("__")})
        if len(expected) > 6:
            expected_text = ""
        else:
            expected_text = "; expected " + " or ".join(f"`{name}`" if len(name) <= 2 else name for name in expected)
        return max(exc.line - 1, 0), max(exc.column - 1, 0), f"syntax error: unexpected {token}{expected_text}"
    except UnexpectedCharacters as exc:
        position = exc.pos_in_stream
        char = text[position] if position is not None and 0 <= position < len(text) else "?"
        return max(exc.line - 1, 0), max(exc.column - 1, 0), f"syntax error: unexpected character `{char}`"
    except UnexpectedInput as exc:  # pragma: no cover
        return max(exc.line - 1, 0), max(exc.column - 1, 0), "syntax error"
    except Exception:
        return None
    return None


_ESCAPES = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|\$\$\{|%%\{", re.S)
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """HCL quoted-string escapes (and `$${` / `%%{` literals)."""
    if "\\" not in text and "$${" not in text and "%%{" not in text:
        return text

    def replace(match: re.Match) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        if whole == "%%{":
            return "%{"
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, "\\" + code)

    return _ESCAPES.sub(replace, text)
