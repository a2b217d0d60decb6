"""Quick fixes: the exact text after the edit, re-parsed, and the finding gone."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from aiiac_ls.fixes import apply_edits, text_edits

from .helpers import run


def _fix_once(folder: Path, rule: str, index: int = 0, name: str | None = None) -> str:
    """Apply the `index`-th finding's fix for `rule` and return the new text of its file."""
    analysis = run([folder], select=[rule])
    findings = [f for f in analysis.findings if f.rule == rule and f.fix]
    finding = findings[index]
    edits = text_edits(finding.fix, analysis.source)
    path = edits[0].span.file
    new_text = apply_edits(analysis.sources[path].text, edits)
    Path(path).write_text(new_text, encoding="utf-8")
    return new_text


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _clean(folder, rule):
    analysis = run([folder], select=[rule])
    assert not [p for p in analysis.problems if p.kind != "skipped"], analysis.problems
    return [f for f in analysis.findings if f.rule == rule]


def test_run_as_non_root_inserted_after_last_key_of_container(workdir):
    _write(
        workdir / "k8s",
        "triton.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: triton
        spec:
          template:
            spec:
              containers:
                - name: triton  # the server
                  image: nvcr.io/nvidia/tritonserver:24.05-py3
                  ports:
                    - containerPort: 8000
              volumes: []
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS101")
    assert text.splitlines()[9:14] == [
        "          image: nvcr.io/nvidia/tritonserver:24.05-py3",
        "          ports:",
        "            - containerPort: 8000",
        "          securityContext:",
        "            runAsNonRoot: true",
    ]
    assert _clean(workdir / "k8s", "AIS101") == []


def test_second_fix_reuses_the_security_context_the_first_created(workdir):
    _write(
        workdir / "k8s",
        "pod.yaml",
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: vllm}
        spec:
          containers:
            - name: vllm
              image: vllm/vllm-openai:v0.6.3
        """,
    )
    _fix_once(workdir / "k8s", "AIS101")
    text = _fix_once(workdir / "k8s", "AIS105")
    assert text.splitlines()[7:10] == [
        "      securityContext:",
        "        runAsNonRoot: true",
        "        readOnlyRootFilesystem: true",
    ]


def test_fix_into_empty_flow_mapping_and_replace_false(workdir):
    _write(
        workdir / "k8s",
        "pod.yaml",
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: vllm}
        spec:
          containers:
            - name: a
              image: a:1
              securityContext: {}
            - name: b
              image: b:1
              securityContext:
                readOnlyRootFilesystem: false  # was needed for pip
        """,
    )
    _fix_once(workdir / "k8s", "AIS105", 0)
    text = _fix_once(workdir / "k8s", "AIS105", 0)
    assert "      securityContext: {readOnlyRootFilesystem: true}" in text.splitlines()
    assert "        readOnlyRootFilesystem: true  # was needed for pip" in text.splitlines()
    assert _clean(workdir / "k8s", "AIS105") == []


