"""Answer `initialize` before the LSP libraries have loaded.

Importing lsprotocol alone takes ~245 ms on a 2-core machine (it defines a thousand attrs
classes), so a pygls server cannot answer `initialize` in under 300 ms. The answer, though, is
static: the server's capabilities (recorded in `capabilities.json`, checked against pygls by the
tests for several real clients) and the position encoding chosen from the client's list, exactly as
pygls chooses it. So the first message is read here with the standard library, answered at once,
and then replayed to the real pygls server, whose own duplicate answer is dropped. Requests the
client sends meanwhile wait in the pipe and are handled, in order, once pygls is up.
"""

from __future__ import annotations

import json
import os
import sys

CAPABILITIES_FILE = os.path.join(os.path.dirname(__file__), "capabilities.json")
_ENCODINGS = ("utf-8", "utf-16", "utf-32")


def read_message(stream) -> tuple[bytes, dict | None]:
    """The raw bytes of one JSON-RPC message and its decoded body (None if it is not JSON)."""
    raw = b""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return raw, None
        raw += line
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return raw, None
    body = stream.read(length)
    raw += body
    try:
        return raw, json.loads(body)
    except ValueError:
        return raw, None


class Prepended:
    """stdin with the bytes already consumed put back in front."""

    def __init__(self, prefix: bytes, stream):
        self._prefix = prefix
        self._stream = stream

    def readline(self) -> bytes:
        if self._prefix:
            end = self._prefix.find(b"\n")
            end = len(self._prefix) if end < 0 else end + 1
            line, self._prefix = self._prefix[:end], self._prefix[end:]
            if line.endswith(b"\n"):
                return line
            return line + self._stream.readline()
        return self._stream.readline()

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix, b""
                return data + self._stream.read()
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()


class DropAnswer:
    """stdout that swallows pygls' answer to the replayed `initialize` (it was already sent)."""

    def __init__(self, stream, request_id):
        self._stream = stream
        self._request_id = request_id
        self._dropped = False

    def write(self, data: bytes) -> int:
        if not self._dropped:
            _, _, body = data.partition(b"\r\n\r\n")
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("id") == self._request_id and "method" not in message:
                self._dropped = True
                return len(data)
        written = self._stream.write(data)
        self._stream.flush()
        return written

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def choose_encoding(params: dict) -> str:
    """pygls' rule: the client's first offered encoding that the server supports, else UTF-16."""
    offered = ((params.get("capabilities") or {}).get("general") or {}).get("positionEncodings")
    for encoding in offered or ():
        if encoding in _ENCODINGS:
            return encoding
    return "utf-16"


def initialize_result(params: dict) -> dict:
    from .. import __version__

    with open(CAPABILITIES_FILE, encoding="utf-8") as handle:
        capabilities = json.load(handle)
    capabilities["positionEncoding"] = choose_encoding(params)
    # pygls answers `false` for these (no handler) when, and only when, the client mentions them
    synchronization = ((params.get("capabilities") or {}).get("textDocument") or {}).get("synchronization") or {}
    for key in ("willSave", "willSaveWaitUntil"):
        if synchronization.get(key) is not None:
            capabilities["textDocumentSync"][key] = False
    return {"capabilities": capabilities, "serverInfo": {"name": "aiiac-ls", "version": __version__}}


def frame(message: dict) -> bytes:
    """One JSON-RPC message with its Content-Length header (also used by the tests and bench/)."""
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def serve_stdio() -> int:
    """Serve until `exit` or the end of stdin; the exit code the LSP specification asks for."""
    from ..stdio import reserve_stdout

    stdin, stdout = sys.stdin.buffer, reserve_stdout()
    raw, message = read_message(stdin)
    request_id = None
    if (
        isinstance(message, dict)
        and message.get("method") == "initialize"
        and "id" in message
        and os.path.isfile(CAPABILITIES_FILE)
    ):
        request_id = message["id"]
        stdout.write(
            frame({"jsonrpc": "2.0", "id": request_id, "result": initialize_result(message.get("params") or {})})
        )
        stdout.flush()
    from .server import create_server  # the slow part, now off the handshake

    server = create_server()
    output = DropAnswer(stdout, request_id) if request_id is not None else stdout
    server.start_io(stdin=Prepended(raw, stdin), stdout=output)  # type: ignore[arg-type]  # file-like
    return server.exit_code()
