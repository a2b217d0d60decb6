"""Hostile and broken input: a clear problem naming file and cause, bounded work, the rest analysed."""

from __future__ import annotations

import os
import textwrap

import pytest
from aiiac_ls.engine import Engine

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
    (workdir / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  bucket = "acme-models"\n  x = ' + "[" * 3000 + "]" * 3000 + "\n}\n"
    )
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
    assert problems["latin1.yaml"].message == (
        "not valid UTF-8 (byte 0xe9 at line 2, column 10); save the file as UTF-8"
    )
    assert (problems["latin1.yaml"].span.start_line, problems["latin1.yaml"].span.start_col) == (1, 9)
    assert problems["huge.yaml"].message == "file too large (50.0 MiB; the limit `max-file-mb` is 10 MiB); not analysed"
    assert "empty.yaml" not in problems and "empty.tf" not in problems
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_one_broken_document_does_not_hide_the_others(workdir):
    (workdir / "multi.yaml").write_text(GOOD_POD + "---\nkind: [broken\n---\n" + GOOD_POD.replace("ok}", "ok2}"))
    analysis = run(["multi.yaml"], select=["AIS110"])
    [problem] = analysis.problems
    # at the end of the unclosed `kind: [broken` line
    assert problem.kind == "syntax" and (problem.span.start_line, problem.span.start_col) == (7, 13)
    assert [f.span.start_line for f in analysis.findings] == [5, 14]


def test_documents_are_split_the_same_whatever_the_line_breaks():
    """Texts with only \\n are cut at the separator lines directly; texts with \\r go line by line.
    Both must give the same documents, at the same lines: random streams of separators
    (`---`, `...`, `--- {a: 1}`, `--- # note`, look-alikes), content and blank lines."""
    import random

    from aiiac_ls.formats.yaml import split_documents

    pieces = [
        "---",
        "...",
        "--- {a: 1}",
        "--- # note",
        "---x",
        "a: 1",
        "",
        "  ---",
        "---\t",
        "--- |",
        "... x",
        "b: \x85",
    ]
    rng = random.Random(11)
    for _ in range(20000):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 7))) + rng.choice(["", "\n"])
        assert list(split_documents(text)) == list(split_documents(text.replace("\n", "\r\n"))), repr(text)


def test_go_template_markers_in_plain_yaml(workdir):
    # an Argo-style parameter in a plain manifest is just a string
    (workdir / "argo.yaml").write_text(GOOD_POD.replace('"a:latest"', '"acme/{{inputs.parameters.tag}}:latest"'))
    analysis = run(["argo.yaml"], select=["AIS110"])
    assert analysis.problems == [] and [f.rule for f in analysis.findings] == ["AIS110"]
    # a raw template outside a chart (Helm-like, Terraform templatefile(), ClusterLoader2): named and
    # left alone, not a syntax error of the scan
    (workdir / "helmish.yaml").write_text("spec:\n  {{- if .Values.x }}\n  a: 1\n  {{- end }}\n")
    [problem] = run(["helmish.yaml"]).problems
    assert (problem.kind, problem.message) == (
        "skipped",
        "a template (`{{ }}` or `${}` placeholders), not YAML: not analysed",
    )


def test_chart_in_a_scanned_tree_is_rendered_not_read_as_plain_yaml(workdir):
    chart = workdir / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: {tag: latest}\n")
    (chart / "templates" / "pod.yaml").write_text(GOOD_POD.replace('"a:latest"', '"a:{{ .Values.image.tag }}"'))
    analysis = run(["."], select=["AIS110"])
    assert analysis.problems == []
    assert sorted((f.file, f.span.start_line) for f in analysis.findings) == [
        (os.path.join("chart", "values.yaml"), 0),  # the tag part of "a:{{ .Values.image.tag }}"
        ("ok.yaml", 5),
    ]


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


