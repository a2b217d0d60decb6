"""The CLI contract: formats, exit codes, thresholds, rule selection, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiiac_ls import __version__
from aiiac_ls.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ml-platform"

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: é😀-vllm
    spec:
      automountServiceAccountToken: false
      securityContext: {seccompProfile: {type: RuntimeDefault}}
      containers:
        - {name: "é😀", image: "vllm/vllm-openai:latest", securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}, resources: {requests: {cpu: "1"}, limits: {memory: 1Gi}}}
      serviceAccountName: vllm
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(POD, encoding="utf-8")
    return tmp_path


def _json(capsys, *args) -> tuple[int, dict]:
    code = main(["--check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_json_contract_with_character_columns(project, capsys):
    code, data = _json(capsys, "k8s")
    assert code == 1
    assert data["version"] == __version__
    assert data["errors"] == []
    [finding] = data["findings"]
    assert finding == {
        "rule": "AIS110",
        "severity": "medium",
        "title": "Image is not pinned to a version",
        "message": "image `vllm/vllm-openai:latest` uses the floating `latest` tag",
        "file": os.path.join("k8s", "pod.yaml"),
        "line": 9,
        "column": 20,
        "end_line": 9,
        "end_column": 52,
        "resource": "Pod/é😀-vllm",
        "equivalents": {"checkov": ["CKV_K8S_14"], "trivy": ["KSV013"], "kics": [], "kube-linter": ["latest-tag"]},
        "fixable": False,
        "fix_safety": None,
        "fingerprint": finding["fingerprint"],
    }
    line = POD.splitlines()[8]
    assert line[finding["column"] - 1 : finding["end_column"] - 1] == 'image: "vllm/vllm-openai:latest"'


def test_json_report_is_laid_out_as_json_indent_lays_it_out(capsys):
    """The JSON and SARIF reports are written by `report.machine` (a template per finding,
    `indented` for the rest: fast), byte for byte what `json.dumps(indent=2, ensure_ascii=False)`
    writes: checked on whole reports, and `indented` on random values (nested empties,
    non-ASCII, escapes, floats, keys that are not strings)."""
    import random

    from aiiac_ls.report.machine import indented

    kustomize = Path(__file__).resolve().parent / "fixtures" / "kustomize"  # (findings with related places)
    for folder, form in [(EXAMPLE, "json"), (kustomize, "json"), (EXAMPLE, "sarif"), (kustomize, "sarif")]:
        main(["--check", str(folder), "--format", form])
        report = capsys.readouterr().out
        assert report == json.dumps(json.loads(report), indent=2, ensure_ascii=False) + "\n"
        if form == "json":
            findings = json.loads(report)["findings"]
            assert len(findings) > 10 and (folder == EXAMPLE or any("related" in finding for finding in findings))
    choice = random.Random(7).choice
    count = random.Random(8).randint

    def value(depth: int = 0):
        roll = count(0, 9)
        if depth > 3 or roll < 4:
            return choice([True, False, None, 0, -5, 10**20, 1.5, 1e300, float("nan"), "", 'é\u2028"\\\n\t\x00 😀'])
        if roll < 7:
            return {choice(["a", "é", "", ' k"', 1, None]): value(depth + 1) for _ in range(count(0, 4))}
        items = [value(depth + 1) for _ in range(count(0, 4))]
        return items if roll < 9 else tuple(items)

    for _ in range(5000):
        item = value()
        assert indented(item, "\n    ") == json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def test_exit_codes_and_threshold(project, capsys):
    assert main(["--check", "k8s", "--severity-threshold", "high"]) == 0
    assert main(["--check", "k8s", "--severity-threshold", "medium"]) == 1
    assert main(["--check", "k8s", "--ignore", "AIS110"]) == 0
    assert main(["--check", "k8s", "--select", "AIS2"]) == 0
    assert main(["--check", "k8s", "--select", "AIS9"]) == 2  # no such rule
    capsys.readouterr()


def test_unreadable_file_is_exit_2_and_the_rest_is_still_reported(project, capsys):
    (project / "k8s" / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    (project / "k8s" / "binary.yaml").write_bytes(b"\x00\x01\x02")
    code, data = _json(capsys, "k8s")
    assert code == 2
    assert [f["rule"] for f in data["findings"]] == ["AIS110"]
    errors = {e["file"]: e for e in data["errors"]}
    assert errors[os.path.join("k8s", "binary.yaml")]["message"] == "binary file (contains NUL bytes); not analysed"
    broken = errors[os.path.join("k8s", "broken.yaml")]
    assert broken["kind"] == "syntax" and broken["line"] == 2 and broken["message"].startswith("YAML syntax error")


def test_missing_path_is_a_usage_error(project, capsys):
    code, data = _json(capsys, "nope")
    assert code == 2
    assert data["errors"] == [{"file": "nope", "kind": "error", "message": "no such file or directory"}]


def test_text_output_has_code_frame_and_summary(project, capsys):
    assert main(["--check", "k8s", "--no-color"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"{os.path.join('k8s', 'pod.yaml')}:9:20: AIS110 [medium] image "
        "`vllm/vllm-openai:latest` uses the floating `latest` tag"
    )
    assert "9 |" in out and "\x1b[" not in out
    assert out.rstrip().endswith("Found 1 finding (1 medium) in 1 file.")


def test_output_file(project, capsys):
    assert main(["--check", "k8s", "--format", "json", "--output", "out.json"]) == 1
    assert capsys.readouterr().out == ""
    assert json.loads((project / "out.json").read_text())["findings"][0]["rule"] == "AIS110"


def test_a_streamed_report_is_written_in_pieces_of_about_a_megabyte():
    from aiiac_ls.cli import _in_pieces

    chunks = [f'{{"finding": {index}, "message": "{"x" * (index % 700)}"}},\n' for index in range(12_000)]
    pieces = list(_in_pieces(iter(chunks)))
    assert "".join(pieces) == "".join(chunks)
    assert 3 <= len(pieces) <= 5  # 4.2 MB in all
    assert all((1 << 20) <= len(piece) < (1 << 20) + 800 for piece in pieces[:-1])
    assert list(_in_pieces("a whole report")) == ["a whole report"]
    assert list(_in_pieces(iter([]))) == [""]


def test_sarif_is_valid_against_the_official_schema(project, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = os.environ.get("AIIAC_SARIF_SCHEMA")
    if not schema_path or not Path(schema_path).is_file():
        candidate = Path(__file__).resolve().parents[1] / ".cache" / "sarif" / "sarif-2.1.0-rtm.5.json"
        if not candidate.is_file():
            pytest.skip("SARIF schema not fetched: run `make test` (it downloads the schema from npm)")
        schema_path = str(candidate)
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    assert main(["--check", str(EXAMPLE), "k8s", "--format", "sarif"]) == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "aiiac-ls"
    results = {r["ruleId"] for r in run["results"]}
    assert {"AIS101", "AIS201", "AIS401", "AIS701"} <= results
    first = run["results"][0]
    assert set(first["partialFingerprints"]) == {"aiiacFingerprint/v1"}
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids[first["ruleIndex"]] == first["ruleId"]


def test_secret_never_printed(project, capsys):
    token = "hf_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
    (project / "k8s" / "secret.yaml").write_text(
        textwrap.dedent(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: cfg}}
        data:
          HF_TOKEN: {token}
        """),
        encoding="utf-8",
    )
    for fmt in ("text", "json", "sarif"):
        main(["--check", "k8s", "--format", fmt, "--no-color"])
        out = capsys.readouterr().out
        assert "AIS701" in out
        assert token not in out and token[:12] not in out


