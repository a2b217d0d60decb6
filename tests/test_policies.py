"""Custom rules: Rego (native and conftest) and YAML rules, located like built-in findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "policies"
SCHEMA = Path(__file__).resolve().parents[1] / "server" / "aiiac_ls" / "policy" / "rules.schema.json"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def _scan(root: Path, *policies: str, paths=None):
    config = Config(policies=tuple(str(root / p) for p in policies), builtin_rules=False, root=str(root))
    return Engine(config, absolute_paths=True).analyse_paths([str(p) for p in (paths or [root])])


def _where(analysis, root: Path):
    return sorted(
        (f.rule, os.path.relpath(f.file, root), f.span.start_line + 1, f.span.start_col + 1, f.span.end_col + 1)
        for f in analysis.findings
    )


def test_the_example_policy_folder_passes_its_own_fixtures(capsys):
    assert main(["--test-policies", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "7 fixture files passed, 0 failed." in out
    assert "note: no fixture expects" not in out  # every rule of the example is exercised


def test_example_findings_exact_places():
    analysis = _scan(
        EXAMPLE, "model-buckets.rego", "serving.rego", "conftest", "org.rules.yaml", paths=[EXAMPLE / "fixtures"]
    )
    assert not analysis.problems
    assert _where(analysis, EXAMPLE / "fixtures") == [
        ("ORG001", "infra/main.tf", 7, 3, 7),  # `tags`, whose value (an object from a local) is not on its line
        ("ORG002", "infra/main.tf", 6, 3, 41),  # through var.bucket_prefix from terraform.tfvars
        ("ORG003", "chart/values.yaml", 1, 8, 41),  # a chart: where the user writes the value
        ("ORG003", "k8s/serving.yaml", 11, 11, 55),  # containers[0].image, not the sidecar
        ("ORG010", "infra/main.tf", 17, 5, 25),
        ("ORG010", "infra/main.tf", 21, 1, 43),  # status absent: the block that should hold it
        ("ORG011", "k8s/serving.yaml", 21, 3, 21),
        ("ORG012", "chart/values.yaml", 1, 8, 41),
        ("ORG012", "k8s/serving.yaml", 11, 11, 55),
        ("REGO-MAIN", "k8s/serving.yaml", 1, 1, 20),  # conftest messages carry no path: the object
        ("REGO-TERRAFORM-SAGEMAKER", "infra/main.tf", 25, 1, 54),
    ]
    by_rule = {f.rule: f for f in analysis.findings}
    assert by_rule["ORG002"].message == 'bucket name "ml-models" does not start with acme-'
    assert by_rule["ORG002"].severity == "medium"  # from the package's metadata
    assert by_rule["ORG003"].severity == "high"  # from the finding object
    assert by_rule["REGO-MAIN"].severity == "high" and by_rule["REGO-TERRAFORM-SAGEMAKER"].severity == "low"
    assert by_rule["REGO-MAIN"].message == "Deployment triton must set runAsNonRoot"
    assert sorted(f.message for f in analysis.findings if f.rule == "ORG010") == [
        "versioning of logs is not Enabled",
        "versioning of models is not Enabled",
    ]


def test_rego_syntax_error_is_reported_at_its_line_and_other_policies_still_run(tmp_path):
    _write(
        tmp_path,
        {
            "policies/broken.rego": """
            package aiiac.broken

            import rego.v1

            deny contains f if {
              input.kind ==
            }
            """,
            "policies/good.rego": """
            package aiiac.good

            import rego.v1

            deny contains {"id": "ORG100", "message": "a bucket"} if input.kind == "aws_s3_bucket"
            """,
            "main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
        },
    )
    analysis = _scan(tmp_path, "policies", paths=[tmp_path / "main.tf"])
    assert [
        (p.kind, os.path.relpath(p.file, tmp_path), p.span.start_line + 1, p.span.start_col + 1, p.message)
        for p in analysis.problems
    ] == [("syntax", "policies/broken.rego", 6, 14, "Rego: Invalid boolean operator")]
    assert [f.rule for f in analysis.findings] == ["ORG100"]


def test_malformed_findings_and_evaluation_errors_are_problems_on_the_policy(tmp_path):
    _write(
        tmp_path,
        {
            "p/no_id.rego": """
            package aiiac.noid

            import rego.v1

            deny contains {"message": "no id"} if true
            """,
            "p/conflict.rego": """
            package aiiac.conflict

            import rego.v1

            deny contains {"id": "ORG1", "message": "m"} if input.kind == "x"
            value := 1 if input.kind
            value := 2 if input.kind
            """,
            "main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
        },
    )
    analysis = _scan(tmp_path, "p", paths=[tmp_path / "main.tf"])
    problems = sorted((os.path.basename(p.file), p.span.start_line + 1, p.message) for p in analysis.problems)
    assert problems == [
        (
            "conflict.rego",
            1,
            "Rego evaluation error in package aiiac.conflict: conflicting values or a failing built-in",
        ),
        (
            "no_id.rego",
            1,
            "finding id None is not a valid custom rule id (letters, digits, `-`, `_`; not starting with AIS)",
        ),
    ]
    assert not analysis.findings


def test_native_document_shape(tmp_path):
    """The documented `aiiac.resource/v1` document, and a policy reading it the documented way."""
    from aiiac_ls.engine import Analysis, ParseCache
    from aiiac_ls.policy.documents import resource_document

    _write(
        tmp_path,
        {
            "p/shape.rego": """
            package aiiac.shape

            import rego.v1

            deny contains {"id": "SHAPE", "message": "read as documented"} if {
              input.schema == "aiiac.resource/v1"
              input.config.lifecycle_rule[0].enabled == true
              input.config.arn == null
              not input.config.absent
            }
            """,
            "main.tf": """
            variable "name" { default = "acme-models" }
            resource "aws_s3_bucket" "b" {
              bucket = var.name
              arn    = aws_kms_key.k.arn
              lifecycle_rule {
                enabled = true
              }
            }
            """,
        },
    )
    engine = Engine(Config(), absolute_paths=True)
    [[resource]] = engine.load([str(tmp_path / "main.tf")], Analysis(), [], ParseCache())
    assert resource_document(resource) == {
        "schema": "aiiac.resource/v1",
        "source": "terraform",
        "kind": "aws_s3_bucket",
        "name": "b",
        "namespace": None,
        "address": "aws_s3_bucket.b",
        "file": str(tmp_path / "main.tf"),
        "block_type": "resource",
        "module": "",
        "config": {"bucket": "acme-models", "arn": None, "lifecycle_rule": [{"enabled": True}]},
    }
    analysis = _scan(tmp_path, "p", paths=[tmp_path / "main.tf"])
    assert [(f.rule, f.message) for f in analysis.findings] == [("SHAPE", "read as documented")]


def test_yaml_rule_operators(tmp_path):
    _write(
        tmp_path,
        {
            "r.rules.yaml": """
            rules:
              - id: T-IN
                title: t
                severity: low
                match: {kind: Deployment}
                when: {path: "spec.replicas", op: in, value: [1, 2]}
              - id: T-GT
                title: t
                severity: low
                match: {kind: Deployment}
                when: {path: "spec.template.spec.containers[*].resources.limits.memory", op: matches, value: "Gi$"}
              - id: T-CONTAINS
                title: t
                severity: low
                match: {kind: Deployment}
                when: {path: "spec.template.spec.containers[1].args", op: contains, value: "--trust-remote-code"}
              - id: T-NOT
                title: t
                severity: low
                match: {kind: Deployment}
                when:
                  not: {path: "spec.template.spec.containers[*].securityContext", op: exists}
              - id: T-LESS
                title: t
                severity: low
                match: {kind: Deployment}
                when: {path: "spec.revisionHistoryLimit", op: less_than, value: 3}
            """,
            "d.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: vllm
            spec:
              replicas: 2
              revisionHistoryLimit: 5
              template:
                spec:
                  containers:
                    - name: a
                      resources:
                        limits:
                          memory: 512Mi
                    - name: b
                      args: ["--model", "x", "--trust-remote-code"]
                      resources:
                        limits:
                          memory: 16Gi
            """,
        },
    )
    analysis = _scan(tmp_path, "r.rules.yaml", paths=[tmp_path / "d.yaml"])
    assert not analysis.problems
    assert _where(analysis, tmp_path) == [
        ("T-CONTAINS", "d.yaml", 16, 11, 15),  # `args`: a list is underlined at its key
        ("T-GT", "d.yaml", 19, 15, 27),  # the second container's limit, the one that matches
        ("T-IN", "d.yaml", 6, 3, 14),
        ("T-NOT", "d.yaml", 1, 1, 20),
    ]


