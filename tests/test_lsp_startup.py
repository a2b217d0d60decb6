"""The early `initialize` answer (lsp/fastinit.py) must equal the one pygls itself gives."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aiiac_ls.lsp.fastinit import frame, read_message
from pygls.protocol import default_converter
from pytest_lsp import client_capabilities


def _read(stream) -> dict:
    _, body = read_message(stream)
    assert body is not None, "the server closed stdout or sent something that is not JSON"
    return body


def _initialize(capabilities: dict, fast: bool) -> list[dict]:
    env = {**os.environ, "AIIAC_LSP_FAST_INIT": "1" if fast else "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "aiiac_ls.cli"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    process.stdin.write(
        frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": capabilities},
            }
        )
    )
    process.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    process.stdin.flush()
    answers = [_read(process.stdout), _read(process.stdout)]
    process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
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
