"""Hostile and broken input: a clear problem naming file and cause, bounded work, the rest analysed."""

from __future__ import annotations

import os
import textwrap

import pytest

from .helpers import run

GOOD_POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: ok}
    spec:
      containers:
        - {name: a, image: "a:latest"}
    """)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.yaml").write_text(GOOD_POD)
    return tmp_path


def _problems(analysis):
    return {p.file: p for p in analysis.problems}


def test_yaml_alias_bomb_is_bounded(workdir):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    (workdir / "bomb.yaml").write_text("\n".join(lines) + "\n")
    analysis = run(["."], select=["AIS110"])
    problem = _problems(analysis)["bomb.yaml"]
    assert "alias bomb" in problem.message
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_deeply_nested_yaml_and_json_flow(workdir):
    (workdir / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    (workdir / "deep_block.yaml").write_text("".join(" " * i + f"k{i}:\n" for i in range(400)) + " " * 400 + "v: 1\n")
    analysis = run(["."], select=["AIS110"])
    problems = _problems(analysis)
    assert "too deeply" in problems["deep.yaml"].message or "deeper than" in problems["deep.yaml"].message
    assert "deeper than 200 levels" in problems["deep_block.yaml"].message
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_deeply_nested_hcl(workdir):
    (workdir / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "acme-models"\n  x = '
                                     + "[" * 3000 + "]" * 3000 + "\n}\n")
    analysis = run(["."], select=["AIS401"])
    assert [f.rule for f in analysis.findings] == ["AIS401"]


def test_binary_non_utf8_empty_and_huge_files(workdir):
    (workdir / "bin.tf").write_bytes(b"\x7fELF\x00\x00\x01")
    (workdir / "latin1.yaml").write_bytes("a: 1\nname: caf\xe9\n".encode("latin-1"))
    (workdir / "empty.yaml").write_text("")
    (workdir / "empty.tf").write_text("")
    with open(workdir / "huge.yaml", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    analysis = run(["."], select=["AIS110"])
    problems = _problems(analysis)
    assert problems["bin.tf"].message == "binary file (contains NUL bytes); not analysed"
    assert problems["latin1.yaml"].message == ("not valid UTF-8 (byte 0xe9 at line 2, column 10); "
                                               "save the file as UTF-8")
    assert (problems["latin1.yaml"].span.start_line, problems["latin1.yaml"].span.start_col) == (1, 9)
    assert problems["huge.yaml"].message == "file too large (50.0 MiB; the limit is 10 MiB); not analysed"
    assert "empty.yaml" not in problems and "empty.tf" not in problems
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_one_broken_document_does_not_hide_the_others(workdir):
    (workdir / "multi.yaml").write_text(GOOD_POD + "---\nkind: [broken\n---\n" + GOOD_POD.replace("ok}", "ok2}"))
    analysis = run(["multi.yaml"], select=["AIS110"])
    [problem] = analysis.problems
    assert problem.kind == "syntax" and problem.span.start_line == 8
    assert [f.span.start_line for f in analysis.findings] == [5, 14]


def test_go_template_markers_in_plain_yaml(workdir):
    # an Argo-style parameter in a plain manifest is just a string
    (workdir / "argo.yaml").write_text(GOOD_POD.replace('"a:latest"', '"acme/{{inputs.parameters.tag}}:latest"'))
    analysis = run(["argo.yaml"], select=["AIS110"])
    assert analysis.problems == [] and [f.rule for f in analysis.findings] == ["AIS110"]
    # a raw Helm template outside a chart: a syntax error that says what it probably is
    (workdir / "helmish.yaml").write_text("spec:\n  {{- if .Values.x }}\n  a: 1\n  {{- end }}\n")
    [problem] = run(["helmish.yaml"]).problems
    assert "template markers" in problem.message


def test_chart_in_a_scanned_tree_is_rendered_not_read_as_plain_yaml(workdir):
    chart = workdir / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: {tag: latest}\n")
    (chart / "templates" / "pod.yaml").write_text(GOOD_POD.replace('"a:latest"', '"a:{{ .Values.image.tag }}"'))
    analysis = run(["."], select=["AIS110"])
    assert analysis.problems == []
    assert sorted((f.file, f.span.start_line) for f in analysis.findings) == [
        (os.path.join("chart", "templates", "pod.yaml"), 5), ("ok.yaml", 5)]


def test_symlink_loops_do_not_hang(workdir):
    (workdir / "loop").mkdir()
    os.symlink("..", workdir / "loop" / "up")
    analysis = run(["."], select=["AIS110"])
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_rule_exception_becomes_internal_problem(workdir, monkeypatch):
    from aiiac_ls.rules import get_rule

    rule = get_rule("AIS110")

    def explode(resource, ctx):
        raise ValueError("boom")

    monkeypatch.setattr(rule, "check", explode)
    analysis = run(["ok.yaml"], select=["AIS110", "AIS105"])
    [problem] = analysis.problems
    assert problem.kind == "internal" and "AIS110" in problem.message and "boom" in problem.message
    assert {f.rule for f in analysis.findings} == {"AIS105"}
