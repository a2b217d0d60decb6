"""Every rule mapped to the frameworks where they apply (OWASP Top 10 for LLM Applications 2025,
MITRE ATLAS, CIS Kubernetes Benchmark, NIST SP 800-53), shown everywhere a rule is described and
selectable by control."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from aiiac_ls.cli import main
from aiiac_ls.rules import COMPLIANCE_FRAMEWORKS, all_rules, get_rule, selector_rules

CONTROL = {
    "owasp-llm": re.compile(r"^LLM(0[1-9]|10)$"),
    "atlas": re.compile(r"^AML\.T\d{4}(\.\d{3})?$"),
    "cis-k8s": re.compile(r"^5\.\d+\.\d+$"),
    "nist-800-53": re.compile(r"^[A-Z]{2}-\d+$"),
}


def test_every_rule_is_mapped_with_well_formed_controls():
    for rule in all_rules():
        assert rule.compliance, f"{rule.id} is mapped to no framework"
        assert set(rule.compliance) <= set(COMPLIANCE_FRAMEWORKS)
        for framework, controls in rule.compliance.items():
            assert controls and all(CONTROL[framework].match(c) for c in controls), (rule.id, framework, controls)
    # the AI-specific risks map to the LLM and ATLAS frameworks; container hardening does not
    assert get_rule("AIS151").compliance["owasp-llm"] == ("LLM03", "LLM04")
    assert get_rule("AIS158").compliance["atlas"] == ("AML.T0040", "AML.T0049", "AML.T0034")
    assert "owasp-llm" not in get_rule("AIS103").compliance
    assert get_rule("AIS103").compliance["cis-k8s"] == ("5.2.2",)


def test_selectors_name_the_rules_of_a_control():
    assert selector_rules("AIS1") is None
    llm03 = selector_rules("owasp-llm:LLM03")
    assert llm03 == {rule.id for rule in all_rules() if "LLM03" in rule.compliance.get("owasp-llm", ())}
    assert {"AIS110", "AIS151", "AIS161", "AIS007"} <= llm03
    assert selector_rules("CIS-K8S:5.2") == {
        r.id for r in all_rules() if any(c.startswith("5.2.") for c in r.compliance.get("cis-k8s", ()))
    }
    assert "AIS161" in selector_rules("atlas:AML.T0011")  # a technique takes in its sub-techniques
    assert selector_rules("owasp-llm:LLM99") == frozenset()


POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: vllm}
    spec:
      serviceAccountName: vllm
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          args: ["--model", "acme/llm", "--trust-remote-code"]
          securityContext: {privileged: true}
    """)


def test_the_command_line_selects_by_control_and_reports_the_mapping(tmp_path, capsys):
    (tmp_path / "pod.yaml").write_text(POD)
    assert main(["--check", str(tmp_path), "--format", "json", "--select", "owasp-llm:LLM03"]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert rules == {"AIS110", "AIS151"}  # the floating tag, the model's own code
    assert main(["--check", str(tmp_path), "--format", "json", "--ignore", "owasp-llm:LLM03"]) == 1
    ignored = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "AIS103" in ignored and not ignored & {"AIS110", "AIS151"}
    assert main(["--check", str(tmp_path), "--select", "owasp-llm:LLM99"]) == 2
    assert "did you mean OWASP-LLM:LLM" in capsys.readouterr().err

    assert main(["--check", str(tmp_path), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    tags = {r["id"]: r["properties"]["tags"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert tags["AIS151"] == ["security", *get_rule("AIS151").compliance_tags]
    assert "owasp-llm:LLM03" in tags["AIS151"] and "cis-k8s:5.2.2" in tags["AIS103"]

    assert main(["--check", str(tmp_path), "--format", "markdown"]) == 1
    markdown = capsys.readouterr().out
    section = markdown[markdown.index("### Compliance") :]
    assert "**OWASP Top 10 for LLM Applications 2025**" in section and "**CIS Kubernetes Benchmark v1.9**" in section
    assert "| LLM03 | 2 (1 high, 1 medium) | `AIS110`, `AIS151` |" in section
    assert "| 5.2.2 | 1 (1 critical) | `AIS103` |" in section


@pytest.mark.parametrize("what", ["list", "explain", "hover"])
def test_the_mapping_is_shown_where_rules_are_described(what, capsys):
    rule = get_rule("AIS151")
    if what == "list":
        assert main(["--list-rules", "--format", "json"]) == 0
        listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
        assert listed["AIS151"]["compliance"] == {k: list(v) for k, v in rule.compliance.items()}
    elif what == "explain":
        assert main(["--explain", "AIS151"]) == 0
        assert (
            "## Compliance\n\n- owasp-llm: LLM03, LLM04\n- atlas: AML.T0010.003, AML.T0011.000\n"
            in capsys.readouterr().out
        )
    else:
        from aiiac_ls.lsp.convert import rule_markdown

        assert "Compliance: owasp-llm LLM03, LLM04; atlas AML.T0010.003, AML.T0011.000; nist-800-53 SI-7, SI-3" in (
            rule_markdown(rule)
        )