def test_yaml_rule_file_errors_name_the_line(tmp_path):
    _write(
        tmp_path,
        {
            "bad.rules.yaml": """
            rules:
              - id: AIS999
                title: t
                severity: low
                match: {kind: Service}
                when: {path: spec.type, op: equals, value: LoadBalancer}
              - id: ORG2
                title: t
                severity: urgent
                match: {kind: Service}
                when: {path: spec.type, op: equals, value: LoadBalancer}
              - id: ORG3
                title: t
                severity: low
                match: {kind: Service}
                when: {path: spec.type, op: bigger, value: 1}
              - id: ORG4
                title: t
                severity: low
                match: {kind: Service}
                when: {path: "spec..type", op: exists}
              - id: ORG5
                title: ok
                severity: low
                match: {kind: Service}
                when: {path: spec.type, op: equals, value: LoadBalancer}
            """,
            "s.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: LoadBalancer\n",
        },
    )
    analysis = _scan(tmp_path, "bad.rules.yaml", paths=[tmp_path / "s.yaml"])
    assert [(p.span.start_line + 1, p.message) for p in analysis.problems] == [
        (2, "`AIS999` is not a valid custom rule id (letters, digits, `-`, `_`; not starting with AIS)"),
        (9, "severity must be one of low, medium, high, critical"),
        (
            16,
            "`op` must be one of equals, not_equals, in, not_in, matches, not_matches, contains, exists, absent, "
            "greater_than, less_than",
        ),
        (21, '`spec..type` is not a path (keys joined by `.`, `[N]`, `[*]`, `["key.with.dots"]`)'),
    ]
    assert [f.rule for f in analysis.findings] == ["ORG5"]  # the valid rule still runs