def test_limits_are_configurable_and_named_in_the_messages(workdir):
    from aiiac_ls.config import load_config

    (workdir / ".aiiac.toml").write_text(
        textwrap.dedent("""\
        [limits]
        max-file-mb = 0.001
        yaml-max-nodes = 20
        """)
    )
    (workdir / "big.yaml").write_text("a: 1\n" * 300)  # 1,500 bytes
    (workdir / "many.yaml").write_text("a: [" + ", ".join(["1"] * 30) + "]\n")
    analysis = Engine(load_config(["."])).analyse_paths(["."])
    problems = _problems(analysis)
    assert problems["big.yaml"].message == (
        "file too large (0.0 MiB; the limit `max-file-mb` is 0.001 MiB); not analysed"
    )
    assert problems["many.yaml"].message == (
        "YAML document expands to more than 20 nodes (alias bomb?); not analysed (limit `yaml-max-nodes`)"
    )
    assert "ok.yaml" in analysis.sources


@pytest.mark.parametrize(
    "table, message",
    [
        ("max-file = 3", "unknown key `max-file` in limits"),
        ("yaml-max-nodes = 0", "`yaml-max-nodes` must be a positive whole number"),
        ("yaml-max-nodes = 1.5", "`yaml-max-nodes` must be a positive whole number"),
        ('template-timeout-seconds = "10"', "`template-timeout-seconds` must be a positive number"),
    ],
)
def test_bad_limits_are_configuration_errors(workdir, table, message):
    from aiiac_ls.config import ConfigError, load_config

    (workdir / ".aiiac.toml").write_text(f"[limits]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(["."])
    assert message in str(raised.value)


def test_template_limits_from_config(workdir):
    from aiiac_ls.config import load_config

    chart = workdir / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "loop.yaml").write_text("{{ range until 50 }}x{{ end }}\n")
    (workdir / ".aiiac.toml").write_text("[limits]\ntemplate-max-iterations = 10\n")
    [problem] = Engine(load_config(["."])).analyse_paths(["c"]).problems
    assert problem.message == "render error: more than 10 range iterations (limit `template-max-iterations`)"
    assert (problem.file, problem.span.start_line, problem.span.start_col) == (
        os.path.join("c", "templates", "loop.yaml"),
        0,
        0,
    )


