"""Argo CD Applications and Flux HelmReleases of charts in the repository: rendered with the
values they give, findings on the release's lines, fixes there too."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

from .helpers import FIXTURES

GITOPS = FIXTURES / "gitops"


def _where(analysis, root: Path) -> list[tuple[str, str, int, int]]:
    return sorted(
        (f.rule, Path(f.file).relative_to(root).as_posix(), f.span.start_line + 1, f.span.start_col + 1)
        for f in analysis.findings
    )


def test_each_values_form_is_blamed_for_what_it_sets():
    analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(GITOPS)])
    assert not analysis.problems
    assert _where(analysis, GITOPS) == [
        ("AIS006", "argo/remote.yaml", 10, 12),  # a chart from a Helm repository: named, not fetched
        ("AIS107", "argo/values-object.yaml", 13, 24),  # helm.valuesObject: hostNetwork: true
        ("AIS201", "argo/appset.yaml", 13, 23),  # an ApplicationSet list element's `exposure: LoadBalancer`
        ("AIS201", "argo/values-object.yaml", 16, 20),  # helm.parameters: service.type = NodePort
        ("AIS201", "argo/values-string.yaml", 15, 17),  # helm.values (a block string): type: LoadBalancer
        ("AIS201", "flux/release.yaml", 38, 13),  # valuesFrom ConfigMap; spec.values sets the port
    ]
    by_file = {(f.rule, Path(f.file).name): f for f in analysis.findings}
    flux = by_file[("AIS201", "release.yaml")]
    assert flux.resource == "Service/serving-llm" and "port 8080" in flux.message  # targetNamespace-name
    string = by_file[("AIS201", "values-string.yaml")]
    assert string.resource == "Service/llm"  # helm.releaseName
    # the chart's defaults alone are clean: nothing is blamed on charts/
    assert not [f for f in analysis.findings if "charts/" in f.file]


def test_fixes_edit_the_release(tmp_path, capsys):
    shutil.copytree(GITOPS, tmp_path / "gitops")
    root = tmp_path / "gitops"
    before = {p: p.read_text() for p in root.rglob("*") if p.is_file()}
    assert main(["--check", str(root), "--fix", "--unsafe-fixes", "--select", "AIS201,AIS107"]) == 0
    capsys.readouterr()
    changed = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.read_text() != before[p]}
    assert changed == {"argo/appset.yaml", "argo/values-string.yaml", "argo/values-object.yaml", "flux/release.yaml"}
    assert "            exposure: ClusterIP\n" in (root / "argo/appset.yaml").read_text()
    assert "          type: ClusterIP\n" in (root / "argo/values-string.yaml").read_text()
    assert "          hostNetwork: false\n" in (root / "argo/values-object.yaml").read_text()
    assert "      type: ClusterIP\n" in (root / "flux/release.yaml").read_text()
    assert not Engine(Config(select=("AIS201", "AIS107"))).analyse_paths([str(root)]).findings
