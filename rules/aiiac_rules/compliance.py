"""Which controls of AI and infrastructure frameworks each rule helps meet.

Frameworks (the selector prefix, as in `--select owasp-llm:LLM03`):
- `owasp-llm`: OWASP Top 10 for LLM Applications 2025 (LLM01-LLM10),
  https://genai.owasp.org/llm-top-10/
- `atlas`: MITRE ATLAS techniques (AML.Txxxx), https://atlas.mitre.org/techniques
- `cis-k8s`: CIS Kubernetes Benchmark v1.9 recommendations (section 5, policies),
  https://www.cisecurity.org/benchmark/kubernetes
- `nist-800-53`: NIST SP 800-53 rev. 5 controls, https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final

A rule is mapped through what it protects (its categories below) and, for Kubernetes pod and
RBAC rules, to the CIS recommendation it implements. Only where a control applies: container
hardening is not an LLM-specific risk, so it maps to CIS and NIST only.
"""

from __future__ import annotations

from aiiac_ls.rules import COMPLIANCE_FRAMEWORKS as FRAMEWORKS
from aiiac_ls.rules import Rule

# what a rule protects -> the controls of each framework that speak of it
_CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = {
    "hardening": {"nist-800-53": ("CM-6", "CM-7", "AC-6")},
    "consumption": {
        "owasp-llm": ("LLM10",),
        "atlas": ("AML.T0029", "AML.T0034"),
        "nist-800-53": ("SC-5", "SC-6"),
    },
    "supply-chain": {
        "owasp-llm": ("LLM03",),
        "atlas": ("AML.T0010",),
        "nist-800-53": ("SR-3", "SR-11", "SI-7", "CM-14"),
    },
    "unsafe-model-code": {
        "owasp-llm": ("LLM03", "LLM04"),
        "atlas": ("AML.T0010.003", "AML.T0011.000"),
        "nist-800-53": ("SI-7", "SI-3"),
    },
    "vulnerable-component": {"owasp-llm": ("LLM03",), "atlas": ("AML.T0010.001",), "nist-800-53": ("SI-2", "RA-5")},
    "exposure": {
        "owasp-llm": ("LLM10",),
        "atlas": ("AML.T0040", "AML.T0049", "AML.T0034"),
        "nist-800-53": ("SC-7", "AC-3", "AC-17"),
    },
    "unauthenticated": {
        "owasp-llm": ("LLM10",),
        "atlas": ("AML.T0040", "AML.T0049"),
        "nist-800-53": ("IA-2", "AC-3", "SC-7"),
    },
    "identity": {"owasp-llm": ("LLM06",), "atlas": ("AML.T0012",), "nist-800-53": ("AC-6", "AC-2", "AC-3")},
    "model-disclosure": {
        "owasp-llm": ("LLM02",),
        "atlas": ("AML.T0035", "AML.T0025"),
        "nist-800-53": ("AC-3", "AC-6", "SC-7"),
    },
    "model-integrity": {
        "owasp-llm": ("LLM04",),
        "atlas": ("AML.T0018", "AML.T0020"),
        "nist-800-53": ("SI-7", "CP-9"),
    },
    "encryption": {"owasp-llm": ("LLM02",), "nist-800-53": ("SC-28", "SC-12", "SC-13")},
    "transport": {"owasp-llm": ("LLM02",), "nist-800-53": ("SC-8",)},
    "logging": {"nist-800-53": ("AU-2", "AU-12")},
    "secrets": {"owasp-llm": ("LLM02",), "atlas": ("AML.T0055",), "nist-800-53": ("IA-5", "SC-28")},
    "segmentation": {"owasp-llm": ("LLM02",), "atlas": ("AML.T0025",), "nist-800-53": ("SC-7", "AC-4")},
    "metadata-credentials": {"atlas": ("AML.T0055",), "nist-800-53": ("SC-7", "AC-6")},
    "shared-hardware": {"owasp-llm": ("LLM02",), "atlas": ("AML.T0025",), "nist-800-53": ("SC-4",)},
    "guardrails": {"owasp-llm": ("LLM01", "LLM05", "LLM06"), "atlas": ("AML.T0051",), "nist-800-53": ("SI-10",)},
    "assurance": {"nist-800-53": ("CA-7",)},
}

