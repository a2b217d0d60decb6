"""`--check -j 2` (Terraform in a forked worker) must report exactly what one process reports."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from aiiac_ls import parallel
from aiiac_ls.cli import main
from aiiac_ls.engine import Engine

from .helpers import record_splits

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ml-platform"


READER_POLICY = textwrap.dedent("""\
    resource "aws_iam_policy" "reader" {
      policy = jsonencode({
        Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::acme-data/*" }]
      })
    }
    """)

INFERENCE_SERVICE = textwrap.dedent("""\
    apiVersion: serving.kserve.io/v1beta1
    kind: InferenceService
    metadata: {name: llama}
    spec:
      predictor:
        model:
          modelFormat: {name: huggingface}
          storageUri: s3://acme-data/models/llama/
    """)


@pytest.fixture
def example(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLE, tmp_path / "ml-platform")
    (tmp_path / "ml-platform" / "reader").mkdir()
    (tmp_path / "ml-platform" / "reader" / "main.tf").write_text(READER_POLICY)
    (tmp_path / "ml-platform" / "k8s" / "llama.yaml").write_text(INFERENCE_SERVICE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(parallel, "MIN_TERRAFORM_FILES", 1)  # the example is small
    return tmp_path


@pytest.fixture
def splits(monkeypatch) -> list[bool]:
    return record_splits(monkeypatch)


def _report(capsys, *args) -> dict:
    main(["--check", "ml-platform", "--format", "sarif", *args])
    return json.loads(capsys.readouterr().out)


def test_two_processes_report_what_one_reports(example, capsys, splits):
    one = _report(capsys, "-j", "1")
    assert splits == []
    two = _report(capsys, "-j", "2")
    assert splits == [True]  # the Terraform really was analysed by the worker
    assert two == one
    results = one["runs"][0]["results"]
    # a Terraform finding that needs a fact from the Kubernetes side (the KServe storageUri
    # says which bucket and prefix hold the model) crossed the process boundary
    [scoped] = [
        r
        for r in results
        if r["ruleId"] == "AIS301"
        and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("reader/main.tf")
    ]
    assert scoped["message"]["text"] == (
        "policy allows s3:GetObject on all of model bucket `acme-data` (InferenceService/llama loads a model from it)"
    )
    assert scoped["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("/")[1] for r in results} == {
        "infra",
        "k8s",
        "reader",
    }


def test_a_failing_worker_falls_back_to_one_process(example, capsys, monkeypatch, splits):
    one = _report(capsys, "-j", "1")

    def broken_worker(engine, files, var_files, pipe):
        pipe.send(RuntimeError("worker broke"))
        pipe.close()

    monkeypatch.setattr(parallel, "_worker", broken_worker)
    assert _report(capsys, "-j", "2") == one
    assert splits == [False]  # tried, failed, and the one-process scan gave the report


# ---- one large kind of input: the rules shared with a worker forked after loading ------------

FIRST = textwrap.dedent("""\
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: server, namespace: serving}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: first, namespace: serving}
    spec:
      template:
        spec:
          serviceAccountName: server
          containers:
            - name: server
              image: vllm/vllm-openai:latest
    """)

# the worker's share: suppression comments with and without a reason, one naming no rule, a
# credential (masked in every report), Checkov's skip annotation and comment, a rule that breaks
SECOND = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: second
      namespace: serving
      annotations: {checkov.io/skip1: CKV_K8S_20=no escalation in this image}
    spec:
      template:
        spec:
          serviceAccountName: server
          containers:
            - name: server
              image: vllm/vllm-openai:latest  # aiiac:ignore AIS110 -- the registry's policy pins it
              env:
                - name: HF_TOKEN
                  value: hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789
              securityContext:
                privileged: true  # aiiac:ignore AIS103
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: broken, namespace: serving}
    spec:
      containers:
        - name: c  # checkov:skip=CKV_K8S_22
          image: nginx:1.27  # aiiac:ignore AIS999 -- no such rule
    """)


@pytest.fixture
def namespace(tmp_path, monkeypatch):
    (tmp_path / "ns").mkdir()
    (tmp_path / "ns" / "a.yaml").write_text(FIRST)
    (tmp_path / "ns" / "b.yaml").write_text(SECOND)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(parallel, "MIN_RESOURCES_TO_SHARE", 1)  # four resources: two here, two there
    from aiiac_ls.rules import get_rule

    rule = get_rule("AIS101")
    real = rule.check

    def breaks_on_one(resource, context):
        if resource.name == "broken":
            raise ValueError("a rule bug")
        return real(resource, context)

    monkeypatch.setattr(rule, "check", breaks_on_one)
    return tmp_path


@pytest.fixture
def shares(monkeypatch) -> list[int]:
    """For each share of rules a worker was given: how many resources' findings came back."""
    made: list[int] = []
    real = parallel._received

    def spy(pipe, shared, analysis):
        received = real(pipe, shared, analysis)
        made.append(len(received))
        return received

    monkeypatch.setattr(parallel, "_received", spy)
    return made


def _reports(capsys, *args) -> tuple[str, str]:
    main(["--check", "ns", "--format", "json", *args])
    machine = capsys.readouterr().out
    main(["--check", "ns", "--format", "text", "--no-color", *args])
    return machine, capsys.readouterr().out


def test_rules_shared_with_a_worker_report_what_one_process_reports(namespace, capsys, shares, monkeypatch):
    one = _reports(capsys, "-j", "1")
    assert shares == []
    # by default (two cores or not) the rules stay in one process: sharing them doubles the memory
    monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
    assert _reports(capsys) == one
    assert shares == []
    two = _reports(capsys, "-j", "2")
    assert shares == [2, 2]  # (JSON, then text) the worker's findings of its two resources were used
    assert two == one
    report = json.loads(one[0])
    rules = [(finding["rule"], finding["file"], finding["line"]) for finding in report["findings"]]
    # what the worker's share records besides findings reached this process: the comments and
    # Checkov's annotation that silenced AIS110, AIS103, AIS104 (its CKV_K8S_20) and AIS105
    # (CKV_K8S_22), the comments without a reason (AIS001: Checkov's only because it silenced
    # one of ours) or naming no rule (AIS002), the credential masked in the text, the rule that broke
    b = [(rule, line) for rule, file, line in rules if file == "ns/b.yaml"]
    assert ("AIS110", 13) not in b and ("AIS103", 18) not in b and ("AIS104", 12) not in b
    assert ("AIS104", 25) in b and ("AIS105", 25) not in b  # (the Pod is not skipped by the annotation)
    assert ("AIS001", 18) in b and ("AIS001", 25) in b and ("AIS002", 26) in b and ("AIS701", 16) in b
    assert "hf_AbCd" not in one[1] and "16 |               value: " + "*" * 39 + "\n" in one[1]
    assert [error["message"] for error in report["errors"]] == [
        "internal error in rule AIS101 on Pod/serving/broken: ValueError: a rule bug"
    ]


@pytest.mark.parametrize("how", ["says so", "raises"])
def test_a_failing_rules_worker_leaves_its_share_to_this_process(namespace, capsys, monkeypatch, shares, how):
    one = _reports(capsys, "-j", "1")
    if how == "says so":

        def broken_worker(engine, scopes, facts, analysis, start, pipe):
            pipe.send(RuntimeError("worker broke"))
            pipe.close()

        monkeypatch.setattr(parallel, "_check_worker", broken_worker)
    else:  # (the worker is forked: it has this patch, this process uses check_part nowhere)

        def broken_check_part(self, scopes, facts, analysis, start):
            raise MemoryError("no room for the worker's share")

        monkeypatch.setattr(Engine, "check_part", broken_check_part)
    assert _reports(capsys, "-j", "2") == one
    assert shares == [0, 0]  # tried, nothing came back, and this process checked the share