def test_load_balancer_becomes_cluster_ip_and_external_fields_go(workdir):
    _write(
        workdir / "k8s",
        "svc.yaml",
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: triton
          annotations: {note: "é😀"}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: Local
          selector: {app: triton}
          ports:
            - nodePort: 30080
              port: 8000
            - port: 8001
              nodePort: 30081
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS201")
    assert text == textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: triton
          annotations: {note: "é😀"}
        spec:
          type: ClusterIP
          selector: {app: triton}
          ports:
            - port: 8000
            - port: 8001
        """)
    assert _clean(workdir / "k8s", "AIS201") == []


def test_drop_all_replaces_a_block_list(workdir):
    _write(
        workdir / "k8s",
        "pod.yaml",
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: x}
        spec:
          containers:
            - name: x
              image: x:1
              securityContext:
                capabilities:
                  drop:
                    - NET_RAW
                    - SYS_ADMIN
                  add: [SYS_PTRACE]
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS106")
    assert text.splitlines()[8:12] == [
        "        capabilities:",
        "          drop:",
        "            - ALL",
        "          add: [SYS_PTRACE]",
    ]
    assert _clean(workdir / "k8s", "AIS106") == []


def test_public_access_block_added_after_bucket_and_valid(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_s3_bucket" "models" {
          bucket = "acme-models"
        }

        output "bucket" {
          value = aws_s3_bucket.models.id
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS401")
    assert text.startswith(
        textwrap.dedent("""\
        resource "aws_s3_bucket" "models" {
          bucket = "acme-models"
        }

        resource "aws_s3_bucket_public_access_block" "models" {
          bucket = aws_s3_bucket.models.id

          block_public_acls = true
          block_public_policy = true
          ignore_public_acls = true
          restrict_public_buckets = true
        }

        output "bucket" {""")
    )
    assert _clean(workdir / "infra", "AIS401") == []


def test_public_access_block_for_counted_bucket_iterates_it(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_s3_bucket" "models" {
          count  = 2
          bucket = "acme-models-${count.index}"
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS401")
    assert "  count  = length(aws_s3_bucket.models)\n  bucket = aws_s3_bucket.models[count.index].id\n" in text
    assert _clean(workdir / "infra", "AIS401") == []


def test_missing_public_access_flag_inserted_before_closing_brace(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_s3_bucket" "m" {
          bucket = "acme-models"
        }
        resource "aws_s3_bucket_public_access_block" "m" {
          bucket                  = aws_s3_bucket.m.id
          block_public_acls       = true
          block_public_policy     = true
          ignore_public_acls      = true
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS401")
    assert text.splitlines()[7:10] == [
        "  ignore_public_acls      = true",
        "  restrict_public_buckets = true",
        "}",
    ]
    assert _clean(workdir / "infra", "AIS401") == []


def test_scope_get_object_to_model_prefix_keeps_the_reference(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_s3_bucket" "models" {
          bucket = "acme-models"
        }
        resource "aws_sagemaker_model" "llama" {
          name               = "llama"
          execution_role_arn = "arn:aws:iam::1:role/x"
          primary_container {
            image          = "tgi:2"
            model_data_url = "s3://acme-models/models/llama-3-8b/model.tar.gz"
          }
        }
        data "aws_iam_policy_document" "read" {
          statement {
            actions   = ["s3:GetObject"]
            resources = ["${aws_s3_bucket.models.arn}/*"]
          }
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS301")
    assert '    resources = ["${aws_s3_bucket.models.arn}/models/llama-3-8b/*"]' in text.splitlines()
    assert _clean(workdir / "infra", "AIS301") == []


def test_scope_star_resource_in_jsonencode(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_s3_bucket" "weights" {
          bucket = "acme-weights"
        }
        resource "aws_iam_role_policy" "p" {
          role   = "serving"
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS301")
    assert 'Resource = "arn:aws:s3:::acme-weights/MODEL_PREFIX/*" }] })' in text
    assert _clean(workdir / "infra", "AIS301") == []


def test_eks_endpoint_made_private(workdir):
    _write(
        workdir / "infra",
        "main.tf",
        """
        resource "aws_eks_cluster" "gpu" {
          name     = "gpu"
          role_arn = "arn:aws:iam::1:role/eks"
          vpc_config {
            subnet_ids = ["subnet-1"]
          }
        }
        """,
    )
    text = _fix_once(workdir / "infra", "AIS601")
    assert text.splitlines()[3:8] == [
        "  vpc_config {",
        '    subnet_ids = ["subnet-1"]',
        "    endpoint_private_access = true",
        "    endpoint_public_access = false",
        "  }",
    ]
    assert _clean(workdir / "infra", "AIS601") == []


POD = """
        apiVersion: v1
        kind: Pod
        metadata: {name: x}
        spec:
          containers:
            - name: x
              image: x:1.0
        """


def test_cli_fix_applies_all_fixes_in_rounds(workdir):
    from aiiac_ls.cli import main

    _write(workdir / "k8s", "pod.yaml", POD)
    selected = ["--select", "AIS101,AIS104,AIS105,AIS106,AIS109", "--no-color"]
    assert main(["--check", "k8s", "--fix", "--unsafe-fixes", *selected]) == 0
    text = (workdir / "k8s" / "pod.yaml").read_text()
    assert text.count("securityContext:") == 1, "the second fix reused the block the first created"
    for line in (
        "        runAsNonRoot: true",
        "        allowPrivilegeEscalation: false",
        "        readOnlyRootFilesystem: true",
        "        capabilities:",
        '          drop: ["ALL"]',
        "  automountServiceAccountToken: false",
    ):
        assert line in text.splitlines()


def test_fix_applies_only_safe_fixes_and_diff_previews_without_writing(workdir, capsys):
    from aiiac_ls.cli import main

    _write(workdir / "k8s", "pod.yaml", POD)
    original = (workdir / "k8s" / "pod.yaml").read_text()
    selected = ["--select", "AIS101,AIS104,AIS111", "--no-color"]
    assert main(["--check", "k8s", "--fix", "--diff", *selected]) == 0  # a preview: nothing written
    preview = capsys.readouterr()
    assert (workdir / "k8s" / "pod.yaml").read_text() == original
    assert preview.out.startswith("--- a/k8s/pod.yaml\n+++ b/k8s/pod.yaml\n")
    added = [line for line in preview.out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    # AIS104 (allowPrivilegeEscalation) and AIS111 (seccomp) are safe; AIS101 (runAsNonRoot) is not
    assert (
        added
        == [
            "+      securityContext:",
            "+        allowPrivilegeEscalation: false",
            "+  securityContext:",
            "+    seccompProfile:",
            "+      type: RuntimeDefault",
        ]
        and "2 fixes would be applied" in preview.err
    )
    assert main(["--check", "k8s", "--fix", *selected]) == 1  # the unsafe one is still reported
    after = (workdir / "k8s" / "pod.yaml").read_text()
    assert "allowPrivilegeEscalation: false" in after and "runAsNonRoot" not in after
    out = capsys.readouterr().out
    assert "AIS101" in out and "1 more fixable with --unsafe-fixes" in out


def test_irsa_annotation_added_to_the_service_account(workdir):
    _write(
        workdir / "k8s",
        "sa.yaml",
        """
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: triton
          namespace: models
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: triton, namespace: models}
        spec:
          template:
            spec:
              serviceAccountName: triton
              containers:
                - name: triton
                  image: nvcr.io/nvidia/tritonserver:24.05-py3
                  args: ["--model-repository=s3://acme-models/models/llama"]
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS310")
    assert text.splitlines()[2:7] == [
        "metadata:",
        "  name: triton",
        "  namespace: models",
        "  annotations:",
        '    eks.amazonaws.com/role-arn: "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"',
    ]
    assert _clean(workdir / "k8s", "AIS310") == []


def test_model_mount_made_read_only(workdir):
    _write(
        workdir / "k8s",
        "deploy.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: triton}
        spec:
          template:
            spec:
              containers:
                - name: triton
                  image: nvcr.io/nvidia/tritonserver:24.05-py3
                  volumeMounts:
                    - name: models
                      mountPath: /mnt/models
              volumes:
                - {name: models, persistentVolumeClaim: {claimName: models}}
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS143")
    assert text.splitlines()[10:13] == [
        "            - name: models",
        "              mountPath: /mnt/models",
        "              readOnly: true",
    ]
    assert _clean(workdir / "k8s", "AIS143") == []


def test_inference_service_made_cluster_local(workdir):
    _write(
        workdir / "k8s",
        "isvc.yaml",
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata:
          name: fraud-model
        spec:
          predictor:
            model: {modelFormat: {name: xgboost}, storageUri: "s3://acme-models/fraud"}
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS207")
    assert text.splitlines()[2:6] == [
        "metadata:",
        "  name: fraud-model",
        "  labels:",
        "    networking.knative.dev/visibility: cluster-local",
    ]
    assert _clean(workdir / "k8s", "AIS207") == []


def test_shm_volume_gets_a_size_limit(workdir):
    _write(
        workdir / "k8s",
        "vllm.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: vllm}
        spec:
          template:
            spec:
              containers: [{name: vllm, image: "vllm/vllm-openai:v0.6.3"}]
              volumes:
                - name: dshm
                  emptyDir:
                    medium: Memory
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS122")
    assert text.splitlines()[8:12] == [
        "        - name: dshm",
        "          emptyDir:",
        "            medium: Memory",
        '            sizeLimit: "8Gi"',
    ]
    assert _clean(workdir / "k8s", "AIS122") == []


def test_host_ipc_replaced_by_a_private_shm_volume(workdir):
    _write(
        workdir / "k8s",
        "vllm.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: vllm}
        spec:
          template:
            spec:
              hostIPC: true
              containers:
                - name: vllm
                  image: vllm/vllm-openai:v0.6.3
                  volumeMounts:
                    - name: models
                      mountPath: /models
                - name: sidecar
                  image: envoyproxy/envoy:v1.31.0
              volumes:
                - name: models
                  persistentVolumeClaim: {claimName: models}
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS107")
    assert text.splitlines()[6:] == [
        "      hostIPC: false",
        "      containers:",
        "        - name: vllm",
        "          image: vllm/vllm-openai:v0.6.3",
        "          volumeMounts:",
        "            - name: models",
        "              mountPath: /models",
        "            - {name: dshm, mountPath: /dev/shm}",
        "        - name: sidecar",
        "          image: envoyproxy/envoy:v1.31.0",
        "          volumeMounts: [{name: dshm, mountPath: /dev/shm}]",
        "      volumes:",
        "        - name: models",
        "          persistentVolumeClaim: {claimName: models}",
        '        - {name: dshm, emptyDir: {medium: Memory, sizeLimit: "8Gi"}}',
    ]
    assert _clean(workdir / "k8s", "AIS107") == []
    assert _clean(workdir / "k8s", "AIS122") == []


def test_host_ipc_fix_creates_volumes_in_flow_style_pods(workdir):
    _write(
        workdir / "k8s",
        "pod.yaml",
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: trainer}
        spec:
          hostIPC: true
          volumes: []
          containers: [{name: torch, image: "pytorch/pytorch:2.4.0", volumeMounts: [{name: data, mountPath: /data}]}]
        """,
    )
    text = _fix_once(workdir / "k8s", "AIS107")
    assert text.splitlines()[4:] == [
        "  hostIPC: false",
        '  volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: "8Gi"}}]',
        '  containers: [{name: torch, image: "pytorch/pytorch:2.4.0", volumeMounts: [{name: data, mountPath: /data}, '
        "{name: dshm, mountPath: /dev/shm}]}]",
    ]
    assert _clean(workdir / "k8s", "AIS107") == []


def test_a_variable_reference_is_never_replaced_by_a_literal(workdir, capsys):
    """`endpoint_public_access = var.endpoint_public_access` in a module: no fix there; the value
    set in a .tfvars file is fixed where it is set."""
    from aiiac_ls.cli import main

    _write(
        workdir / "infra",
        "main.tf",
        """
        variable "endpoint_public_access" {
          type    = bool
          default = true
        }
        resource "aws_eks_cluster" "this" {
          name     = "ml"
          role_arn = "arn:aws:iam::111122223333:role/eks"
          vpc_config {
            subnet_ids             = ["subnet-1"]
            endpoint_public_access = var.endpoint_public_access
          }
        }
        """,
    )
    main_tf = (workdir / "infra" / "main.tf").read_text()
    assert main(["--check", "infra", "--fix", "--unsafe-fixes", "--select", "AIS601"]) == 1
    assert (workdir / "infra" / "main.tf").read_text() == main_tf  # the reference stays
    (workdir / "infra" / "terraform.tfvars").write_text("endpoint_public_access = true\n")
    assert main(["--check", "infra", "--fix", "--unsafe-fixes", "--select", "AIS601"]) == 0
    capsys.readouterr()
    fixed = (workdir / "infra" / "main.tf").read_text()
    assert "    endpoint_public_access = var.endpoint_public_access\n" in fixed  # still the reference
    assert fixed.replace("    endpoint_private_access = true\n", "") == main_tf  # the fix also adds private access
    assert (workdir / "infra" / "terraform.tfvars").read_text() == "endpoint_public_access = false\n"
