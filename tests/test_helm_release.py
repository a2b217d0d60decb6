"""helm_release with a chart in the repository: rendered with the values Terraform passes."""

from __future__ import annotations

import shutil

from aiiac_ls.cli import main

from .helpers import FIXTURES, run

FOLDER = FIXTURES / "helm_release"


def _where(analysis):
    return [
        (f.rule, f.file.split("helm_release/")[-1], f.span.start_line + 1, f.span.start_col + 1, f.resource)
        for f in analysis.findings
    ]


def test_set_and_yamlencode_values_are_reported_on_the_terraform_lines():
    analysis = run([FOLDER / "sets"], select=["AIS201", "AIS107"])
    assert not analysis.problems
    assert _where(analysis) == [
        ("AIS107", "sets/main.tf", 7, 19, "Deployment/llm"),  # hostNetwork = true inside yamlencode({...})
        ("AIS201", "sets/main.tf", 12, 13, "Service/llm-srv"),  # set { value = "LoadBalancer" }, release name llm
    ]


def test_values_files_and_heredocs_keep_their_lines_and_remote_charts_are_not_fetched():
    analysis = run([FOLDER / "files"], select=["AIS201", "AIS107"])
    assert not analysis.problems
    assert _where(analysis) == [
        ("AIS107", "files/main.tf", 7, 5, "Deployment/llm"),  # the YAML line inside the heredoc
        ("AIS201", "files/values-prod.yaml", 2, 9, "Service/llm-srv"),  # values = [file("values-prod.yaml")]
    ]


def test_the_chart_defaults_alone_are_clean():
    analysis = run([FOLDER / "charts" / "srv"], select=["AIS201", "AIS107"])
    assert not analysis.findings


def test_fixes_edit_the_terraform_values(tmp_path, capsys):
    shutil.copytree(FOLDER, tmp_path / "helm_release")
    target = tmp_path / "helm_release" / "sets"
    assert main(["--check", str(target), "--fix", "--unsafe-fixes", "--select", "AIS201,AIS107"]) == 0
    capsys.readouterr()
    text = (target / "main.tf").read_text()
    assert "    hostNetwork = false\n" in text and '    value = "ClusterIP"\n' in text
    assert (
        text.replace("false", "true").replace("ClusterIP", "LoadBalancer") == (FOLDER / "sets" / "main.tf").read_text()
    )


def test_scanned_through_a_symlink_the_chart_is_reported_once(tmp_path):
    """The chart is found both as a folder and through the release: with the scan path going
    through a symlink, both must name its files the same way (findings were reported twice)."""
    (tmp_path / "link").symlink_to(FOLDER, target_is_directory=True)
    analysis = run([tmp_path / "link"], select=["AIS201", "AIS107"])
    assert sorted((f.rule, f.file.removeprefix(str(tmp_path / "link") + "/")) for f in analysis.findings) == [
        ("AIS107", "files/main.tf"),
        ("AIS107", "sets/main.tf"),
        ("AIS201", "files/values-prod.yaml"),
        ("AIS201", "sets/main.tf"),
    ]  # once each, never the resolved path