def test_schema_accepts_the_example_and_rejects_mistakes():
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    example = YAML(typ="safe").load((EXAMPLE / "org.rules.yaml").read_text())
    assert not list(validator.iter_errors(example))
    wrong = {
        "rules": [
            {
                "id": "AIS1",
                "title": "t",
                "severity": "low",
                "match": {"kind": "Service"},
                "when": {"path": "a", "op": "exists", "value": 1},
            }
        ]
    }
    messages = sorted(error.json_path for error in validator.iter_errors(wrong))
    assert messages == ["$.rules[0].id", "$.rules[0].when"]


def test_custom_rules_obey_select_ignore_and_suppressions(tmp_path):
    _write(
        tmp_path,
        {
            "p.rego": "package aiiac.p\n\nimport rego.v1\n\n"
            'deny contains {"id": "ORG7", "message": "m", "path": "bucket"} if input.kind == "aws_s3_bucket"\n',
            "main.tf": """
            resource "aws_s3_bucket" "a" {
              bucket = "a" # aiiac:ignore ORG7 -- a sandbox bucket
            }
            resource "aws_s3_bucket" "b" {
              bucket = "b"
            }
            """,
        },
    )
    config = Config(policies=(str(tmp_path / "p.rego"),), root=str(tmp_path))
    analysis = Engine(config).analyse_paths([str(tmp_path / "main.tf")])
    assert [(f.rule, f.span.start_line + 1) for f in analysis.findings if f.rule == "ORG7"] == [("ORG7", 5)]
    assert analysis.suppressed == 1
    assert not [f for f in analysis.findings if f.rule in ("AIS001", "AIS002")]
    ignored = Engine(Config(policies=config.policies, ignore=("ORG",))).analyse_paths([str(tmp_path / "main.tf")])
    assert not [f for f in ignored.findings if f.rule == "ORG7"]


