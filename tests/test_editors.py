"""Real editors, headless: Neovim (vim.lsp.start_client) and Emacs + eglot each open a real file,
wait for diagnostics, hover, apply the quick fix and see the diagnostic go.

Installed in CI by `.ci/run` (`apt-get install neovim emacs-nox elpa-eglot elpa-yaml-mode`);
elsewhere these tests skip, saying which editor is missing."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "editors"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "editors"  # the setups docs/editors.md gives
TERRAFORM = """\
resource "aws_s3_bucket_acl" "models" {
  bucket = "acme-models"
  acl    = "public-read"
}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: triton
  annotations: {note: "é😀"}
spec:
  selector: {app: triton}
  type: LoadBalancer
  ports:
    - port: 8000
"""


def _run(args: list[str], tmp_path: Path) -> dict:
    """A project (a git repository) with a Service in k8s/ and a model bucket in infra/."""
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    else:
        (tmp_path / ".git").mkdir()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "infra").mkdir()
    target = tmp_path / "k8s" / "service.yaml"
    target.write_text(SERVICE, encoding="utf-8")
    (tmp_path / "infra" / "main.tf").write_text(TERRAFORM, encoding="utf-8")
    out = tmp_path / "result.json"
    env = {
        **os.environ,
        "AIIAC_CMD": json.dumps([sys.executable, "-m", "aiiac_ls.cli"]),
        "AIIAC_SETUP": str(DOCS / "aiiac.lua"),
        "AIIAC_EGLOT_SETUP": str(DOCS / "aiiac-eglot.el"),
        "AIIAC_FILE": str(target),
        "AIIAC_TF": str(tmp_path / "infra" / "main.tf"),
        "AIIAC_OUT": str(out),
    }
    process = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.exists(), f"the editor produced no result: {process.stdout[-2000:]} {process.stderr[-2000:]}"
    result = json.loads(out.read_text())
    assert result["ok"], result["message"]
    assert target.read_text(encoding="utf-8") == SERVICE.replace("type: LoadBalancer", "type: ClusterIP")
    return result["steps"]


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed (apt-get install neovim)")
def test_neovim(tmp_path):
    steps = _run(["nvim", "--headless", "--clean", "-c", f"luafile {HERE / 'neovim.lua'}"], tmp_path)
    assert steps["diagnostics"] == ["AIS201:7:2"]
    assert steps["action"] == "Change LoadBalancer to ClusterIP (AIS201) (unsafe)"
    assert steps["hover"].startswith("**AIS201** · Service exposes pods outside the cluster")
    assert steps["after"] == []
    assert steps["tf_filetype"] == "terraform"
    assert steps["tf"] == ["AIS402:2:2"]
    assert (steps["clients"], steps["root"]) == (1, str(tmp_path))  # one server for the project


def _emacs_load_path() -> list[str]:
    args = []
    for folder in sorted(glob.glob("/usr/share/emacs/site-lisp/elpa/*/")):
        args += ["-L", folder]
    return args


@pytest.mark.skipif(
    shutil.which("emacs") is None or not glob.glob("/usr/share/emacs/site-lisp/elpa/eglot-*"),
    reason="Emacs with eglot is not installed (apt-get install emacs-nox elpa-eglot elpa-yaml-mode)",
)
def test_emacs_eglot(tmp_path):
    steps = _run(["emacs", "--batch", "-Q", *_emacs_load_path(), "-l", str(HERE / "eglot.el")], tmp_path)
    assert steps["diagnostics"] == ["AIS201:7"]
    assert steps["action"] == "Change LoadBalancer to ClusterIP (AIS201) (unsafe)"
    assert steps["hover"].startswith("**AIS201** · Service exposes pods outside the cluster")
    assert steps["line"] == "  type: ClusterIP"
    assert not steps["after"]
    assert steps["tf_mode"] == "aiiac-hcl-mode"  # Debian has no terraform-mode: the setup's own
    assert steps["tf"] == ["AIS402:2"]
    assert (steps["same_server"], steps["servers"]) == (True, 1)
