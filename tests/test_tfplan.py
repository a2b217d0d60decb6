"""Terraform plan JSON: the same rules on planned values, reported on the `.tf` lines."""

from __future__ import annotations

import json

from .helpers import FIXTURES, run

PLAN = FIXTURES / "plan"
RULES = ["AIS202", "AIS401", "AIS402", "AIS501"]  # what the fixtures are about


def _where(analysis):
    return [
        (f.rule, f.file.split("fixtures/")[-1], f.span.start_line + 1, f.span.start_col + 1, f.resource)
        for f in analysis.findings
    ]


def test_plan_values_are_checked_and_located_in_the_configuration():
    analysis = run([PLAN / "bad.tfplan.json"], select=RULES)
    assert not analysis.problems
    assert _where(analysis) == [
        ("AIS402", "plan/main.tf", 24, 3, "aws_s3_bucket_acl.models"),  # acl = var.acl, public-read from -var
        ("AIS202", "plan/main.tf", 33, 19, "aws_security_group.inference"),  # cidr_blocks = var.allowed_cidrs
        # direct_internet_access = var.internet, whose null default the caller does not set:
        # "Enabled" is the provider's default; reported on the call, naming the input
        ("AIS501", "plan/main.tf", 37, 1, "module.notebook.aws_sagemaker_notebook_instance.research"),
    ]
    assert analysis.findings[2].message.endswith("(decided by the default of input `internet`: set it in this call)")
    assert [(span.file.split("fixtures/")[-1], span.start_line + 1) for span, _ in analysis.findings[2].related] == [
        ("plan/modules/notebook/main.tf", 15),
        ("plan/modules/notebook/main.tf", 7),
    ]
    assert all(f.fix is None for f in analysis.findings)  # plan values are not text to edit


def test_the_configuration_alone_cannot_tell_and_the_compliant_plan_is_clean():
    assert not run([PLAN / "main.tf", PLAN / "modules"], select=RULES).findings  # variables without values stay unknown
    assert not run([PLAN / "good.tfplan.json"], select=RULES).findings
    # `after_unknown` values keep the configuration's references: the public access block's
    # bucket (known after apply) is still recognised as aws_s3_bucket.models, so AIS401 is quiet


def test_without_the_configuration_findings_point_into_the_plan():
    analysis = run([FIXTURES / "plan_only" / "tfplan.json"], select=RULES)
    assert [(rule, file, line) for rule, file, line, _, _ in _where(analysis)] == [
        ("AIS402", "plan_only/tfplan.json", 40),
        ("AIS202", "plan_only/tfplan.json", 78),
        ("AIS501", "plan_only/tfplan.json", 105),
    ]
    lines = (FIXTURES / "plan_only" / "tfplan.json").read_text().splitlines()
    assert lines[39].strip() == '"acl": "public-read",'
    assert lines[104].strip() == '"direct_internet_access": "Enabled",'


def test_folder_scans_find_plans_by_name_and_other_json_is_kubernetes(tmp_path):
    (tmp_path / "tfplan.json").write_text((FIXTURES / "plan_only" / "tfplan.json").read_text())
    (tmp_path / "pod.json").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "x:1"}]},
            }
        )
    )
    assert {f.rule for f in run([tmp_path], select=RULES + ["AIS107"]).findings} >= {
        "AIS402",
        "AIS202",
        "AIS501",
    }  # pod.json: not walked
    assert "AIS107" in {
        f.rule for f in run([tmp_path / "pod.json"], select=["AIS107"]).findings
    }  # named: analysed as a manifest


def test_a_broken_plan_is_a_problem_not_a_crash(tmp_path):
    text = (FIXTURES / "plan_only" / "tfplan.json").read_text()
    (tmp_path / "tfplan.json").write_text(text[: len(text) // 2])
    analysis = run([tmp_path / "tfplan.json"])
    assert [p.kind for p in analysis.problems] == ["error"] and not analysis.findings
    assert analysis.problems[0].message == "Terraform plan JSON could not be read"
