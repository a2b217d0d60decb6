"""What a one-shot `--check` keeps from the cyclic garbage collector (`Engine.batch`): parsed
YAML is frozen as it is made, which is only free of leaks while YAML parsing, and checking the
objects it makes, form no reference cycles."""

from __future__ import annotations

import gc
import textwrap
from pathlib import Path

from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

WORKLOADS = Path(__file__).resolve().parent / "fixtures" / "workloads"

# anchors, aliases, merge keys, block and flow styles, a List, a CRD, a broken document
SHAPES = textwrap.dedent("""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: base}
    data:
      script: |
        echo one
        echo two
    ---
    apiVersion: v1
    kind: List
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata: {name: server, labels: &labels {app: server}}
        spec:
          template:
            metadata:
              labels:
                <<: *labels
                tier: serving
            spec:
              containers:
                - name: server
                  image: vllm/vllm-openai:v0.6.3
                  env: [{name: HF_TOKEN, value: hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789}]
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: models.example.com}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: broken
    """)


def _cyclic_garbage(analyse) -> list[str]:
    """The types of the objects that only the cyclic collector would free after `analyse()`."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = analyse()
        assert result.findings
        del result
        gc.collect()
        return sorted({type(item).__qualname__ for item in gc.garbage})
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


def test_checking_plain_kubernetes_yaml_forms_no_reference_cycles(tmp_path):
    (tmp_path / "shapes.yaml").write_text(SHAPES)
    Engine(Config()).analyse_paths([str(WORKLOADS), str(tmp_path)])  # (imports and first-use caches)
    assert _cyclic_garbage(lambda: Engine(Config()).analyse_paths([str(WORKLOADS), str(tmp_path)])) == []


def test_check_gives_back_what_it_froze(tmp_path, monkeypatch, capsys):
    (tmp_path / "shapes.yaml").write_text(SHAPES)
    monkeypatch.chdir(tmp_path)
    frozen: list[int] = []
    real_freeze = gc.freeze

    def freeze() -> None:
        real_freeze()
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(gc, "freeze", freeze)
    assert main(["--check", ".", "-j", "1"]) == 2  # (findings, and a document that does not parse)
    assert frozen and frozen[-1] > 0  # the parsed YAML was kept from the collector...
    assert gc.get_freeze_count() == 0  # ...until the report was written
    assert gc.isenabled()


def test_a_report_keeps_only_the_titles_of_fixes():
    """`--check` without `--fix` (`fix_edits=False`): the same findings and fix titles, no edits."""
    example = Path(__file__).resolve().parents[1] / "examples" / "ml-platform"

    def fixes(analysis) -> list:
        return [(f.rule, f.span, f.fix and (f.fix.title, f.fix.unsafe)) for f in analysis.findings]

    full = Engine(Config()).analyse_paths([str(example), str(WORKLOADS)])
    titles = Engine(Config(), fix_edits=False).analyse_paths([str(example), str(WORKLOADS)])
    assert fixes(titles) == fixes(full)
    assert sum(1 for f in full.findings if f.fix and f.fix.edits) > 20
    assert not any(f.fix.edits or f.fix.fallback for f in titles.findings if f.fix)
    made = {(f.fix.title, f.fix.unsafe): f.fix for f in titles.findings if f.fix}
    assert all(f.fix is made[f.fix.title, f.fix.unsafe] for f in titles.findings if f.fix)  # one object per title