def test_check_output_stays_json_when_a_policy_is_broken(tmp_path):
    """regopy prints compile errors on file descriptor 1: they must not reach the report."""
    _write(
        tmp_path,
        {
            "p/bad.rego": "package aiiac.bad\n\ndeny contains f if {\n  input.kind ==\n}\n",
            "main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
        },
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiiac_ls.cli",
            "--check",
            "main.tf",
            "--policies",
            "p",
            "--format",
            "json",
            "--select",
            "ORG",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report["errors"] == [
        {
            "file": os.path.join("p", "bad.rego"),
            "kind": "syntax",
            "message": "Rego: Invalid boolean operator",
            "line": 4,
            "column": 14,
        }
    ]
    assert done.returncode == 2


def test_test_policies_reports_missing_and_unexpected_findings(tmp_path, capsys):
    _write(
        tmp_path,
        {
            "rules.rules.yaml": """
            rules:
              - id: ORG1
                title: public service
                severity: high
                match: {kind: Service}
                when: {path: spec.type, op: equals, value: LoadBalancer}
              - id: ORG2
                title: never tested
                severity: low
                match: {kind: Pod}
                when: {path: spec.hostNetwork, op: equals, value: true}
            """,
            "fixtures/svc.yaml": """
            apiVersion: v1
            kind: Service
            metadata:
              name: a
            spec:
              type: LoadBalancer
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: b
            spec:
              type: ClusterIP # expect: ORG1
            """,
        },
    )
    assert main(["--test-policies", str(tmp_path)]) == 1
    out = capsys.readouterr().out.replace(str(tmp_path) + os.sep, "").replace(os.path.relpath(tmp_path) + os.sep, "")
    assert out.splitlines() == [
        "FAIL  fixtures/svc.yaml",
        "      line 13: expected ORG1, not found",
        "      line 6: unexpected ORG1: public service",
        "note: no fixture expects ORG2",
        "0 fixture files passed, 1 failed.",
    ]


def test_a_runaway_policy_is_stopped_and_the_rest_of_the_scan_goes_on(tmp_path):
    from aiiac_ls.limits import Limits

    _write(
        tmp_path,
        {
            "p/slow.rego": """
            package aiiac.slow

            import rego.v1

            deny contains {"id": "SLOW", "message": "never"} if {
              some i in numbers.range(1, 50000000)
              i < 0
            }
            """,
            "y.rules.yaml": """
            rules:
              - id: FAST
                title: bucket
                severity: low
                match: {kind: aws_s3_bucket}
                when: {path: bucket, op: exists}
            """,
            "main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
        },
    )
    config = Config(
        policies=(str(tmp_path / "p"), str(tmp_path / "y.rules.yaml")),
        builtin_rules=False,
        limits=Limits(rego_timeout_seconds=1.0),
    )
    for _ in range(2):  # the second analysis starts a new worker and stops it again
        analysis = Engine(config).analyse_paths([str(tmp_path / "main.tf")])
        assert [f.rule for f in analysis.findings] == ["FAST"]
        assert [p.message for p in analysis.problems] == [
            "Rego policies did not finish within 1 s and were stopped; their findings are missing (limit "
            "`rego-timeout-seconds`)"
        ]


def test_list_rules_and_explain_include_the_configured_custom_rules(tmp_path, monkeypatch, capsys):
    (tmp_path / "policies").mkdir()
    for name in ("model-buckets.rego", "org.rules.yaml"):
        (tmp_path / "policies" / name).write_text((EXAMPLE / name).read_text())
    (tmp_path / ".aiiac.toml").write_text('policies = ["policies"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["--list-rules"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed if not line.startswith("AIS")] == [
        "ORG010",
        "ORG011",
        "ORG012",
        "ORG001",
        "ORG002",
    ]
    assert main(["--explain", "ORG001"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# ORG001: Model buckets carry a cost-centre tag\n")
    assert "Buckets tagged purpose=models must name the cost centre that pays for them." in page
    assert "Custom rule from `policies/model-buckets.rego`." in page


def test_a_yaml_rule_may_name_a_kind_with_its_api_group(tmp_path):
    _write(
        tmp_path,
        {
            "r.rules.yaml": """
            rules:
              - id: T-KNATIVE
                title: Knative service scales to zero
                severity: low
                match: {kind: serving.knative.dev/Service}
                when: {path: "spec.template.metadata.annotations[\\"autoscaling.knative.dev/min-scale\\"]", op: absent}
              - id: T-ANY
                title: any Service
                severity: low
                match: {kind: Service}
                when: {path: "metadata.name", op: exists}
            """,
            "k8s/services.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: core}
            spec: {selector: {app: llm}}
            ---
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: {name: knative}
            spec: {template: {spec: {containers: [{image: llm}]}}}
            """,
        },
    )
    analysis = _scan(tmp_path, "r.rules.yaml", paths=[tmp_path / "k8s"])
    assert sorted((f.rule, f.resource, f.span.start_line) for f in analysis.findings) == [
        ("T-ANY", "Service/core", 2),
        ("T-ANY", "Service/knative", 7),
        ("T-KNATIVE", "Service/knative", 8),
    ]
