"""kubernetes_* Terraform resources are checked as the Kubernetes objects they create."""

from __future__ import annotations

import shutil

from aiiac_ls.cli import main

from .helpers import FIXTURES, run

FOLDER = FIXTURES / "terraform_kubernetes"


def test_kubernetes_rules_report_on_the_terraform_attributes():
    analysis = run([FOLDER], select=["AIS101", "AIS103", "AIS107", "AIS110", "AIS201", "AIS207", "AIS121"])
    assert not analysis.problems
    assert [(f.rule, f.span.start_line + 1, f.span.start_col + 1, f.resource) for f in analysis.findings] == [
        ("AIS201", 7, 5, "kubernetes_service_v1.triton"),  # `type = "LoadBalancer"` inside spec { }
        ("AIS121", 31, 7, "kubernetes_deployment_v1.triton"),  # the pod spec block
        ("AIS107", 32, 9, "kubernetes_deployment_v1.triton"),  # host_network = true
        ("AIS101", 33, 9, "kubernetes_deployment_v1.triton"),  # the container block
        ("AIS110", 35, 11, "kubernetes_deployment_v1.triton"),
        ("AIS103", 37, 13, "kubernetes_deployment_v1.triton"),  # privileged = true in security_context
        ("AIS207", 48, 1, "kubernetes_manifest.isvc"),  # kubernetes_manifest: the object as written
        ("AIS101", 58, 17, "kubernetes_manifest.isvc"),  # KServe's predictor container
    ]
    by_rule = {f.rule: f for f in analysis.findings}
    assert by_rule["AIS201"].message == (
        "LoadBalancer Service exposes model-serving port 8000 (Triton HTTP / vLLM) to the internet"
    )
    assert by_rule["AIS103"].message == "container `triton` is privileged"


def test_a_compliant_cron_job_in_terraform_passes_the_security_context_rules():
    analysis = run([FOLDER], select=["AIS101", "AIS104", "AIS105", "AIS106"])
    assert not [f for f in analysis.findings if f.resource == "kubernetes_cron_job_v1.refresh"]


def test_value_fixes_are_written_in_hcl_and_key_additions_are_not_offered(tmp_path, capsys):
    target = tmp_path / "main.tf"
    shutil.copy(FOLDER / "main.tf", target)
    analysis = run([target])
    fixable = sorted((f.rule, f.span.start_line + 1) for f in analysis.findings if f.fix is not None)
    assert fixable == [("AIS103", 37), ("AIS107", 32), ("AIS201", 7)]  # AIS101 would add run_as_non_root: not offered
    assert main(["--check", str(target), "--fix", "--unsafe-fixes", "--select", "AIS103,AIS107,AIS201"]) == 0
    capsys.readouterr()
    original = (FOLDER / "main.tf").read_text().splitlines()
    fixed = target.read_text().splitlines()
    changed = [
        (number + 1, before.strip(), after.strip())
        for number, (before, after) in enumerate(zip(original, fixed, strict=True))
        if before != after
    ]
    assert changed == [
        (7, 'type = "LoadBalancer"', 'type = "ClusterIP"'),
        (32, "host_network = true", "host_network = false"),
        (37, "privileged = true", "privileged = false"),
    ]
    assert not [f for f in run([target], select=["AIS103", "AIS107", "AIS201"]).findings]  # re-parsed: clean


def test_suppression_comment_in_terraform_covers_a_kubernetes_finding(tmp_path):
    text = (
        (FOLDER / "main.tf")
        .read_text()
        .replace(
            "        host_network = true",
            "        host_network = true # aiiac:ignore AIS107 -- the DCGM exporter needs the node network",
        )
    )
    (tmp_path / "main.tf").write_text(text)
    analysis = run([tmp_path], select=["AIS107"])
    assert not analysis.findings and analysis.suppressed == 1
