"""Starting the language server; imports nothing heavy before the handshake (see fastinit.py)."""

from __future__ import annotations

import logging
import os


def serve(args) -> int:
    """Run the server on stdio (default) or TCP. Logs go to stderr; stdout is the protocol."""
    logging.basicConfig(level=logging.WARNING, format="aiiac-ls %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)
    if getattr(args, "tcp", False):
        from .server import create_server

        create_server().start_tcp(args.host, args.port)
    elif os.environ.get("AIIAC_LSP_FAST_INIT", "1") != "0":
        from .fastinit import serve_stdio

        serve_stdio()
    else:
        from .server import create_server

        create_server().start_io()
    return 0
