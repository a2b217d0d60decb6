"""CI integration: baselines, --fail-on, --diff blast radius, and the github/junit/markdown formats."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from aiiac_ls.cli import main

MAIN_TF = """
resource "aws_security_group" "inference" {
  name = "inference"
  ingress {
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket_acl" "models" {
  bucket = "acme-models"
  acl    = "public-read"
}
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def _check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def infra(tmp_path, monkeypatch):
    _write(tmp_path, {"infra/main.tf": MAIN_TF})
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- baselines -----------------------------------------------------------------------------------


def test_baseline_survives_line_shifts_and_reports_only_new_findings(infra, capsys):
    code, _, err = _check(capsys, "infra", "--write-baseline", "baseline.json", "--format", "json")
    assert code == 0 and "wrote 2 findings to the baseline baseline.json" in err  # recorded: accepted
    recorded = json.loads((infra / "baseline.json").read_text())
    assert [(e["rule"], e["line"]) for e in recorded["findings"]] == [("AIS202", 7), ("AIS402", 13)]

    # unrelated edits: a comment block above, different indentation of the flagged lines
    shifted = "# owned by the ML platform team\n# see RUNBOOK.md\n\n" + MAIN_TF.lstrip("\n").replace(
        '  acl    = "public-read"', '  acl = "public-read"'
    )
    (infra / "infra" / "main.tf").write_text(shifted)
    code, out, _ = _check(capsys, "infra", "--baseline", "baseline.json")
    assert code == 0
    assert out.strip() == "No findings in 1 file. 2 more in the baseline."

    code, out, _ = _check(capsys, "infra", "--baseline", "baseline.json", "--fail-on", "any", "--format", "json")
    assert code == 1 and json.loads(out)["baselined"] == 2

    # a new exposure: only it is reported, and it fails the run
    (infra / "infra" / "main.tf").write_text(
        shifted + 'resource "aws_s3_bucket_acl" "weights" {\n  bucket = "acme-weights"\n'
        '  acl    = "public-read-write"\n}\n'
    )
    code, out, _ = _check(capsys, "infra", "--baseline", "baseline.json", "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [(f["rule"], f["line"], f["resource"]) for f in report["findings"]] == [
        ("AIS402", 20, "aws_s3_bucket_acl.weights")
    ]


def test_sarif_partial_fingerprints_are_the_baseline_fingerprints(infra, capsys):
    _check(capsys, "infra", "--write-baseline", "baseline.json")
    _, out, _ = _check(capsys, "infra", "--format", "sarif")
    sarif = {r["partialFingerprints"]["aiiacFingerprint/v1"] for r in json.loads(out)["runs"][0]["results"]}
    baseline = {e["fingerprint"] for e in json.loads((infra / "baseline.json").read_text())["findings"]}
    assert sarif == baseline and len(sarif) == 2


def test_identical_lines_get_distinct_fingerprints(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        {
            "sg.tf": """
        resource "aws_security_group" "a" {
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"]
          }
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"]
          }
        }
        """
        },
    )
    _, out, _ = _check(capsys, "sg.tf", "--format", "json", "--select", "AIS202")
    prints = [f["fingerprint"] for f in json.loads(out)["findings"]]
    assert len(prints) == 2 and prints[1] == prints[0] + ":1"


def test_baseline_and_fail_on_errors(infra, capsys):
    (infra / "broken.json").write_text("{not json")
    code, _, err = _check(capsys, "infra", "--baseline", "broken.json")
    assert code == 2 and "baseline broken.json is not JSON" in err
    (infra / "other.json").write_text('{"findings": []}')
    code, _, err = _check(capsys, "infra", "--baseline", "other.json")
    assert code == 2 and "is not an aiiac-ls baseline (version 1)" in err
    code, _, err = _check(capsys, "infra", "--fail-on", "new")
    assert code == 2 and "--fail-on new needs --baseline FILE or --diff REV" in err


# ---- formats -------------------------------------------------------------------------------------


def test_github_annotations(infra, capsys, monkeypatch):
    summary = infra / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = _check(capsys, "infra", "--format", "github")
    assert code == 1
    assert out.splitlines() == [  # the most severe first
        "::error file=infra/main.tf,line=13,col=3,endLine=13,endColumn=25,title=AIS402 S3 bucket grants public "
        "access::[critical] canned ACL `public-read` makes the bucket public",
        "::error file=infra/main.tf,line=7,col=20,endLine=7,endColumn=31,title=AIS202 Security group opens SSH or a "
        "model port to the internet::[high] ingress from 0.0.0.0/0 to 8000 (Triton HTTP / vLLM)",
    ]
    assert "AIS402" in summary.read_text() and "AIS202" in summary.read_text()  # the job summary lists all


def test_github_annotates_the_most_severe_and_summarises_the_rest(infra):
    from aiiac_ls.report.ci import to_github

    from .helpers import run

    analysis = run([infra])
    lines = to_github(analysis, limit=1).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::notice"]
    assert "AIS402" in lines[0]  # critical before high
    assert lines[1] == "::notice title=aiiac-ls::1 more findings (less severe) are in the job summary"


def test_github_escapes_properties_and_data():
    from aiiac_ls.report.ci import _github_data, _github_property

    assert _github_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert _github_data("50% done\r\nnext") == "50%25 done%0D%0Anext"


def test_junit_report(infra, capsys):
    _write(infra, {"infra/clean.tf": 'resource "aws_s3_bucket" "x" {\n  bucket = "x"\n}\n'})
    _, out, _ = _check(capsys, "infra", "--format", "junit", "--select", "AIS202,AIS402")
    suite = ET.fromstring(out).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    cases = [
        (c.get("classname"), c.get("name"), c.find("failure").get("type") if c.find("failure") is not None else None)
        for c in suite.findall("testcase")
    ]
    assert cases == [
        ("infra/clean.tf", "aiiac-ls", None),
        ("infra/main.tf", "AIS202 aws_security_group.inference:7", "high"),
        ("infra/main.tf", "AIS402 aws_s3_bucket_acl.models:13", "critical"),
    ]


def test_markdown_report(infra, capsys):
    _, out, _ = _check(capsys, "infra", "--format", "markdown")
    assert out.splitlines()[:7] == [
        "## aiiac-ls",
        "",
        "2 findings (1 critical, 1 high) in 1 files.",
        "",
        "| Severity | Rule | Location | Finding |",
        "|---|---|---|---|",
        "| high | `AIS202` | `infra/main.tf:7` | ingress from 0.0.0.0/0 to 8000 (Triton HTTP / vLLM) |",
    ]


# ---- blast radius --------------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    _write(
        tmp_path,
        {
            "infra/variables.tf": 'variable "public" {\n  default = false\n}\n',
            "infra/main.tf": """
            resource "aws_security_group" "inference" {
              name = "inference"
              ingress {
                from_port   = 8000
                to_port     = 8000
                protocol    = "tcp"
                cidr_blocks = var.public ? ["0.0.0.0/0"] : ["10.0.0.0/8"]
              }
            }

            resource "aws_s3_bucket_acl" "models" {
              bucket = "acme-models"
              acl    = "public-read"
            }
            """,
            "charts/srv/Chart.yaml": "apiVersion: v2\nname: srv\nversion: 0.1.0\n",
            "charts/srv/values.yaml": "service:\n  type: ClusterIP\n",
            "charts/srv/templates/service.yaml": """
            apiVersion: v1
            kind: Service
            metadata:
              name: {{ .Release.Name }}-srv
            spec:
              type: {{ .Values.service.type }}
              ports:
                - port: 8000
            """,
        },
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@needs_git
def test_blast_radius_follows_variables_and_values(repo, capsys):
    (repo / "infra" / "terraform.tfvars").write_text("public = true\n")
    (repo / "charts" / "srv" / "values.yaml").write_text("service:\n  type: LoadBalancer\n")
    main_tf = (repo / "infra" / "main.tf").read_text()
    (repo / "infra" / "main.tf").write_text(
        main_tf.replace('acl    = "public-read"', 'acl    = "private"')
        + 'resource "aws_s3_bucket" "cache" {\n  bucket = "acme-cache"\n}\n'
    )
    code, out, _ = _check(capsys, "--diff", "HEAD", "--format", "json")
    diff = json.loads(out)["diff"]
    assert code == 1
    assert diff["changed_files"] == [
        {"status": "modified", "file": "charts/srv/values.yaml"},
        {"status": "modified", "file": "infra/main.tf"},
        {"status": "added", "file": "infra/terraform.tfvars"},
    ]
    assert diff["resources"] == [
        {
            "status": "modified",
            "resource": "Service/release-name-srv",
            "file": "charts/srv/templates/service.yaml",
            "because": ["charts/srv/values.yaml"],
        },
        {"status": "added", "resource": "aws_s3_bucket.cache", "file": "infra/main.tf", "because": []},
        {"status": "modified", "resource": "aws_s3_bucket_acl.models", "file": "infra/main.tf", "because": []},
        {"status": "modified", "resource": "aws_security_group.inference", "file": "infra/main.tf", "because": []},
    ]
    assert [(f["rule"], f["line"]) for f in diff["findings"]["fixed"]] == [("AIS402", 13)]
    report = json.loads(out)
    new = {f["fingerprint"] for f in report["findings"]} & set(diff["findings"]["new"])
    assert sorted(f["rule"] for f in report["findings"] if f["fingerprint"] in new) == ["AIS201", "AIS202", "AIS401"]

    code, out, _ = _check(capsys, "--diff", "HEAD", "--format", "markdown")
    lines = out.splitlines()
    assert lines[2].startswith("Compared with `HEAD` (") and lines[2].endswith(
        "): **3 new** (3 high), 1 fixed, 0 unchanged findings."
    )
    assert (
        "| modified | `Service/release-name-srv` | `charts/srv/templates/service.yaml` | through "
        "`charts/srv/values.yaml` |" in lines
    )


@needs_git
def test_blast_radius_of_a_tfvars_change_names_the_file(repo, capsys):
    (repo / "infra" / "terraform.tfvars").write_text("public = true\n")
    code, out, _ = _check(capsys, "infra", "--diff", "HEAD")
    assert code == 1
    assert "  modified aws_security_group.inference  infra/main.tf (through infra/terraform.tfvars)" in out
    assert "  1 new, 0 fixed, 1 unchanged findings" in out


@needs_git
def test_fail_on_new_ignores_findings_the_revision_already_had(repo, capsys):
    (repo / "README.md").write_text("docs only\n")
    code, out, _ = _check(capsys, "--diff", "HEAD")
    assert code == 0 and "no resource configuration changed" in out and "0 new, 0 fixed, 1 unchanged" in out
    code, _, _ = _check(capsys, "--diff", "HEAD", "--fail-on", "any")
    assert code == 1


@needs_git
def test_diff_compares_evaluated_content_of_file_and_templatefile(tmp_path, monkeypatch, capsys):
    """`path.module` names the working tree's folder: in the revision's copy, file() must still
    read the revision's own file, so a clean tree has no change at all, and a change of the JSON
    file alone shows as the policy's change through it."""
    _write(
        tmp_path,
        {
            "infra/main.tf": """
            resource "aws_iam_policy" "models" {
              name   = "models"
              policy = file("${path.module}/policy.json")
            }

            resource "helm_release" "vllm" {
              name   = "vllm"
              chart  = "vllm"
              values = [templatefile("${path.module}/values.yaml", { replicas = 2 })]
            }
            """,
            "infra/policy.json": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": "s3:GetObject", "Resource": "*"}]}\n',
            "infra/values.yaml": "replicaCount: ${replicas}\nservice:\n  type: LoadBalancer\n",
        },
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    for paths in (["infra"], ["."], [str(tmp_path / "infra")]):
        code, out, _ = _check(capsys, *paths, "--diff", "HEAD")
        assert code == 0, out
        assert "no resource configuration changed" in out and "0 new, 0 fixed, 1 unchanged findings" in out
    (tmp_path / "infra" / "policy.json").write_text(
        (tmp_path / "infra" / "policy.json").read_text().replace("GetObject", "*")
    )
    code, out, _ = _check(capsys, "infra", "--diff", "HEAD")
    assert code == 1
    assert "  modified aws_iam_policy.models  infra/main.tf (through infra/policy.json)" in out


@needs_git
def test_diff_never_runs_repository_hooks_or_fsmonitor(repo, capsys):
    marker = repo / "pwned"
    script = repo / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    _git(repo, "config", "core.fsmonitor", str(script))
    hooks = repo / ".git" / "hooks"
    for hook in ("post-checkout", "pre-commit", "post-index-change"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    _check(capsys, "--diff", "HEAD")
    assert not marker.exists()


@needs_git
def test_diff_errors_are_clear(repo, tmp_path_factory, capsys):
    code, _, err = _check(capsys, "--diff", "no-such-rev")
    assert code == 2 and err.startswith("aiiac-ls: git rev-parse: ")
    outside = tmp_path_factory.mktemp("plain")
    (outside / "main.tf").write_text(MAIN_TF)
    code, _, err = _check(capsys, str(outside), "--diff", "HEAD")
    assert code == 2 and "git rev-parse: fatal: not a git repository" in err


def test_pre_commit_hooks_run_the_check_on_the_files_pre_commit_passes(infra, capsys):
    """What pre-commit does: `entry` plus the staged files that match `files`."""
    import re

    from ruamel.yaml import YAML

    hooks = YAML(typ="safe").load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in hooks] == ["aiiac-ls", "aiiac-ls-rego", "aiiac-ls-repo"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].split()[0] == "aiiac-ls"
        if hook.get("pass_filenames", True) is False:  # the whole repository, no file names
            assert hook["entry"] == "aiiac-ls --check ." and hook["always_run"] is True
            code = main(hook["entry"].split()[1:])
            assert code == 1 and "AIS402" in capsys.readouterr().out
            continue
        staged = [
            name
            for name in ("infra/main.tf", "README.md", "k8s/app.yml", "chart/templates/_helpers.tpl")
            if re.search(hook["files"], name)
        ]
        assert staged == ["infra/main.tf", "k8s/app.yml", "chart/templates/_helpers.tpl"]
        code = main([*hook["entry"].split()[1:], "infra/main.tf"])
        assert code == 1 and "AIS402" in capsys.readouterr().out
