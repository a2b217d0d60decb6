"""Where images and model caches live (AIS410-AIS413, AWS ECR, EBS, EFS)."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import as_str
from aiiac_ls.rules import rule

from ..settings import equals, is_true, require

TF = "terraform"


@rule(
    id="AIS410",
    unsafe_fix="changing a volume's encryption replaces the volume",
    title="Model cache volume not encrypted",
    severity="medium",
    applies_to={"aws_ebs_volume", "aws_efs_file_system", "aws_fsx_lustre_file_system"},
    source=TF,
    equivalents={
        "checkov": ["CKV_AWS_3", "CKV_AWS_42"],
        "trivy": ["AVD-AWS-0026", "AVD-AWS-0037"],
        "tfsec": ["aws-ebs-enable-volume-encryption", "aws-efs-enable-at-rest-encryption"],
    },
    references=["https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html"],
    fixable=True,
)
def cache_volume_encryption(resource, ctx):
    """## What it does
    Flags EBS volumes and EFS file systems without `encrypted = true` (FSx for Lustre is always
    encrypted; it is checked for a customer key in `kms_key_id` only when one is expected).

    ## Why is this bad?
    Model caches (`/models`, the Hugging Face cache, Triton model repositories) hold full copies
    of the weights. Unencrypted volumes leak them through snapshots shared by mistake, detached
    volumes and AMIs built from a GPU node.

    ## Example
    ```hcl
    resource "aws_efs_file_system" "model_cache" {
      creation_token = "model-cache"
    }
    ```

    ## Fix
    `encrypted = true` (quick fix), with `kms_key_id` set to a key you manage.
    """
    if resource.kind == "aws_fsx_lustre_file_system":
        return
    yield from require(
        resource,
        "encrypted",
        is_true,
        True,
        f"{resource.kind} `{resource.name}` is not encrypted (encrypted is not set)",
        "encrypted = {value}: the volume and its snapshots hold model copies in clear",
    )


@rule(
    id="AIS411",
    unsafe_fix="pipelines that push the same tag again fail on an immutable repository",
    title="ECR image tags are mutable",
    severity="medium",
    applies_to={"aws_ecr_repository"},
    source=TF,
    equivalents={
        "checkov": ["CKV_AWS_51"],
        "trivy": ["AVD-AWS-0031"],
        "tfsec": ["aws-ecr-enforce-immutable-repository"],
    },
    references=["https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html"],
    fixable=True,
)
def ecr_immutable_tags(resource, ctx):
    """## What it does
    Flags ECR repositories whose `image_tag_mutability` is not `IMMUTABLE` (the default is
    `MUTABLE`).

    ## Why is this bad?
    Inference images are deployed by tag (`triton:24.05-llama`). With mutable tags anyone who can
    push replaces the server every node pulls next, without a change in any manifest: a quiet
    way to ship a backdoored model server.

    ## Example
    ```hcl
    resource "aws_ecr_repository" "inference" {
      name = "inference"
    }
    ```

    ## Fix
    `image_tag_mutability = "IMMUTABLE"` (quick fix), and deploy by digest.
    """
    yield from require(
        resource,
        "image_tag_mutability",
        equals("IMMUTABLE"),
        "IMMUTABLE",
        "image tags are mutable (image_tag_mutability defaults to MUTABLE)",
        "image_tag_mutability = {value}: a push can replace a deployed tag",
    )


@rule(
    id="AIS412",
    title="ECR images not scanned on push",
    severity="low",
    applies_to={"aws_ecr_repository"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_163"], "trivy": ["AVD-AWS-0030"], "tfsec": ["aws-ecr-enable-image-scans"]},
    references=["https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html"],
    fixable=True,
)
def ecr_scan_on_push(resource, ctx):
    """## What it does
    Flags ECR repositories without `image_scanning_configuration { scan_on_push = true }`.

    ## Why is this bad?
    Model-server images are large and change often (CUDA, Python wheels, tokenizers). Without a
    scan at push time, a known-exploitable library in the serving stack reaches the GPU nodes
    unnoticed.

    ## Example
    ```hcl
    image_scanning_configuration {
      scan_on_push = false
    }
    ```

    ## Fix
    `scan_on_push = true`, or an account-level enhanced scanning configuration.
    """
    yield from require(
        resource,
        "image_scanning_configuration.scan_on_push",
        is_true,
        True,
        "images are not scanned on push (no image_scanning_configuration)",
        "scan_on_push = {value}",
    )


@rule(
    id="AIS413",
    title="ECR repository not encrypted with a customer KMS key",
    severity="low",
    applies_to={"aws_ecr_repository"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_136"], "trivy": ["AVD-AWS-0033"], "tfsec": ["aws-ecr-repository-customer-key"]},
    references=["https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html"],
)
def ecr_kms(resource, ctx):
    """## What it does
    Flags ECR repositories without `encryption_configuration { encryption_type = "KMS" }` and a
    `kms_key`.

    ## Why is this bad?
    Images that bake model weights in (common for small models and for air-gapped serving) are
    model artifacts. A customer key makes pulling them a separately granted, logged permission.

    ## Example
    ```hcl
    resource "aws_ecr_repository" "bundled_model" {
      name = "bundled-model"
    }
    ```

    ## Fix
    `encryption_configuration { encryption_type = "KMS"  kms_key = aws_kms_key.ecr.arn }`.
    """
    block = resource.body.block("encryption_configuration")
    if block is None:
        yield Hit(resource.head, "repository uses the default AES-256 encryption, not a KMS key")
        return
    kind = block.entry("encryption_type")
    if kind is not None and kind.value.known and as_str(kind.value) != "KMS":
        yield Hit(kind, f'encryption_type = "{as_str(kind.value)}", not KMS')
    elif block.get("kms_key") is None:
        yield Hit(block, "KMS encryption with the AWS-managed key, not a key you manage")
