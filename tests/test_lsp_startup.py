"""The early `initialize` answer (lsp/fastinit.py) must equal the one pygls itself gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pygls.protocol import default_converter
from pytest_lsp import client_capabilities


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def _initialize(capabilities: dict, fast: bool) -> list[dict]:
    env = {**os.environ, "AIIAC_LSP_FAST_INIT": "1" if fast else "0"}
    process = subprocess.Popen([sys.executable, "-m", "aiiac_ls.cli"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    process.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {"processId": None, "rootUri": None, "capabilities": capabilities}}))
    process.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    process.stdin.flush()
    answers = [_read(process.stdout), _read(process.stdout)]
    process.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    process.stdin.close()
    assert process.wait(timeout=30) == 0
    return answers


@pytest.mark.parametrize("client", ["visual-studio-code", "neovim@v0.9.1", "neovim@v0.11.0", "emacs", None])
def test_fast_initialize_answer_equals_pygls(client):
    capabilities = default_converter().unstructure(client_capabilities(client)) if client else {}
    fast = _initialize(capabilities, fast=True)
    slow = _initialize(capabilities, fast=False)
    assert fast[0] == slow[0]
    assert [a["id"] for a in fast] == [1, 2], "exactly one answer to initialize, then the shutdown answer"
