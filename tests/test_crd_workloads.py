"""Workload rules reach the pod specs inside model-serving custom resources, at the exact field."""

from pathlib import Path

from .helpers import expectations, run

CRDS = Path(__file__).parent / "fixtures" / "crds"


def test_pod_specs_inside_serving_crds_are_checked_at_the_nested_field():
    analysis = run([CRDS], select=["AIS103"])
    assert analysis.problems == []
    found = {(f.file, f.rule, f.span.start_line + 1) for f in analysis.findings}
    assert found == {(file, rule, line) for file, rule, line, _ in expectations(CRDS)}
    resources = sorted({f.resource for f in analysis.findings})
    assert resources == [
        "InferenceService/llama",
        "LeaderWorkerSet/vllm-multinode",
        "RayService/serve",
        "SeldonDeployment/iris",
        "Service/embedder",
    ]


def test_kserve_model_spec_counts_as_the_serving_container():
    analysis = run([CRDS / "serving.yaml"], select=["AIS101"])
    messages = [f.message for f in analysis.findings if f.resource == "InferenceService/llama"]
    assert messages == ["container `kserve-container` may run as root (runAsNonRoot is not set)"]
