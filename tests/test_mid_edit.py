"""Mid-edit resilience: a file broken while the user types reports its error where it is, no
rule runs on what did not parse, and in the editor what was found in the last version that
parsed stays, marked as such, until the file parses again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiiac_ls.engine.core import KEPT_NOTE
from aiiac_ls.formats.hcl.syntax import unterminated_string
from aiiac_ls.workspace import Workspace, unit_of

E2E = Path(__file__).resolve().parents[1] / "vscode-extension" / "test" / "e2e" / "workspace"
TF = """\
resource "aws_s3_bucket_acl" "a" {
  bucket = "acme-models"
  acl    = "public-read"
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_s3_bucket_acl" "b" {
  bucket = "acme-models"
  acl    = "public-read"
}
"""


def _summary(analysis):
    findings = sorted(
        (Path(f.file).name, f.rule, f.span.start_line, f.message.endswith(KEPT_NOTE)) for f in analysis.findings
    )
    problems = sorted(
        (Path(p.file).name, p.kind, p.span.start_line if p.span else None, p.message) for p in analysis.problems
    )
    return findings, problems


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('a = "open\nb = 1\n', (0, 4)),
        ('a = "x ${var.y == "z" ? 1 : 2} and open\n', (0, 4)),
        ('a = "closed" # a comment with a " quote\nb = "open\n', (1, 4)),
        ('a = <<EOT\nnot a "string\nEOT\nb = "é open\n', (3, 4)),
        ('/* a " in a comment\n */\nb = "ok"\n', None),
        ('a = "escaped \\" still open\n', (0, 4)),
        ('a = "${join(",", [\n  "x",\n])}"\n', None),  # an interpolation spans lines
    ],
)
def test_unterminated_string_finds_the_quote_left_open(text, where):
    assert unterminated_string(text) == where


def test_a_broken_tf_reports_the_error_where_it_is_and_no_rule_reads_past_it(tmp_path):
    (tmp_path / "main.tf").write_text(TF.replace('"acme-logs"', '"acme-logs'))
    workspace = Workspace({})
    analysis = workspace.check([str(tmp_path)])
    findings, problems = _summary(analysis)
    assert findings == [("main.tf", "AIS402", 2, False)]  # the block before the error only
    assert problems == [
        ("main.tf", "syntax", 6, 'syntax error: unterminated string (a `"` opened here is not closed on its line)')
    ]
    [problem] = analysis.problems
    assert (problem.span.start_col, problem.span.end_col) == (11, 12)


def test_the_editor_keeps_a_broken_tf_files_last_good_analysis_marked(tmp_path):
    path = str(tmp_path / "main.tf")
    (tmp_path / "main.tf").write_text(TF)
    workspace = Workspace({})
    unit = unit_of(path)
    workspace.open(path, TF)
    good, _ = _summary(workspace.analyse(unit))
    assert [(rule, line) for _, rule, line, _ in good if rule == "AIS402"] == [("AIS402", 2), ("AIS402", 11)]
    workspace.open(path, TF.replace('"acme-logs"', '"acme-logs'))
    broken, problems = _summary(workspace.analyse(unit))
    assert broken == [(name, rule, line, True) for name, rule, line, _ in good]
    assert [(p[1], p[2]) for p in problems] == [("syntax", 6)]
    workspace.open(path, TF.replace('"public-read"\n}\n', '"private"\n}\n', 1))
    fixed, problems = _summary(workspace.analyse(unit))
    assert [(rule, line, kept) for _, rule, line, kept in fixed if rule == "AIS402"] == [("AIS402", 11, False)]
    assert problems == []


def test_kept_findings_past_the_end_of_the_broken_text_stay_inside_the_document(tmp_path):
    """The user cuts the file short and leaves a quote open: the last bucket ACL's finding is kept
    from the version that parsed (line 11), past the end of what is in the editor now; its
    diagnostic is placed at the end of the document, not outside it."""
    from aiiac_ls.lsp.positions import lsp_lines
    from aiiac_ls.lsp.server import create_server

    ls = create_server()
    try:
        path = str(tmp_path / "main.tf")
        (tmp_path / "main.tf").write_text(TF)
        unit = unit_of(path)
        ls.model.open(path, TF)
        ls.diagnostics_for(path, ls.model.analyse(unit))
        broken = TF.split('resource "aws_s3_bucket" "logs"')[0] + 'resource "x" "y" {\n  a = "open\n'
        ls.model.open(path, broken)
        analysis = ls.model.analyse(unit)
        assert [(f.rule, f.span.start_line) for f in analysis.findings if f.rule == "AIS402"] == [
            ("AIS402", 2),
            ("AIS402", 11),
        ]
        lines = lsp_lines(broken)
        assert len(lines) == 8
        ranges = [
            ((d.range.start.line, d.range.start.character), (d.range.end.line, d.range.end.character))
            for d in ls.diagnostics_for(path, analysis)
            if d.code == "AIS402"
        ]
        assert ranges == [((2, 2), (2, 24)), ((7, 0), (7, 0))]  # the second at the end: line 7 is empty
    finally:
        ls.executor.shutdown(wait=False)


def test_the_editor_keeps_the_last_good_render_when_values_or_a_template_break(tmp_path):
    shutil.copytree(E2E / "chart", tmp_path / "chart")
    values, template = tmp_path / "chart" / "values.yaml", tmp_path / "chart" / "templates" / "serving.yaml"
    workspace = Workspace({})
    unit = unit_of(str(values))
    workspace.open(str(values), values.read_text())
    good, _ = _summary(workspace.analyse(unit))
    assert ("values.yaml", "AIS201", 4, False) in good
    # `port: [8000` mid-edit: no half-values render (it would invent missing securityContext findings)
    workspace.open(str(values), values.read_text().replace("port: 8000", "port: [8000"))
    broken, problems = _summary(workspace.analyse(unit))
    assert broken == [(name, rule, line, True) for name, rule, line, _ in good]
    assert [(p[0], p[1], p[2]) for p in problems] == [("values.yaml", "syntax", 6)]
    # values whole again, a template broken: still the last good render (not the broken-values one)
    workspace.open(str(values), values.read_text())
    workspace.open(str(template), template.read_text().replace("{{ .Values.service.type }}", "{{ .Values.service.type"))
    broken, problems = _summary(workspace.analyse(unit))
    assert [(n, r, line) for n, r, line, _ in broken] == [(n, r, line) for n, r, line, _ in good]
    assert [kept for n, _, _, kept in broken if n == "serving.yaml"] == [True] * 5
    assert [(p[0], p[1]) for p in problems] == [("serving.yaml", "syntax")]
    workspace.open(str(template), template.read_text())
    again, problems = _summary(workspace.analyse(unit))
    assert again == good and problems == []
