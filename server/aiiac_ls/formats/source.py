"""Reading files safely: size bound, binary detection, UTF-8 with a precise error position."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

from ..model.nodes import Span

MAX_FILE_BYTES = 10 * 1024 * 1024  # the default of the `max-file-mb` limit (limits.py)

# LSP lines end only at \n, \r\n and \r (never at \f, \v or U+2028 as str.splitlines() would).
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceError(Exception):
    """A file that cannot be analysed; `span` points at the cause when there is one."""

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span


@dataclass
class SourceFile:
    path: str  # as reported (relative to the working directory when possible)
    text: str
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:  # (`str.split` where it gives the same: a tenth of the regex's time)
            self._lines = self.text.split("\n") if "\r" not in self.text else LINE_BREAK.split(self.text)
        return self._lines

    def line(self, index: int) -> str:
        lines = self.lines
        return lines[index] if 0 <= index < len(lines) else ""

    def point(self, offset: int) -> Span:
        """A one-character span at a character offset, in LSP lines, always inside the text
        (an "unexpected end of file" points at the end, not one past it)."""
        line, col = text_position(self.text, offset)
        return Span(self.path, line, col, line, min(col + 1, len(self.line(line))))


def text_position(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of a character offset, lines broken at \n, \r\n and a lone \r as LSP
    breaks them; an offset past the end is the end."""
    offset = max(0, min(offset, len(text)))
    line = start = 0
    for match in LINE_BREAK.finditer(text, 0, offset):
        if match.end() > offset:  # between the \r and \n of a CRLF: still on the line before
            break
        line += 1
        start = match.end()
    return line, offset - start


def decode(path: str, data: bytes) -> str:
    """Bytes to text, or a SourceError naming what is wrong and where."""
    if b"\0" in data[:8192]:
        raise SourceError("binary file (contains NUL bytes); not analysed")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start)
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", "replace"))
        span = Span(path, line, col, line, col + 1)
        raise SourceError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line + 1}, column {col + 1}); "
            "save the file as UTF-8",
            span,
        ) from None


def check_size(size: int, max_bytes: int) -> None:
    """The `max-file-mb` limit, for files on disk and open editor buffers alike."""
    if size > max_bytes:
        raise SourceError(
            f"file too large ({size / 1048576:.1f} MiB; the limit `max-file-mb` is "
            f"{max_bytes / 1048576:.3g} MiB); not analysed"
        )


def read_source(path: str, display_path: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> SourceFile:
    shown = display_path or path
    try:
        status = os.stat(path)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
        raise SourceError("not a regular file (a FIFO, socket or device); not analysed")
    check_size(status.st_size, max_bytes)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return SourceFile(shown, decode(shown, data))


class FileSystem:
    """Where every loader reads, the chart loader included: the disk, each file within the size
    limit. An editor lays its open buffers over it (`workspace.EditorFileSystem`), so a chart,
    its values files and the modules a folder calls are read as the user sees them."""

    def __init__(self, max_bytes: int = MAX_FILE_BYTES):
        self.max_bytes = max_bytes

    def read(self, path: str, shown: str) -> SourceFile:
        """The text of `path`, reported as `shown`."""
        return read_source(path, shown, self.max_bytes)

    def buffer(self, path: str) -> str | None:
        """The text of an open editor buffer for `path`, or None (read the disk)."""
        return None

    def read_bytes(self, path: str) -> bytes:
        """The content of `path` as bytes (a chart's files, read in bulk): the buffer when open."""
        text = self.buffer(path)
        if text is not None:
            return text.encode("utf-8", "surrogatepass")
        with open(path, "rb") as handle:
            return handle.read()

    def is_file(self, path: str) -> bool:
        return self.buffer(path) is not None or os.path.isfile(path)
