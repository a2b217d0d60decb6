"""The whole real corpus (../shared/corpus): no internal error, no file silently left out, the
same findings in one process and two, and the language server scanning it as a workspace."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine, chart_root

from . import lsp_fuzz
from .helpers import CORPUS, record_splits

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS}")

IAC_SUFFIXES = (".tf", ".tfvars", ".yaml", ".yml")


def _infrastructure_files(root: Path) -> set[str]:
    """Every file the scan must analyse or name: Terraform, YAML, and a chart's .tpl helpers."""
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".terraform")]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(IAC_SUFFIXES) or (name.endswith(".tpl") and chart_root(path) is not None):
                found.add(os.path.realpath(path))
    return found


def test_every_corpus_file_is_analysed_or_named_with_a_reason():
    analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(CORPUS)])
    assert [p for p in analysis.problems if p.kind == "internal"] == []
    accounted = {os.path.realpath(path.split("!/")[0]) for path in analysis.sources}
    accounted |= {os.path.realpath(problem.file) for problem in analysis.problems}
    expected = _infrastructure_files(CORPUS)
    assert len(expected) > 1000
    assert sorted(expected - accounted) == []
    # nothing fails the scan; the one eks-blueprints template that real helm renders to invalid
    # YAML as well (without its --set values) is a warning
    assert [p for p in analysis.problems if p.kind not in ("warning", "skipped")] == []
    warnings = {(os.path.relpath(p.file, CORPUS), p.message.split(":")[0]) for p in analysis.problems}
    assert (
        "terraform-aws-eks-blueprints/patterns/bottlerocket/karpenter-resources/templates/nodepool.yaml",
        "rendered template is not valid YAML",
    ) in warnings


def test_two_processes_find_what_one_finds_on_the_corpus(capsys, monkeypatch):
    monkeypatch.chdir(CORPUS)
    splits = record_splits(monkeypatch)
    reports = []
    for jobs in ("1", "2"):
        assert main(["--check", ".", "--format", "json", "-j", jobs]) == 1  # findings, and no failure
        reports.append(json.loads(capsys.readouterr().out))
    assert splits == [True]  # -j 2 really ran the Terraform in the worker
    assert reports[0] == reports[1]
    assert len(reports[0]["findings"]) > 2000


def test_the_server_scans_the_corpus_as_a_workspace(capsys):
    """ "Scan workspace" finds what `--check` finds: the same engine over the same folders."""
    with tempfile.TemporaryDirectory() as scratch:
        client = lsp_fuzz.Client(lsp_fuzz.server_command(), Path(scratch), root=CORPUS)
        summary = client.request(
            "workspace/executeCommand", {"command": "aiiac.scanWorkspace", "arguments": []}, timeout=300
        )
        assert client.close() == 0
    assert summary["internal"] == 0
    main(["--check", str(CORPUS), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert summary["findings"] == len(report["findings"]) > 2000
    assert summary["files"] > 1000


SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "corpus-findings.txt"


def _snapshot_lines(report: dict) -> list[str]:
    """One line per finding and problem of the JSON report, with its exact place and words."""
    lines = []
    for finding in report["findings"]:
        where = f"{finding['file']}:{finding['line']}:{finding['column']}-{finding['end_line']}:{finding['end_column']}"
        lines.append(
            f"{where} {finding['rule']} {finding['severity']} {finding['resource']} "
            f"fix={finding['fixable']} | {finding['message']}"
        )
    for problem in report["errors"]:
        lines.append(f"{problem['file']}:{problem.get('line', '')} {problem['kind']} | {problem['message']}")
    return lines


def test_the_corpus_findings_are_those_of_the_snapshot(capsys, monkeypatch):
    """Every finding and problem on the whole corpus, compared line by line with the reviewed
    snapshot: a restructuring must not move, add or lose one. After a deliberate change to the
    rules, regenerate with AIIAC_UPDATE_SNAPSHOTS=1 and review the diff."""
    monkeypatch.chdir(CORPUS)
    main(["--check", ".", "--format", "json", "-j", "1"])
    lines = _snapshot_lines(json.loads(capsys.readouterr().out))
    if os.environ.get("AIIAC_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    missing, extra = sorted(set(expected) - set(lines)), sorted(set(lines) - set(expected))
    assert (missing[:20], extra[:20]) == ([], []), f"{len(missing)} findings lost, {len(extra)} new"
    assert lines == expected  # the same order, and repeats
