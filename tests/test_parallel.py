"""`--check -j 2` (Terraform in a forked worker) must report exactly what one process reports."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from aiiac_ls import parallel
from aiiac_ls.cli import main

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
