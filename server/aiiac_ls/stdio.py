"""Keeping the language server's stdout for the protocol only.

Over stdio, fd 1 is the protocol channel: one stray line there corrupts it. Native libraries
write to fd 1 directly (regopy prints Rego compile errors there; it runs in its own worker,
which redirects its fd 1 itself, see `policy/rego_runtime.serve`). `reserve_stdout()` moves the
protocol to a private duplicate of fd 1 and points fd 1 at stderr, so whatever native code in
this process or a child it starts prints lands in the log instead.
"""

from __future__ import annotations

import io
import os
import sys
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
    sys.stdout = io.TextIOWrapper(
        os.fdopen(os.dup(private), "wb"),
        encoding="utf-8",
        line_buffering=bool(sys.stdout.line_buffering),
        write_through=True,
    )
    return _reserved
