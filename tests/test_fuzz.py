"""Property-based tests: random edit streams against the real server, random text into the parsers.

The long run is `make fuzz` (tests/lsp_fuzz.py, 10,000 edits); these keep every `make test`
exercising the same invariants on a few hundred edits.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine
from aiiac_ls.formats.helm.chart import RenderOptions, render_chart
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import lsp_fuzz

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ml-platform"
CHART = Path(__file__).resolve().parent / "fixtures" / "charts" / "features"

SCALE = int(os.environ.get("AIIAC_FUZZ_SCALE", "1"))  # `make fuzz` runs 40 times as many examples

fragment = st.one_of(st.sampled_from(lsp_fuzz.FRAGMENTS), st.text(max_size=6))
# (where, as a fraction of the text; how many characters to delete; what to insert)
edit = st.tuples(st.floats(0, 1), st.integers(0, 12), st.lists(fragment, max_size=4).map("".join))


@pytest.fixture(scope="module")
def session():
    with tempfile.TemporaryDirectory() as scratch:
        session = lsp_fuzz.Session(Path(scratch))
        yield session
        assert session.close() == 0, "the server did not exit cleanly after the fuzzing"


@settings(max_examples=25 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document_index=st.integers(0, 3), edits=st.lists(edit, min_size=1, max_size=12), seed=st.integers(0, 9))
def test_random_edit_streams_keep_the_server_in_sync(session, document_index, edits, seed):
    session.reset()
    document = session.documents[document_index]
    rng = random.Random(seed)
    for where, delete, insert in edits:
        start = lsp_fuzz._boundary(document.text, int(where * len(document.text)))
        end = lsp_fuzz._boundary(document.text, min(len(document.text), start + delete))
        session.edit(document, start, end, insert, rng)


def _inside(text: str, span) -> bool:
    lines = lsp_fuzz.LINE_BREAK.split(text)
    for line, col in ((span.start_line, span.start_col), (span.end_line, span.end_col)):
        if not (0 <= line < len(lines) and 0 <= col <= len(lines[line])):
            return False
    return (span.start_line, span.start_col) <= (span.end_line, span.end_col)


def _mutate(text: str, edits) -> str:
    for where, delete, insert in edits:
        start = int(where * len(text))
        text = text[:start] + insert + text[start + delete :]
    return text


def _check_all_spans(analysis, texts: dict[str, str]) -> None:
    for item in [*analysis.findings, *analysis.problems]:
        span = getattr(item, "span", None)
        if span is not None and span.file in texts:
            assert _inside(texts[span.file], span), (item, span)
    assert not [p for p in analysis.problems if p.kind == "internal"], analysis.problems


@settings(max_examples=150 * SCALE, deadline=None)
@given(edits=st.lists(edit, min_size=1, max_size=8))
def test_mutated_terraform_and_yaml_never_break_the_engine(edits):
    with tempfile.TemporaryDirectory() as scratch:
        texts = {}
        for relative in ("infra/main.tf", "infra/variables.tf", "k8s/triton.yaml"):
            target = Path(scratch) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            text = _mutate((EXAMPLE / relative).read_text(encoding="utf-8"), edits)
            target.write_text(text, encoding="utf-8", newline="")
            texts[str(target)] = text
        analysis = Engine(Config(), absolute_paths=True).analyse_paths([scratch])
        _check_all_spans(analysis, texts)


@settings(max_examples=100 * SCALE, deadline=None)
@given(template_edits=st.lists(edit, min_size=1, max_size=6), values_edits=st.lists(edit, max_size=4))
def test_mutated_chart_templates_and_values_never_break_the_renderer(template_edits, values_edits):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "chart"
        import shutil

        shutil.copytree(CHART, root)
        texts = {}
        for relative, edits in (("templates/deployment.yaml", template_edits), ("values.yaml", values_edits)):
            text = _mutate((root / relative).read_text(encoding="utf-8"), edits)
            (root / relative).write_text(text, encoding="utf-8", newline="")
            texts[os.path.abspath(root / relative)] = text
        render = render_chart(str(root), RenderOptions(), display=os.path.abspath)
        for problem in render.problems:
            if problem.span is not None and problem.span.file in texts:
                assert _inside(texts[problem.span.file], problem.span), problem
        analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(root)])
        _check_all_spans(analysis, texts)