def test_fifo_is_reported_not_read(workdir):
    os.mkfifo(workdir / "pipe.yaml")  # opening it for reading would block for ever
    analysis = run(["."], select=["AIS110"])
    assert _problems(analysis)["pipe.yaml"].message == "not a regular file (a FIFO, socket or device); not analysed"
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_symlinks_are_reported_with_their_target_never_followed(workdir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text(GOOD_POD.replace("ok}", "outside}"))
    os.symlink(outside / "secret.yaml", workdir / "link.yaml")
    os.symlink(outside, workdir / "linked-folder")
    os.symlink(workdir / "ok.yaml", workdir / "again.yaml")
    analysis = run(["."], select=["AIS110"])
    problems = _problems(analysis)
    assert problems["link.yaml"].kind == "skipped"
    assert problems["link.yaml"].message == (
        f"symlink to {outside / 'secret.yaml'} (outside the scanned folders); not followed"
    )
    assert problems["linked-folder"].message == (
        f"symlinked folder to {outside} (outside the scanned folders); not followed"
    )
    assert problems["again.yaml"].message == "symlink to ok.yaml (inside the scan, read at its own path); not followed"
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_chart_files_left_out_are_named(workdir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "passwd").write_text("root:x:0:0\n")
    chart = workdir / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text(GOOD_POD + '---\n{{ .Files.Get "files/passwd" | quote }}\n')
    (chart / "files").mkdir()
    os.symlink(outside / "passwd", chart / "files" / "passwd")
    (chart / "templates" / "huge.yaml").write_text("# x\n" * 4_500_000)  # 17 MiB
    analysis = run(["."], select=["AIS110"])
    problems = _problems(analysis)
    passwd = problems[os.path.join("c", "files", "passwd")]
    assert (passwd.kind, passwd.message) == ("skipped", "chart file a symlink to outside the chart; not read")
    huge = problems[os.path.join("c", "templates", "huge.yaml")]
    assert (huge.kind, huge.message) == (
        "skipped",
        "chart file larger than 16 MiB (limit `chart-max-file-mb`); not read",
    )
    assert sorted(f.file for f in analysis.findings) == [os.path.join("c", "templates", "pod.yaml"), "ok.yaml"]
    assert not any("root:x" in source.text for source in analysis.sources.values())


def test_a_bug_on_one_file_is_an_internal_problem_not_a_crash(workdir, monkeypatch):
    from aiiac_ls.engine import loading as engine_module

    real = engine_module.parse_yaml
    (workdir / "trigger.yaml").write_text(GOOD_POD)

    def parse(source, limits):
        if source.path.endswith("trigger.yaml"):
            raise KeyError("parser bug")
        return real(source, limits)

    monkeypatch.setattr(engine_module, "parse_yaml", parse)
    analysis = run(["."], select=["AIS110"])
    problem = _problems(analysis)["trigger.yaml"]
    assert (problem.kind, problem.message) == (
        "internal",
        "internal error while reading the YAML: KeyError: 'parser bug' (please report this)",
    )
    assert [f.file for f in analysis.findings] == ["ok.yaml"]


def test_an_open_editor_buffer_obeys_the_size_limit(workdir):
    from aiiac_ls.workspace import Workspace, unit_of

    workspace = Workspace()
    huge = str(workdir / "huge.yaml")
    workspace.open(huge, "a: 1\n" * (3 * 1024 * 1024))  # 15 MiB typed or pasted into the editor
    analysis = workspace.analyse(unit_of(huge))
    problems = {os.path.basename(p.file): p.message for p in analysis.problems}
    assert problems == {"huge.yaml": "file too large (15.0 MiB; the limit `max-file-mb` is 10 MiB); not analysed"}
    assert [os.path.basename(f.file) for f in analysis.findings if f.rule == "AIS110"] == ["ok.yaml"]


def test_a_charts_data_is_not_linted_but_manifests_in_other_folders_are(workdir):
    chart = workdir / "repo"
    (chart / "templates").mkdir(parents=True)
    (chart / "files").mkdir()
    (chart / "deploy").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "files" / "broken.yaml").write_text("kind: [not, a, manifest\n")  # data read by .Files.Get
    (chart / "deploy" / "pod.yaml").write_text(GOOD_POD)  # the repository's own manifests, beside the chart
    analysis = run(["repo"], select=["AIS110"])
    assert analysis.problems == []
    assert [f.file for f in analysis.findings] == [os.path.join("repo", "deploy", "pod.yaml")]


def test_the_pure_python_yaml_parser_gives_the_same_findings_and_fixes(monkeypatch):
    """Without ruamel.yaml.clib (the server bundled in the VS Code extension, PyPy) the pure-Python
    parser is used: the same values, findings, positions and fix edits on every fixture. (The two
    parsers differ only where nothing lands: where a block collection ends, and where an empty
    value sits.)"""
    from pathlib import Path

    from aiiac_ls.engine import Engine
    from aiiac_ls.fixes import select_fixes
    from aiiac_ls.formats import yaml as yaml_format
    from aiiac_ls.formats.source import SourceFile

    def run():
        analysis = Engine().analyse_paths([str(Path(__file__).parent / "fixtures")])
        edits = select_fixes(analysis.findings, analysis.source, unsafe=True).edits
        documents, errors = yaml_format.parse_yaml(
            SourceFile("x.yaml", "a: 1\n---\nb: [oops\n---\nc: {x: !!int 3, y: 0x1f, z: yes, w: ~, v: '1'}\n")
        )
        return (
            sorted((f.rule, f.span, f.message) for f in analysis.findings),
            {path: repr(found) for path, found in edits.items()},
            [d.root.plain() for d in documents if d.root],
            [e.span for e in errors],
        )

    assert yaml_format._LOADER.Parser.__name__ == "CParser"
    with_c = run()
    monkeypatch.setattr(yaml_format, "_LOADER", yaml_format._make_loader(pure=True))
    assert yaml_format._LOADER.Parser.__name__ == "Parser"  # the pure-Python one
    pure = run()
    assert len(with_c[0]) > 500 and len(with_c[1]) > 50
    assert pure == with_c
    assert with_c[2] == [{"a": 1}, {"c": {"x": 3, "y": 31, "z": True, "w": None, "v": "1"}}]