def test_explain_and_list_rules(capsys):
    assert main(["--explain", "ais101"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# AIS101: Container may run as root")
    assert "## Why is this bad?" in text and "CKV_K8S_23" in text
    assert main(["--explain", "AIS999"]) == 2
    capsys.readouterr()
    assert main(["--list-rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert len(rules) >= 22
    assert {"id", "title", "severity", "applies_to", "equivalents", "fixable"} <= set(rules[0])


def test_config_unknown_key_is_named(project, capsys):
    (project / ".aiiac.toml").write_text('ignroe = ["AIS110"]\n')
    assert main(["--check", "k8s"]) == 2
    assert "unknown key `ignroe`" in capsys.readouterr().err


def test_config_from_pyproject_upward(project, capsys):
    (project / "pyproject.toml").write_text('[tool.aiiac]\nignore = ["AIS110"]\n')
    assert main(["--check", "k8s"]) == 0
    capsys.readouterr()
    (project / "pyproject.toml").write_text('[tool.aiiac]\nseverity = { AIS110 = "critical" }\n')
    code, data = _json(capsys, "k8s")
    assert code == 1 and data["findings"][0]["severity"] == "critical"


def test_version_subprocess():
    out = subprocess.run([sys.executable, "-m", "aiiac_ls.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"aiiac-ls {__version__}"


def test_demo_example_findings(capsys, monkeypatch):
    monkeypatch.chdir(EXAMPLE)
    code, data = _json(capsys, ".")
    assert code == 1
    found = sorted({(f["rule"], f["file"], f["line"]) for f in data["findings"]})
    assert ("AIS201", os.path.join("k8s", "triton.yaml"), 40) in found
    assert ("AIS301", os.path.join("infra", "main.tf"), 44) in found
    assert ("AIS401", os.path.join("infra", "main.tf"), 1) in found
    assert ("AIS701", os.path.join("k8s", "triton.yaml"), 22) in found
    assert data["errors"] == []


def test_an_unknown_rule_code_is_an_error_with_the_close_matches(capsys):
    from aiiac_ls.cli import main

    assert main(["--check", "tests/fixtures/rules/AIS110/bad", "--select", "AIS1100"]) == 2
    assert capsys.readouterr().err == (
        "aiiac-ls: --select/--ignore: no rule matches `AIS1100` (did you mean AIS110, AIS611, AIS610?)\n"
    )


def test_a_reader_that_leaves_early_ends_the_output_quietly():
    """`aiiac-ls --explain AIS101 | head`: stdout breaks under the writer; no traceback, exit 0."""
    import subprocess
    import sys

    script = (
        "import io, sys\n"
        "class Broken(io.TextIOBase):\n"
        "    def write(self, text):\n"
        "        raise BrokenPipeError(32, 'Broken pipe')\n"
        "    def fileno(self):\n"
        "        return 1\n"
        "sys.stdout = Broken()\n"
        "sys.argv = ['aiiac-ls', '--explain', 'AIS101']\n"
        "from aiiac_ls.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")


def test_severity_threshold_also_filters_what_is_reported_and_text_ends_with_a_per_rule_summary(tmp_path, capsys):
    (tmp_path / "pod.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: vllm}
        spec:
          containers:
            - name: vllm
              image: vllm/vllm-openai:v0.6.3
              resources: {limits: {memory: 8Gi, cpu: "2"}, requests: {memory: 8Gi, cpu: "2"}}
        """)
    )
    assert main(["--check", str(tmp_path), "--format", "json"]) == 1
    everything = json.loads(capsys.readouterr().out)["findings"]
    low = [f for f in everything if f["severity"] == "low"]
    assert low and len(everything) > len(low)
    assert main(["--check", str(tmp_path), "--format", "json", "--severity-threshold", "medium"]) == 1
    shown = json.loads(capsys.readouterr().out)["findings"]
    assert shown == [f for f in everything if f["severity"] != "low"]
    assert main(["--check", str(tmp_path), "--no-color", "--severity-threshold", "medium"]) == 1
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1].endswith(f"{len(low)} below the severity threshold not shown.")
    table = out[out.index("Findings by rule:") + 1 : -2]
    assert [line.split()[1] for line in table] == sorted({f["rule"] for f in shown})  # one finding each
    assert "  1  AIS104  Privilege escalation allowed [medium] (1 fixable)" in table
    assert main(["--check", str(tmp_path), "--severity-threshold", "critical"]) == 0
    assert "No findings in 1 file." in capsys.readouterr().out


def test_findings_at_one_place_share_one_code_frame(tmp_path, capsys):
    """One container's hardening gaps: a header line each, then one frame, not one frame each."""
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: serve}\nspec:\n  serviceAccountName: serve\n"
        "  automountServiceAccountToken: false\n  securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
        "  containers:\n    - name: serve\n      image: acme/serve@sha256:" + "0" * 64 + "\n"
        "      resources: {requests: {cpu: '1', memory: 1Gi}}\n"
    )
    assert main(["--check", str(tmp_path / "pod.yaml"), "--no-color"]) == 1
    lines = capsys.readouterr().out.splitlines()
    headers = [i for i, line in enumerate(lines) if ":9:7: AIS1" in line]
    assert [lines[i].split()[1] for i in headers] == ["AIS101", "AIS104", "AIS105", "AIS106"]
    assert headers == list(range(headers[0], headers[0] + 4))  # consecutive headers
    frame = lines[headers[-1] + 1 : lines.index("", headers[-1])]
    assert frame[2] == " 9 |     - name: serve" and sum(1 for line in lines if line.endswith("- name: serve")) == 1
