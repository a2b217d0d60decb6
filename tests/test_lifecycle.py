"""The server process: malformed JSON-RPC, clients that skip `shutdown`, close stdin or kill it.

Run as editors run it (`python -m aiiac_ls.cli`, a fresh process per test), over raw pipes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiiac_ls.lsp.fastinit import frame, read_message

ROOT = Path(__file__).resolve().parents[1]


def _start(tmp_path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT / "rules")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "aiiac_ls.cli"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
        },
    )
    assert "capabilities" in _read(process)["result"]
    _send(process, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    return process


def _send(process, message: dict | bytes) -> None:
    process.stdin.write(
        frame(message) if isinstance(message, dict) else b"Content-Length: %d\r\n\r\n%s" % (len(message), message)
    )
    process.stdin.flush()


def _read(process) -> dict:
    """The next message that is not a notification or a request from the server."""
    while True:
        _, body = read_message(process.stdout)
        assert body is not None, "the server closed its output: " + process.stderr.read().decode()[-2000:]
        if "method" not in body:
            return body


def _exit_code(process, within: float) -> int:
    started = time.monotonic()
    code = process.wait(timeout=within)
    assert time.monotonic() - started < within
    return code


def test_malformed_messages_get_json_rpc_errors_and_the_server_goes_on(tmp_path):
    process = _start(tmp_path)
    _send(process, b'{"jsonrpc": "2.0", "id": 2, "method": ')  # cut off
    assert _read(process) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: Expecting value: line 1 column 39 (char 38)"},
    }
    _send(process, b"\xff\xfe not UTF-8")
    assert _read(process)["error"]["code"] == -32700
    _send(process, {"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": {"position": "x"}})
    assert _read(process) == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "Invalid Params"}}
    _send(process, {"jsonrpc": "2.0", "id": 4, "method": "aiiac/noSuchMethod", "params": {}})
    assert _read(process)["error"] == {"code": -32601, "message": "Method Not Found: aiiac/noSuchMethod"}
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n"
        "  containers: [{name: a, image: a}]\n"
    )
    uri = (tmp_path / "pod.yaml").as_uri()
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "yaml",
                    "version": 1,
                    "text": (tmp_path / "pod.yaml").read_text(),
                }
            },
        },
    )
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 4}},
        },
    )
    hover = _read(process)
    assert hover["id"] == 5 and "AIS" in hover["result"]["contents"]["value"], "still serving after the errors"
    _send(process, {"jsonrpc": "2.0", "id": 6, "method": "shutdown"})
    assert _read(process) == {"jsonrpc": "2.0", "id": 6, "result": None}
    _send(process, {"jsonrpc": "2.0", "method": "exit"})
    assert _exit_code(process, within=5) == 0


def test_exit_without_shutdown_ends_the_process_with_code_1(tmp_path):
    process = _start(tmp_path)
    _send(process, {"jsonrpc": "2.0", "method": "exit"})
    assert _exit_code(process, within=5) == 1  # as the LSP specification asks


def test_closed_stdin_ends_the_process_even_mid_analysis(tmp_path):
    process = _start(tmp_path)
    big = "".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "acme-models-{i}"\n}}\n' for i in range(6000))
    (tmp_path / "main.tf").write_text(big)
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": (tmp_path / "main.tf").as_uri(),
                    "languageId": "terraform",
                    "version": 1,
                    "text": big,
                }
            },
        },
    )
    process.stdin.close()  # the editor went away without a word; its analysis thread is busy
    _exit_code(process, within=5)


def test_the_server_starts_no_process_of_its_own(tmp_path):
    """Nothing outlives a client that kills the server right after `exit` (Emacs does): the
    server never starts a child process, even while it analyses."""
    process = _start(tmp_path)
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "acme-models"\n}\n')
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": (tmp_path / "main.tf").as_uri(),
                    "languageId": "terraform",
                    "version": 1,
                    "text": (tmp_path / "main.tf").read_text(),
                }
            },
        },
    )
    _send(
        process,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "textDocument/diagnostic",
            "params": {"textDocument": {"uri": (tmp_path / "main.tf").as_uri()}},
        },
    )
    _read(process)  # answered: the analysis ran
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc here")
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == process.pid:  # the parent pid, whichever thread started it
            children.append(stat.parent.name)
    assert children == []
    _send(process, {"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
    assert _read(process)["id"] == 3
    _send(process, {"jsonrpc": "2.0", "method": "exit"})
    process.kill()
    process.wait(timeout=5)
