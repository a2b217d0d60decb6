"""Keeping stdout for our output only.

regopy's native library prints Rego compile errors straight to file descriptor 1. Over stdio,
fd 1 is the language server's protocol channel and `--check`'s report: one stray line there
corrupts both. `reserve_stdout()` moves our output to a private duplicate of fd 1 and points
fd 1 itself at stderr, so whatever native code prints lands in the log instead.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from typing import BinaryIO

_reserved: BinaryIO | None = None


def reserve_stdout() -> BinaryIO:
    """The real stdout as a binary stream (idempotent); `sys.stdout` writes there too."""
    global _reserved
    if _reserved is not None:
        return _reserved
    try:
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):  # no real fds (embedded, tests capturing output)
        _reserved = sys.stdout.buffer
        return _reserved
    _reserved = os.fdopen(private, "wb", buffering=0)
    sys.stdout = io.TextIOWrapper(os.fdopen(os.dup(private), "wb"), encoding="utf-8",
                                  line_buffering=sys.stdout.line_buffering, write_through=True)
    return _reserved


_lock = threading.Lock()


class native_stdout_to_stderr:
    """Around a native call that may print: fd 1 points at stderr meanwhile. (The language
    server has reserved stdout already; this protects `--check`, whose report is on fd 1.)"""

    def __enter__(self):
        _lock.acquire()
        try:
            sys.stdout.flush()
            self._saved = os.dup(1)
            os.dup2(2, 1)
        except (OSError, ValueError, AttributeError):
            self._saved = None
        return self

    def __exit__(self, *exc_info):
        try:
            if self._saved is not None:
                os.dup2(self._saved, 1)
                os.close(self._saved)
        finally:
            _lock.release()
