"""The packages as users get them: the GitHub Action (its own install and check steps, run as
written in action.yml), the server bundled in the VS Code extension (on the standard library
alone, and its fallback), and the pre-commit hooks (through pre-commit itself).

`make test-package` builds what these need (`make dist`, `make bundle`, `make vsix`) and runs
them with AIIAC_REQUIRE_PACKAGES=1; elsewhere they skip, naming the missing build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ml-platform"
BUNDLED = ROOT / "vscode-extension" / "bundled"
VSIX = ROOT / "vscode-extension" / "aiiac-ls-0.1.0.vsix"
REQUIRED = os.environ.get("AIIAC_REQUIRE_PACKAGES") == "1"


def _needs(condition: bool, reason: str):
    if not condition:
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)


def _findings(command: list[str], cwd: Path) -> tuple[int, list]:
    done = subprocess.run(
        [*command, "--check", ".", "--format", "json"], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)["findings"]


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> tuple[Path, list]:
    """A copy of the bundled example, and what the development install finds in it."""
    copy = tmp_path_factory.mktemp("example") / "ml-platform"
    shutil.copytree(EXAMPLE, copy)
    code, findings = _findings([sys.executable, "-m", "aiiac_ls.cli"], copy)
    assert code == 1 and len(findings) > 20
    return copy, findings


def _action_step(name: str) -> str:
    action = YAML(typ="safe").load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("name") == name]
    assert step["shell"] == "bash"
    return step["run"]


def test_the_github_action_installs_this_folder_and_its_check_reports(expected, tmp_path):
    _needs(REQUIRED, "installs from the package index: run through `make test-package`")
    example, findings = expected
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    env = {**os.environ, "PATH": f"{fresh / 'bin'}{os.pathsep}{os.environ['PATH']}", "GITHUB_ACTION_PATH": str(ROOT)}
    env.pop("VIRTUAL_ENV", None)
    install = subprocess.run(
        ["bash", "-e", "-c", _action_step("Install aiiac-ls")], env=env, capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-3000:]
    assert (fresh / "bin" / "aiiac-ls").exists()
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    check = subprocess.run(
        ["bash", "-c", _action_step("Check")],
        cwd=example,
        env={
            **env,
            "AIIAC_PATHS": ".",
            "AIIAC_ARGS": "",
            "AIIAC_SARIF": "true",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 1, check.stderr[-3000:]
    assert output.read_text() == "exit-code=1\n"
    annotations = [line for line in check.stdout.splitlines() if line.startswith("::")]
    assert 0 < len(annotations) <= 50 and annotations[0].startswith("::error file=")
    sarif = json.loads((example / "aiiac.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == len(findings)
    assert str(len(findings)) in summary.read_text()


def test_the_bundled_server_runs_on_the_standard_library_alone(expected):
    _needs((BUNDLED / "libs" / "aiiac_ls").is_dir(), "the extension's bundle is not built (make bundle)")
    example, findings = expected
    launcher = [sys.executable, "-I", "-S", str(BUNDLED / "aiiac_ls_server.py")]  # no site-packages at all
    probe = subprocess.run([*launcher, "--probe"], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("aiiac-ls 0.1.0 (bundled), Python 3.")
    code, bundled = _findings(launcher, example)
    assert code == 1 and bundled == findings
    # a platform without a build: status 3 and what to do instead (the extension then looks further)
    other = subprocess.run(
        [*launcher, "--probe"],
        capture_output=True,
        text=True,
        env={**os.environ, "AIIAC_BUNDLED_PLATFORM": "linux-riscv64"},
    )
    assert other.returncode == 3
    assert "no tree-sitter build for Python 3." in other.stderr and "install aiiac-ls with pip" in other.stderr


def test_the_vsix_carries_the_server_for_every_platform_it_names():
    _needs(VSIX.is_file() and (BUNDLED / "libs").is_dir(), "the bundled .vsix is not built (make vsix)")
    with zipfile.ZipFile(VSIX) as archive:
        names = set(archive.namelist())
    assert "extension/bundled/aiiac_ls_server.py" in names
    assert "extension/bundled/libs/aiiac_ls/cli.py" in names and "extension/bundled/libs/pygls/__init__.py" in names
    assert not any("__pycache__" in name for name in names) and "extension/bundle_server.py" not in names
    for platform in ("linux-x86_64", "linux-aarch64", "darwin-x86_64", "darwin-aarch64", "win32-x86_64"):
        assert any(name.startswith(f"extension/bundled/native/{platform}/abi3/tree_sitter_hcl/") for name in names)
        for python in ("cp310", "cp311", "cp312", "cp313", "cp314"):
            assert any(name.startswith(f"extension/bundled/native/{platform}/{python}/tree_sitter/") for name in names)


def test_the_pre_commit_hooks_run_through_pre_commit(tmp_path):
    _needs(REQUIRED, "installs from the package index: run through `make test-package`")
    _needs(shutil.which("git") is not None, "git is not installed")
    repo = tmp_path / "repo"
    (repo / "k8s").mkdir(parents=True)
    (repo / "k8s" / "service.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: triton
        spec:
          type: LoadBalancer
          ports:
            - port: 8000
        """)
    )
    (repo / "README.md").write_text("not infrastructure\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    results = {}
    for hook in ("aiiac-ls", "aiiac-ls-repo"):
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"],
            cwd=repo, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        results[hook] = (done.returncode, done.stdout)
    for code, out in results.values():
        assert code == 1, out[-3000:]
        assert "k8s/service.yaml:6:3: AIS201 [high] LoadBalancer Service exposes model-serving port 8000" in out, out
    assert "Failed" in results["aiiac-ls"][1]
