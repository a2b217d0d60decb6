"""Credentials found in files never appear in any output: text, JSON, SARIF, diagnostics, hovers,
code actions, logs; not when the credential rules are switched off or suppressed either."""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

import pytest
from aiiac_ls.cli import main

from . import lsp_fuzz

HF = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm0123456789"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq1w2e3r4t5"  # no prefix: only the key name gives it away
OPENAI = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
AWS_KEY_ID = "AKIAQWERTYUIOPASDF12"
SECRETS = (HF, AWS_SECRET, OPENAI, AWS_KEY_ID)

POD = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Pod
    metadata: {{name: llm}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.6.3
          securityContext: {{privileged: true}}
          env: [{{name: HF_TOKEN, value: {HF}}}, {{name: AWS_SECRET_ACCESS_KEY, value: "{AWS_SECRET}"}}]  # aiiac:ignore AIS701 -- rotated test keys
    """)


TERRAFORM = textwrap.dedent(f"""\
    resource "aws_sagemaker_model" "llm" {{
      name               = "llm"
      execution_role_arn = "arn:aws:iam::123456789012:role/sm"
      primary_container {{
        image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:1"
        environment = {{ OPENAI_API_KEY = "{OPENAI}", AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}" }}
      }}
    }}
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(POD)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(TERRAFORM)
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: llm\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(f"hub:\n  token: {HF}\n")
    (chart / "templates" / "pod.yaml").write_text(POD.replace(HF, "{{ .Values.hub.token }}").split("  # aiiac")[0])
    return tmp_path


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text and secret[:12] not in text, f"{secret[:6]}… leaked"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize("selection", [[], ["--select", "AIS1"], ["--ignore", "AIS7"]])
def test_reports_never_print_a_credential(project, capsys, fmt, selection):
    main(["--check", ".", "--format", fmt, "--no-color", "-j", "1", *selection])
    out = capsys.readouterr().out
    _assert_clean(out)
    if fmt == "text":
        # the privileged line's code frame shows the next line, where both keys sit, masked
        assert "k8s/pod.yaml:8:25: AIS103" in out
        assert "9 |       env: [{name: HF_TOKEN, value: " in out
        if not selection:
            assert "AIS701" in out and "Hugging Face token written in plain text" in out


def test_credentials_in_messages_and_logs_are_masked(project, capsys, monkeypatch):
    from aiiac_ls.rules import get_rule

    def choke(resource, ctx):
        raise ValueError(f"cannot parse {HF}")  # a rule bug quoting the value it read

    monkeypatch.setattr(get_rule("AIS105"), "check", choke)
    main(["--check", "k8s", "--format", "json", "-j", "1"])
    captured = capsys.readouterr()
    errors = json.loads(captured.out)["errors"]
    assert any(e["kind"] == "internal" and "cannot parse hf_Q…" in e["message"] for e in errors)
    assert "Traceback" in captured.err and "cannot parse hf_Q…" in captured.err
    _assert_clean(captured.out + captured.err)


def test_the_language_server_never_sends_a_credential(project):
    with tempfile.TemporaryDirectory() as scratch:
        client = lsp_fuzz.Client(lsp_fuzz.server_command(), Path(scratch))
        answers = []
        for path in (
            project / "k8s" / "pod.yaml",
            project / "infra" / "main.tf",
            project / "chart" / "values.yaml",
            project / "chart" / "templates" / "pod.yaml",
        ):
            document = lsp_fuzz.Document(path.as_uri(), path.read_text())
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": document.uri, "languageId": "yaml", "version": 1, "text": document.text}},
            )
            report = client.request("textDocument/diagnostic", {"textDocument": {"uri": document.uri}})
            answers.append(report)
            for secret in SECRETS:
                offset = document.text.find(secret)
                if offset >= 0:
                    answers.append(
                        client.request(
                            "textDocument/hover",
                            {"textDocument": {"uri": document.uri}, "position": document.position(offset + 2)},
                        )
                    )
            answers.append(
                client.request(
                    "textDocument/codeAction",
                    {
                        "textDocument": {"uri": document.uri},
                        "range": {"start": {"line": 0, "character": 0}, "end": document.position(len(document.text))},
                        "context": {"diagnostics": report["items"]},
                    },
                )
            )
        assert client.close() == 0
        sent = json.dumps(answers, ensure_ascii=False)
        assert "Hugging Face token written in plain text" in sent and "hf_Q…" in sent
        _assert_clean(sent)
        _assert_clean(b"".join(client.stderr).decode("utf-8", "replace"))


def test_a_placeholder_credential_is_low_and_a_secrets_name_is_not_one():
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine

    from .helpers import FIXTURES

    bad = Engine(Config(select=("AIS703",))).analyse_paths([str(FIXTURES / "rules" / "AIS703" / "bad")])
    assert [(f.span.start_line + 1, f.severity) for f in bad.findings] == [(10, "high"), (14, "low")]
    assert bad.findings[1].message.endswith("(a placeholder: the real value must not end up here)")


# Each way YAML can write a credential, as (document, line and column of the value). Objects read
# from text in which `could_hold_credential` finds nothing are not walked by AIS701, so every one
# of these must be seen by that text check.
_HF_ESCAPED = "\\x68f_" + HF[3:]  # YAML reads `\x68` as `h`
_WRITTEN = {
    "plain": (f"env: [{{name: HF_TOKEN, value: {HF}}}]", (7, 36)),
    "escaped": (f'env: [{{name: HF_TOKEN, value: "{_HF_ESCAPED}"}}]', (7, 36)),
    "unicode escape": (f'args: ["--token=\\u0068f_{HF[3:]}"]', (7, 13)),
    "escaped line break": (f'args: ["--token={HF[:10]}\\\n            {HF[10:]}"]', (7, 13)),
    "folded": (f"args:\n            - >-\n              {HF}", (8, 14)),
    "AWS key by its name": (f'env: [{{name: AWS_SECRET_ACCESS_KEY, value: "{AWS_SECRET}"}}]', (7, 49)),
    "AWS key, escaped name": (f'env: [{{name: "AWS_SECRET\\x5fACCESS_KEY", value: "{AWS_SECRET}"}}]', (7, 54)),
    "AWS key, Kelvin sign": (f'env: [{{name: "aws_secret_access_\u212aey", value: "{AWS_SECRET}"}}]', (7, 51)),
}


def _pod(container_field: str) -> str:
    return textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: llm}
        spec:
          containers:
            - name: vllm
              image: vllm/vllm-openai:v0.6.3
              FIELD
        """).replace("FIELD", container_field)


@pytest.mark.parametrize("way", sorted(_WRITTEN))
def test_a_credential_however_yaml_writes_it_is_found(tmp_path, way, monkeypatch):
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine
    from aiiac_ls.formats import yaml
    from aiiac_ls.secrets import could_hold_credential

    written, (line, column) = _WRITTEN[way]
    (tmp_path / "pod.yaml").write_text(_pod(written), encoding="utf-8")
    assert could_hold_credential(_pod(written))

    def found() -> list[tuple[int, int, str]]:
        analysis = Engine(Config(select=("AIS701",))).analyse_paths([str(tmp_path)])
        return [(f.span.start_line, f.span.start_col, f.message.split(" written")[0]) for f in analysis.findings]

    label = "AWS secret access key" if way.startswith("AWS") else "Hugging Face token"
    assert found() == [(line, column, label)]
    # the mark alone decides whether the object is walked: had the text check missed this way of
    # writing it, the credential would go unreported
    monkeypatch.setattr(yaml, "could_hold_credential", lambda text: False)
    assert found() == []


def test_a_credential_behind_an_alias_or_a_merge_key_is_found():
    """Anchors are the document's: an object written without the credential may hold it."""
    from aiiac_ls.formats.source import SourceFile
    from aiiac_ls.formats.yaml import kubernetes_resources, parse_yaml
    from aiiac_ls.rules import all_rules

    text = textwrap.dedent(f"""\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: {{name: first}}
            data: &hub {{token: {HF}}}
          - apiVersion: v1
            kind: ConfigMap
            metadata: {{name: second}}
            data: *hub
          - apiVersion: v1
            kind: ConfigMap
            metadata: {{name: third}}
            data: {{<<: *hub, other: x}}
        """)
    [credential_rule] = [rule for rule in all_rules() if rule.id == "AIS701"]
    documents, _ = parse_yaml(SourceFile("list.yaml", text))
    resources = kubernetes_resources(documents, "list.yaml")
    assert [(r.name, r.credential_free) for r in resources] == [("first", False), ("second", False), ("third", False)]
    for resource in resources:
        [hit] = credential_rule.check(resource, None)
        assert (hit.at.span.start_line, hit.at.span.start_col) == (6, 23)


