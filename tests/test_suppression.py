"""Inline suppressions in YAML and Terraform, including other scanners' comments."""

from __future__ import annotations

import textwrap

from .helpers import run


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return tmp_path


def _pod(comment_above="", comment_inline=""):
    return POD.replace("COMMENT_ABOVE", comment_above).replace("COMMENT_INLINE", comment_inline)


def _rules(analysis):
    return sorted((f.rule, f.span.start_line + 1) for f in analysis.findings)


POD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: driver}
    spec:
      containers:
        - name: driver
          image: nvcr.io/nvidia/driver:550.90.07
          securityContext:
            COMMENT_ABOVE
            privileged: trueCOMMENT_INLINE
    """


def test_inline_and_above_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "a.yaml", _pod(comment_above="", comment_inline="  # aiiac:ignore AIS103 -- driver installer"))
    assert _rules(run(["a.yaml"], select=["AIS103", "AIS0"])) == []
    _write(tmp_path, "a.yaml", _pod(comment_above="# aiiac:ignore AIS103 -- driver installer", comment_inline=""))
    assert _rules(run(["a.yaml"], select=["AIS103", "AIS0"])) == []


def test_above_an_enclosing_block_and_the_resource(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "a.yaml",
        """
        # aiiac:ignore AIS103, AIS101 -- the GPU driver DaemonSet needs the host
        # (reviewed 2026-11)
        apiVersion: v1
        kind: Pod
        metadata: {name: driver}
        spec:
          # aiiac:ignore AIS105 -- writes the driver into the host
          containers:
            - name: driver
              image: nvcr.io/nvidia/driver:550.90.07
              securityContext:
                privileged: true
        """,
    )
    rules = {f.rule for f in run(["a.yaml"], select=["AIS1", "AIS0"]).findings}
    assert not rules & {"AIS103", "AIS101", "AIS105"}
    assert {"AIS104", "AIS106"} <= rules


def test_other_rules_on_the_same_line_are_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "a.yaml", _pod(comment_above="", comment_inline="  # aiiac:ignore AIS104 -- wrong rule"))
    assert ("AIS103", 10) in _rules(run(["a.yaml"], select=["AIS103"]))


def test_checkov_trivy_tfsec_and_kics_comments_are_honoured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "main.tf",
        """
        resource "aws_security_group" "a" {
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"] #checkov:skip=CKV_AWS_24:bastion, replaced next sprint
          }
        }
        resource "aws_security_group_rule" "b" {
          type        = "ingress"
          from_port   = 22
          to_port     = 22
          protocol    = "tcp"
          #tfsec:ignore:aws-ec2-no-public-ingress-sgr legacy
          cidr_blocks = ["0.0.0.0/0"]
        }
        resource "aws_security_group_rule" "c" {
          type        = "ingress"
          from_port   = 22
          to_port     = 22
          protocol    = "tcp"
          cidr_blocks = ["0.0.0.0/0"] # trivy:ignore:AVD-AWS-0107 -- temporary
        }
        resource "aws_security_group_rule" "d" {
          type        = "ingress"
          from_port   = 22
          to_port     = 22
          protocol    = "tcp"
          # kics-scan ignore-line
          cidr_blocks = ["0.0.0.0/0"]
        }
        resource "aws_security_group_rule" "e" {
          type        = "ingress"
          from_port   = 22
          to_port     = 22
          protocol    = "tcp"
          cidr_blocks = ["0.0.0.0/0"] #checkov:skip=CKV_AWS_999:unrelated check
        }
        """,
    )
    analysis = run(["main.tf"], select=["AIS202", "AIS0"])
    assert _rules(analysis) == [("AIS202", 37)]
    assert analysis.suppressed == 4


def test_suppression_above_terraform_resource_and_missing_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path,
        "main.tf",
        """
        // aiiac:ignore AIS401
        resource "aws_s3_bucket" "logs" {
          bucket = "acme-logs"
        }
        """,
    )
    analysis = run(["main.tf"], select=["AIS401", "AIS0"])
    assert _rules(analysis) == [("AIS001", 1)]
    assert analysis.findings[0].span.start_col == 0


def test_unknown_rule_in_suppression(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "a.yaml", _pod(comment_above="", comment_inline="  # aiiac:ignore -- no id given"))
    assert _rules(run(["a.yaml"], select=["AIS0"])) == [("AIS002", 10)]


HEREDOC_POLICY = """
    resource "aws_iam_policy" "everything" {
      name   = "everything"
      policy = <<EOF
    {
      "Version": "2012-10-17",
      "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    }
    EOF
    }
    """

BLOCK_SCALAR_POD = """
    apiVersion: v1
    kind: Pod
    metadata: {name: loader}
    spec:
      containers:
        - name: loader
          image: vllm/vllm-openai:v0.6.3
          env:
            - name: HF_TOKEN
              value: |
                hf_QwErTyUiOpAsDfGhJkLzXcVbNm0123456789
    """


def _ignore(tmp_path, name: str, text: str, rule: str) -> tuple[int, int | None, str]:
    """The finding's line, where the engine says its suppression comment goes, and the file once
    the editor's "ignore" edit is applied; that file must no longer report the finding."""
    from aiiac_ls.fixes import apply_edits
    from aiiac_ls.lsp import convert

    _write(tmp_path, name, text)
    path = tmp_path / name
    [finding] = [f for f in run([tmp_path], select=[rule]).findings if f.rule == rule]
    lines = path.read_text(encoding="utf-8").split("\n")
    edited = apply_edits(path.read_text(encoding="utf-8"), [convert.ignore_edit(finding, lines)])
    path.write_text(edited, encoding="utf-8")
    assert [f.rule for f in run([tmp_path], select=[rule]).findings] == []
    return finding.span.start_line, finding.comment_line, edited


def test_the_ignore_comment_of_a_finding_inside_a_heredoc_goes_above_the_resource(tmp_path):
    line, comment_line, edited = _ignore(tmp_path, "main.tf", HEREDOC_POLICY, "AIS302")
    assert (line, comment_line) == (5, 0)  # the statement is inside the heredoc: a `#` would be JSON
    assert edited.split("\n")[:2] == ["# aiiac:ignore AIS302 -- reason", 'resource "aws_iam_policy" "everything" {']


def test_a_block_scalar_takes_the_ignore_comment_on_its_header_line(tmp_path):
    """The finding is reported at the scalar, which starts at `|`: YAML allows a comment there."""
    line, comment_line, edited = _ignore(tmp_path, "pod.yaml", BLOCK_SCALAR_POD, "AIS701")
    assert (line, comment_line) == (9, 9)
    assert edited.split("\n")[9] == "          value: |  # aiiac:ignore AIS701 -- reason"


def test_the_ignore_comment_of_an_ordinary_finding_ends_its_line(tmp_path):
    line, comment_line, edited = _ignore(tmp_path, "pod.yaml", _pod(), "AIS103")
    assert (line, comment_line) == (9, 9)
    assert edited.split("\n")[9] == "        privileged: true  # aiiac:ignore AIS103 -- reason"


HOST = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: agent
      ANNOTATIONS
    spec:
      hostNetwork: true  NETWORK
      hostPID: true
      containers:
        - name: agent
          image: agent:1.0
          resources: {limits: {memory: 1Gi}}
    """


def test_a_finding_carries_the_equivalents_of_what_it_found(tmp_path):
    """hostNetwork is CKV_K8S_19 only: skipping hostPID's check does not silence it."""
    text = HOST.replace("ANNOTATIONS", "").replace("NETWORK", "# checkov:skip=CKV_K8S_17: the node agent needs it")
    analysis = run([_write(tmp_path, "pod.yaml", text)], select=["AIS107", "AIS125"])
    assert _rules(analysis) == [("AIS107", 7), ("AIS107", 8), ("AIS125", 10)]
    by_line = {f.span.start_line + 1: f for f in analysis.findings}
    assert by_line[7].equivalents["checkov"] == ["CKV_K8S_19"]  # hostNetwork
    assert by_line[8].equivalents["checkov"] == ["CKV_K8S_17"]  # hostPID
    assert by_line[10].equivalents["checkov"] == ["CKV_K8S_10"]  # no cpu request (the memory limit is one)


def test_checkov_skip_annotations_are_honoured_on_their_checks(tmp_path):
    text = HOST.replace(
        "ANNOTATIONS", "annotations:\n        checkov.io/skip1: CKV_K8S_19=the node agent reads host metrics"
    ).replace("NETWORK", "")
    analysis = run([_write(tmp_path, "pod.yaml", text)], select=["AIS107"])
    assert _rules(analysis) == [("AIS107", 9)]  # hostPID (CKV_K8S_17) is still reported
    assert analysis.suppressed == 1


def test_redundant_findings_are_reported_once_by_the_one_that_says_more(tmp_path):
    """No securityContext at all (AIS117) beside "may run as root" (AIS101): one problem, reported
    by AIS101, which carries a fix; a cached image (AIS133) beside "not pinned by digest" (AIS131):
    pinning fixes both. The findings kept take the left-out rules' equivalents."""
    from aiiac_ls.cli import main

    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: serve}\nspec:\n  serviceAccountName: serve\n"
        "  containers:\n    - name: serve\n      image: acme/serve:1.2\n"
    )

    def report(*args: str) -> list[dict]:
        import contextlib
        import io
        import json

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["--check", str(tmp_path), "--format", "json", *args])
        return json.loads(out.getvalue())["findings"]

    findings = {f["rule"]: f for f in report()}
    assert "AIS117" not in findings and "AIS133" not in findings
    assert {"AIS101", "AIS105", "AIS111", "AIS131"} <= set(findings)
    assert findings["AIS101"]["equivalents"]["checkov"] == ["CKV_K8S_23", "CKV_K8S_30", "CKV_K8S_29"]
    assert findings["AIS131"]["equivalents"]["checkov"] == ["CKV_K8S_43", "CKV_K8S_15"]
    # when the rules that say more are switched off, the others speak
    alone = {f["rule"] for f in report("--ignore", "AIS101,AIS105,AIS111,AIS131")}
    assert {"AIS117", "AIS133"} <= alone
    # a Checkov skip of the left-out rule's check silences that rule only (CKV_K8S_15 is AIS133's,
    # AIS131 is Checkov's CKV_K8S_43)
    (tmp_path / "pod.yaml").write_text(
        (tmp_path / "pod.yaml")
        .read_text()
        .replace("acme/serve:1.2\n", "acme/serve:1.2  # checkov:skip=CKV_K8S_15:cached on purpose\n")
    )
    kept = {f["rule"]: f for f in report()}
    assert "AIS133" not in kept and "AIS001" not in kept
    assert kept["AIS131"]["equivalents"]["checkov"] == ["CKV_K8S_43"]  # AIS133 was silenced, not left out


def test_a_folded_finding_is_the_same_finding_with_the_merged_equivalents():
    import dataclasses

    from aiiac_ls.model.findings import Finding, Fix
    from aiiac_ls.model.nodes import Span

    span = Span("pod.yaml", 7, 6, 7, 20)
    finding = Finding(
        rule="AIS101",
        severity="high",
        title="Container may run as root",
        message="container `serve` may run as root",
        span=span,
        resource="Pod/serve",
        fix=Fix("Set runAsNonRoot", (), unsafe=True),
        related=((span, "here"),),
        equivalents={"checkov": ["CKV_K8S_23"]},
        redact=True,
        fingerprint="abc",
        comment_line=6,
    )
    merged = {"checkov": ["CKV_K8S_23", "CKV_K8S_30"]}
    folded = finding.with_equivalents(merged)
    assert folded == dataclasses.replace(finding, equivalents=merged) and folded is not finding
    assert folded.equivalents is merged and finding.equivalents == {"checkov": ["CKV_K8S_23"]}
