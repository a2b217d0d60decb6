"""Code-point positions (the engine's) to and from the client's negotiated encoding.

LSP lines end only at `\\n`, `\\r\\n` and `\\r`. pygls 2.1.1 splits document text with
`str.splitlines()`, which also breaks at `\\f`, `\\v`, U+2028 and friends, so an incremental edit
after such a character lands on the wrong line; `install_line_fix()` replaces that splitting.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def lsp_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of `text` as LSP counts them. Without `\r`, `str.split("\n")` is the same and
    fifteen times faster (8 -> 0.5 ms for 20,000 lines, once per publish)."""
    if "\r" not in text:
        parts = text.split("\n")
        if not keepends:
            return parts
        return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    lines = [m.group(0) for m in _LINE.finditer(text)]
    if not keepends:
        lines = [line.rstrip("\r\n") for line in lines]
        if text.endswith(("\n", "\r")) or not text:
            lines.append("")
    return lines


def install_line_fix() -> None:
    """Make pygls' TextDocument split lines the way LSP does."""
    from pygls.workspace.text_document import TextDocument

    if getattr(TextDocument, "_aiiac_line_fix", False):
        return
    TextDocument.lines = property(lambda self: tuple(lsp_lines(self.source, keepends=True)))  # type: ignore[method-assign,assignment]
    setattr(TextDocument, "_aiiac_line_fix", True)  # noqa: B010


class Encoder:
    """Columns in code points <-> columns in the client's units (utf-8, utf-16 or utf-32)."""

    def __init__(self, encoding: str = "utf-16"):
        self.encoding = str(getattr(encoding, "value", encoding) or "utf-16").lower()

    def to_client(self, line_text: str, col: int) -> int:
        prefix = line_text[:col]
        if self.encoding == "utf-32":
            return len(prefix) + max(col - len(line_text), 0)
        if self.encoding == "utf-8":
            return len(prefix.encode("utf-8", "surrogatepass"))
        return len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF)

    def from_client(self, line_text: str, units: int) -> int:
        if self.encoding == "utf-32":
            return units
        count = 0
        for index, ch in enumerate(line_text):
            if count >= units:
                return index
            if self.encoding == "utf-8":
                count += len(ch.encode("utf-8", "surrogatepass"))
            else:
                count += 2 if ord(ch) > 0xFFFF else 1
        return len(line_text)
