"""Starting the language server; imports nothing heavy before the handshake (see fastinit.py)."""

from __future__ import annotations

import logging
import os


def serve(args) -> int:
    """Run the server on stdio (default) or TCP. Logs go to stderr; stdout is the protocol."""
    from ..secrets import configure_logging

    configure_logging(logging.WARNING)
    if getattr(args, "tcp", False):
        from .server import create_server

        server = create_server()
        server.start_tcp(args.host, args.port)
        return server.exit_code()
    if os.environ.get("AIIAC_LSP_FAST_INIT", "1") != "0":
        from .fastinit import serve_stdio

        return serve_stdio()
    from ..stdio import reserve_stdout
    from .server import create_server

    server = create_server()
    server.start_io(stdout=reserve_stdout())
    return server.exit_code()
