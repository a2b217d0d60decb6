"""Documentation generated from the rule registry must be committed up to date."""

from aiiac_ls.docs_gen import main
from aiiac_ls.rules import all_rules


def test_rule_docs_and_readme_table_are_current():
    assert main(["--check"]) == 0, "run `make docs` and commit the result"


def test_every_rule_explains_itself():
    for rule in all_rules():
        assert rule.summary and rule.rationale and rule.remediation, rule.id
        assert rule.section("Example") or rule.id.startswith("AIS00"), rule.id
