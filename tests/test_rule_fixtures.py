"""Every rule against its bad/ and good/ fixtures: exactly the annotated findings, no others."""

from __future__ import annotations

import os

import pytest
from aiiac_ls.rules import all_rules

from .helpers import FIXTURES, expectations, run

RULES = [rule.id for rule in all_rules()]


@pytest.mark.parametrize("rule_id", RULES)
def test_every_rule_has_fixtures(rule_id):
    folder = FIXTURES / "rules" / rule_id
    assert (folder / "bad").is_dir() and (folder / "good").is_dir(), f"{rule_id} needs bad/ and good/ fixtures"
    assert expectations(folder / "bad"), f"{rule_id}: bad/ fixtures annotate no finding"
    assert not expectations(folder / "good"), f"{rule_id}: good/ fixtures must not expect findings"


def _run_rule(rule_id: str, folder):
    """The rule alone on a fixture folder, with the rule's own `.aiiac.toml` when it has one
    (whose `select` may add the rules a suppression fixture's comments silence)."""
    settings = FIXTURES / "rules" / rule_id / ".aiiac.toml"
    if not settings.exists():
        return run([folder], select=[rule_id])
    from aiiac_ls.config import load_config_file
    from aiiac_ls.engine import Engine

    config = load_config_file(str(settings))
    return Engine(config.merged(select=[rule_id, *config.select])).analyse_paths([str(folder)])


@pytest.mark.parametrize("rule_id", RULES)
@pytest.mark.parametrize("kind", ["bad", "good"])
def test_fixture_findings_match_annotations(rule_id, kind):
    folder = FIXTURES / "rules" / rule_id / kind
    analysis = _run_rule(rule_id, folder)
    assert not [p for p in analysis.problems if p.kind != "skipped"], analysis.problems
    expected = expectations(folder)
    actual_lines = {(f.file, f.rule, f.span.start_line + 1) for f in analysis.findings}
    expected_lines = {(file, rule, line) for file, rule, line, _ in expected}
    assert actual_lines == expected_lines
    columns = {(f.file, f.rule, f.span.start_line + 1): f.span.start_col + 1 for f in analysis.findings}
    for file, rule, line, col in expected:
        if col is not None:
            assert columns[(file, rule, line)] == col, f"{file}:{line} {rule}"


def test_fixture_paths_are_relative_to_cwd():
    analysis = run([FIXTURES / "rules" / "AIS103" / "bad"], select=["AIS103"])
    assert all(not os.path.isabs(f.file) for f in analysis.findings)