def test_text_without_a_credential_is_not_walked_and_a_built_object_always_is(tmp_path):
    """A kustomize build merges text from several files: its objects are walked even when the
    base they start from holds no credential."""
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine
    from aiiac_ls.formats.source import SourceFile
    from aiiac_ls.formats.yaml import kubernetes_resources, parse_yaml

    base = _pod("ports: [{containerPort: 8000}]")
    documents, _ = parse_yaml(SourceFile("pod.yaml", base))
    assert [r.credential_free for r in kubernetes_resources(documents, "pod.yaml")] == [True]
    (tmp_path / "pod.yaml").write_text(base)
    (tmp_path / "patch.yaml").write_text(
        textwrap.dedent(f"""\
            apiVersion: v1
            kind: Pod
            metadata: {{name: llm}}
            spec:
              containers:
                - name: vllm
                  env: [{{name: HF_TOKEN, value: {HF}}}]
            """)
    )
    (tmp_path / "kustomization.yaml").write_text("resources: [pod.yaml]\npatches: [{path: patch.yaml}]\n")
    analysis = Engine(Config(select=("AIS701",))).analyse_paths([str(tmp_path)])
    assert [(Path(f.span.file).name, f.span.start_line, f.span.start_col) for f in analysis.findings] == [
        ("patch.yaml", 6, 36)
    ]