_RULE_CATEGORIES: dict[str, tuple[str, ...]] = {
    # coverage of the scan itself
    "AIS001": ("assurance",),
    "AIS002": ("assurance",),
    "AIS003": ("assurance",),
    "AIS004": ("assurance",),
    "AIS005": ("assurance",),
    "AIS006": ("assurance",),
    "AIS007": ("supply-chain",),
    # the container boundary
    **{
        rule: ("hardening",)
        for rule in (
            "AIS101",
            "AIS102",
            "AIS103",
            "AIS104",
            "AIS105",
            "AIS106",
            "AIS107",
            "AIS108",
            "AIS109",
            "AIS111",
            "AIS112",
            "AIS113",
            "AIS114",
            "AIS115",
            "AIS116",
            "AIS117",
            "AIS118",
        )
    },
    "AIS110": ("supply-chain",),
    "AIS120": ("consumption",),
    "AIS121": ("consumption",),
    "AIS122": ("consumption",),
    "AIS123": ("consumption",),
    "AIS124": ("consumption",),
    "AIS125": ("consumption",),
    "AIS131": ("supply-chain",),
    "AIS132": ("supply-chain",),
    "AIS133": ("supply-chain",),
    "AIS142": ("supply-chain", "transport"),
    "AIS143": ("model-integrity",),
    # model servers' own configuration
    "AIS150": ("unauthenticated", "model-integrity"),
    "AIS151": ("unsafe-model-code",),
    "AIS152": ("unauthenticated",),
    "AIS153": ("unauthenticated", "exposure"),
    "AIS154": ("unauthenticated", "exposure"),
    "AIS155": ("unauthenticated", "unsafe-model-code"),
    "AIS156": ("unauthenticated", "model-disclosure"),
    "AIS157": ("unauthenticated",),
    "AIS158": ("unauthenticated", "exposure"),
    "AIS159": ("shared-hardware",),
    "AIS160": ("supply-chain",),
    "AIS161": ("unsafe-model-code",),
    "AIS162": ("vulnerable-component", "hardening"),
    # the network
    **{rule: ("exposure",) for rule in ("AIS201", "AIS202", "AIS203", "AIS207", "AIS215", "AIS216")},
    "AIS204": ("transport",),
    "AIS205": ("unauthenticated", "exposure"),
    "AIS206": ("hardening",),
    **{rule: ("segmentation",) for rule in ("AIS211", "AIS213", "AIS214", "AIS217")},
    # identities
    "AIS301": ("model-disclosure", "identity"),
    **{
        rule: ("identity",)
        for rule in (
            "AIS302",
            "AIS303",
            "AIS304",
            "AIS305",
            "AIS306",
            "AIS307",
            "AIS311",
            "AIS320",
            "AIS322",
            "AIS323",
            "AIS324",
            "AIS330",
            "AIS331",
        )
    },
    "AIS310": ("identity", "secrets"),
    "AIS312": ("secrets", "identity"),
    "AIS321": ("identity", "secrets"),
    "AIS332": ("model-integrity", "identity"),
    # model storage and registries
    **{rule: ("model-disclosure",) for rule in ("AIS401", "AIS402", "AIS403", "AIS404", "AIS405", "AIS414", "AIS418")},
    **{rule: ("encryption",) for rule in ("AIS406", "AIS410", "AIS413", "AIS416")},
    "AIS407": ("model-integrity",),
    "AIS408": ("logging",),
    "AIS409": ("transport",),
    "AIS411": ("supply-chain", "model-integrity"),
    "AIS412": ("vulnerable-component",),
    "AIS415": ("model-integrity",),
    "AIS419": ("model-integrity",),
    # managed ML services
    "AIS501": ("exposure", "segmentation"),
    "AIS502": ("hardening",),
    "AIS503": ("encryption",),
    "AIS504": ("encryption",),
    "AIS505": ("segmentation",),
    "AIS506": ("exposure", "segmentation"),
    "AIS507": ("guardrails", "encryption"),
    "AIS508": ("metadata-credentials",),
    "AIS510": ("exposure",),
    "AIS511": ("encryption",),
    "AIS512": ("exposure",),
    "AIS520": ("exposure",),
    "AIS521": ("exposure", "hardening"),
    "AIS522": ("exposure",),
    "AIS523": ("secrets", "identity"),
    "AIS524": ("segmentation",),
    "AIS525": ("encryption",),
    # clusters
    "AIS601": ("exposure",),
    "AIS602": ("encryption", "secrets"),
    "AIS603": ("logging",),
    "AIS604": ("exposure",),
    "AIS605": ("metadata-credentials",),
    "AIS610": ("exposure",),
    "AIS611": ("exposure",),
    "AIS612": ("identity", "secrets"),
    "AIS613": ("metadata-credentials",),
    "AIS614": ("identity",),
    "AIS615": ("segmentation",),
    "AIS616": ("identity",),
    "AIS617": ("consumption",),
    "AIS618": ("hardening",),
    "AIS620": ("exposure",),
    "AIS621": ("identity",),
    "AIS622": ("segmentation",),
    "AIS623": ("encryption",),
    # credentials
    "AIS701": ("secrets",),
    "AIS702": ("secrets",),
    "AIS703": ("secrets",),
}

# CIS Kubernetes Benchmark v1.9, section 5 (policies), for the rules that implement one
_CIS_K8S: dict[str, tuple[str, ...]] = {
    "AIS101": ("5.2.7",),
    "AIS102": ("5.2.7",),
    "AIS103": ("5.2.2",),
    "AIS104": ("5.2.6",),
    "AIS106": ("5.2.10",),
    "AIS107": ("5.2.3", "5.2.4", "5.2.5"),
    "AIS108": ("5.2.12",),
    "AIS109": ("5.1.6",),
    "AIS111": ("5.7.2",),
    "AIS112": ("5.2.8", "5.2.9"),
    "AIS113": ("5.2.13",),
    "AIS114": ("5.2.12",),
    "AIS117": ("5.7.3",),
    "AIS118": ("5.2.12",),
    "AIS211": ("5.3.2",),
    "AIS213": ("5.3.2",),
    "AIS311": ("5.1.5",),
    "AIS320": ("5.1.3",),
    "AIS321": ("5.1.2",),
    "AIS322": ("5.1.4",),
    "AIS323": ("5.1.8",),
    "AIS324": ("5.1.1",),
    "AIS703": ("5.4.1",),
    "AIS701": ("5.4.1",),
}


def mapping_of(rule_id: str) -> dict[str, tuple[str, ...]]:
    """framework -> controls, in FRAMEWORKS order, each control once."""
    found: dict[str, list[str]] = {}
    for category in _RULE_CATEGORIES.get(rule_id, ()):
        for framework, controls in _CATEGORIES[category].items():
            found.setdefault(framework, []).extend(controls)
    if rule_id in _CIS_K8S:
        found.setdefault("cis-k8s", []).extend(_CIS_K8S[rule_id])
    return {framework: tuple(dict.fromkeys(found[framework])) for framework in FRAMEWORKS if found.get(framework)}


def apply(rules: list[Rule]) -> None:
    """Give every rule of the pack its mapping (`Rule.compliance`)."""
    for rule in rules:
        rule.compliance = mapping_of(rule.id)
