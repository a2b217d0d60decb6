"""Cross-layer identity: findings carry the other layer's place as related information."""

from __future__ import annotations

from .helpers import FIXTURES, run


def _related(finding):
    return [(span.file.split("rules/")[-1], span.start_line + 1, message) for span, message in finding.related]


def test_write_access_names_the_model_server_and_the_trust():
    analysis = run([FIXTURES / "rules" / "AIS332" / "bad"], select=["AIS332"])
    first = analysis.findings[0]
    assert (first.span.start_line + 1, first.span.start_col + 1) == (19, 34)
    assert _related(first) == [
        ("AIS332/bad/serving.yaml", 8, "Deployment/ml/triton runs as ml/triton"),  # the pod spec (`spec:` key)
        ("AIS332/bad/iam.tf", 12, "role `triton` trusts ml/triton"),  # the sub condition value
    ]


def test_trust_and_annotation_point_at_each_other():
    trust = run([FIXTURES / "rules" / "AIS330" / "bad"], select=["AIS330"]).findings[0]
    assert _related(trust) == [("AIS330/bad/serving.yaml", 1, "ServiceAccount ml/triton")]
    annotation = run([FIXTURES / "rules" / "AIS331" / "bad"], select=["AIS331"]).findings[0]
    assert _related(annotation) == [("AIS331/bad/iam.tf", 1, "IAM role `model-reader` is defined here")]


def test_without_kubernetes_objects_in_the_scan_trusts_are_not_judged():
    analysis = run([FIXTURES / "rules" / "AIS330" / "bad" / "iam.tf"], select=["AIS330"])
    assert not analysis.findings
