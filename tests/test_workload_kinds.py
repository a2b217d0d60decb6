"""Workloads in more kinds: pod specs named for the training, batch and workflow kinds AI teams
run (Kubeflow, JobSet, Volcano, Argo), and found by shape in any other custom resource; every
workload rule checks them. Fixtures follow each project's documented examples."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiiac_ls.model.resources import Resource

from .helpers import FIXTURES, expectations, run

KINDS = FIXTURES / "workloads"


@pytest.mark.parametrize("fixture", sorted(p.name for p in KINDS.glob("*.yaml")))
def test_the_rules_see_the_pods_of_each_kind(fixture, tmp_path):
    target = tmp_path / fixture
    target.write_text((KINDS / fixture).read_text())
    expected = expectations(tmp_path)
    rules = sorted({rule for _, rule, _, _ in expected})
    analysis = run([target], select=rules)
    found = {(Path(f.file).name, f.rule, f.span.start_line + 1) for f in analysis.findings}
    assert found == {(Path(file).name, rule, line) for file, rule, line, _ in expected}
    columns = {(f.rule, f.span.start_line + 1): f.span.start_col + 1 for f in analysis.findings}
    for _, rule, line, col in expected:
        if col is not None:
            assert columns[(rule, line)] == col


def _containers(text: str, tmp_path) -> dict[str, list[str]]:
    from aiiac_ls.engine import Analysis, Engine, ParseCache
    from aiiac_rules.kubernetes.workloads import pod_specs

    (tmp_path / "x.yaml").write_text(text)
    scopes = Engine().load([str(tmp_path / "x.yaml")], Analysis(), [], ParseCache())
    resources: list[Resource] = [r for scope in scopes for r in scope]
    return {r.kind: [c.name for pod in pod_specs(r) for c in pod.containers()] for r in resources}


def test_each_kind_yields_every_container(tmp_path):
    assert _containers((KINDS / "tfjob-mpijob.yaml").read_text(), tmp_path) == {
        "TFJob": ["tensorflow"],
        "MPIJob": ["mpi-launcher", "mpi-worker"],
    }
    assert _containers((KINDS / "volcano-notebook-argo.yaml").read_text(), tmp_path) == {
        "Job": ["tensorflow"],
        "Notebook": ["notebook"],
        "Workflow": ["train", "report"],
    }
    # a batch/v1 Job is still read as one; a kind of another API group with the name of an Argo
    # kind is not taken for it
    other = "apiVersion: example.com/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  steps: [a]\n"
    assert _containers(other, tmp_path) == {"Workflow": []}


def test_kinds_that_are_not_workloads_are_not_searched(tmp_path):
    config_map = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n"
        "apiVersion: acme.io/v1\nkind: Thing\nmetadata: {name: t}\nspec:\n  template: {spec: {hostNetwork: true}}\n"
    )
    assert _containers(config_map, tmp_path) == {"ConfigMap": [], "Thing": []}


def test_the_corpus_training_runtimes_are_checked():
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "kubeflow-trainer"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is not there (the shared corpus is optional)")
    analysis = run([corpus / "manifests" / "base" / "runtimes"])
    kinds = {f.resource.split("/")[0] for f in analysis.findings}
    assert "ClusterTrainingRuntime" in kinds


def test_policy_engines_pod_shaped_patches_are_not_workloads(tmp_path):
    kyverno = (
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: inject}\nspec:\n  rules:\n"
        "    - name: sidecar\n      mutate:\n        patchStrategicMerge:\n          spec:\n            template:\n"
        "              spec:\n                containers: [{name: envoy, image: 'envoyproxy/envoy:latest'}]\n"
        "---\napiVersion: mutations.example.com/v1\nkind: PodPatch\nmetadata: {name: p}\n"
        "spec:\n  template:\n    spec:\n      containers: [{name: x, image: 'busybox:latest'}]\n"
    )
    assert _containers(kyverno, tmp_path) == {"ClusterPolicy": [], "PodPatch": ["x"]}


def test_a_kind_two_api_groups_share_gets_the_rules_of_its_own_group(tmp_path):
    """A Knative Service has a pod spec and a core Service has none: the pod rules name
    `serving.knative.dev/Service`, so a core Service is given only the Service rules."""
    from aiiac_ls.engine import Analysis, Engine, ParseCache

    (tmp_path / "services.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: core, namespace: serving}\n"
        "spec: {type: LoadBalancer, selector: {app: llm}, ports: [{port: 8000}]}\n"
        "---\n"
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: knative, namespace: serving}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        '        - {name: llm, image: "vllm/vllm-openai:v0.6.3", securityContext: {privileged: true}}\n'
    )
    engine = Engine()
    scopes = engine.load([str(tmp_path / "services.yaml")], Analysis(), [], ParseCache())
    core, knative = [resource for scope in scopes for resource in scope]
    core_rules = {rule.id for rule in engine.rules_for(core)}
    knative_rules = {rule.id for rule in engine.rules_for(knative)}
    assert core_rules == {"AIS201", "AIS203", "AIS207", "AIS701"}
    assert {"AIS101", "AIS103", "AIS310", "AIS701"} <= knative_rules and "AIS201" in knative_rules
    found = {(f.resource, f.rule, f.span.start_line, f.span.start_col) for f in run([tmp_path]).findings}
    assert ("Service/serving/core", "AIS201", 3, 7) in found
    assert ("Service/serving/knative", "AIS103", 12, 74) in found
    assert not any(resource == "Service/serving/core" and rule.startswith("AIS1") for resource, rule, _, _ in found)
