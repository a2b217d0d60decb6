"""Buckets that hold model artifacts (AIS405-AIS409, AWS S3): ownership, encryption, history, logs.

A bucket "holds models" when the scan says so (`Facts`: a SageMaker `model_data_url` or KServe
`storageUri` points into it, its name or tags say model/weights/artifacts/checkpoints, or
`model-buckets` lists it). The settings live on companion resources since AWS provider v4
(`aws_s3_bucket_versioning` and friends); the inline blocks of older configurations count too.
"""

from __future__ import annotations

from aiiac_ls.model.findings import AddBlockAfter, Fix, Hit, ReplaceValue
from aiiac_ls.model.nodes import Mapping, as_bool, as_list, as_str
from aiiac_ls.rules import rule

from .policies import BUCKET_POLICY_TYPES, policy_documents, statements
from .s3 import buckets_named, companions

TF = "terraform"


def _model_bucket(resource, ctx) -> str | None:
    name = as_str(resource.body.get("bucket"))
    return name if name and ctx.facts.is_model_bucket(name) else None


def _companion_block(resource, kind: str, body: list[str]) -> str:
    reference = f"{resource.kind}.{resource.name}"
    lines = [f'resource "{kind}" "{resource.name}" {{', f"  bucket = {reference}.id", *body, "}"]
    return "\n".join(lines)


@rule(
    id="AIS405",
    unsafe_fix="consumers that rely on object ACLs lose access once ACLs are disabled",
    title="S3 bucket still honours ACLs",
    severity="medium",
    applies_to={"aws_s3_bucket", "aws_s3_bucket_ownership_controls"},
    source=TF,
    equivalents={"checkov": ["CKV2_AWS_65"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html"],
    fixable=True,
)
def ownership_controls(resource, ctx):
    """## What it does
    Flags model buckets without `aws_s3_bucket_ownership_controls` set to `BucketOwnerEnforced`,
    and ownership controls with another `object_ownership`.

    ## Why is this bad?
    With ACLs enabled, every object can carry its own grant: an upload tool that sets
    `public-read`, or a partner account writing checkpoints it keeps owning, makes single model
    files readable or unmanageable regardless of the bucket policy. `BucketOwnerEnforced`
    switches ACLs off, so the bucket policy and IAM alone decide who reads the weights.

    ## Example
    ```hcl
    resource "aws_s3_bucket_ownership_controls" "models" {
      bucket = aws_s3_bucket.models.id
      rule { object_ownership = "ObjectWriter" }
    }
    ```

    ## Fix
    `object_ownership = "BucketOwnerEnforced"` (the quick fix adds the resource when it is missing).
    """
    if resource.kind == "aws_s3_bucket_ownership_controls":
        for block in resource.body.blocks("rule"):
            entry = block.entry("object_ownership")
            if entry is not None and entry.value.known and as_str(entry.value) != "BucketOwnerEnforced":
                yield Hit(entry, f'object_ownership = "{as_str(entry.value)}": ACLs still apply')
        return
    if _model_bucket(resource, ctx) is None or companions(resource, ctx, "aws_s3_bucket_ownership_controls"):
        return
    text = _companion_block(
        resource,
        "aws_s3_bucket_ownership_controls",
        ["  rule {", '    object_ownership = "BucketOwnerEnforced"', "  }"],
    )
    yield Hit(
        resource.head,
        f"model bucket `{resource.name}` has no ownership controls: object ACLs apply",
        Fix("Add aws_s3_bucket_ownership_controls (BucketOwnerEnforced)", (AddBlockAfter(resource.span, text),)),
        missing=("aws_s3_bucket_ownership_controls",),
    )


def _sse_algorithm(block: Mapping) -> tuple[str | None, object]:
    """(algorithm, the KMS key node) of a server-side encryption configuration."""
    for rule_block in block.blocks("rule"):
        for default in rule_block.blocks("apply_server_side_encryption_by_default"):
            return as_str(default.get("sse_algorithm")), default.get("kms_master_key_id")
    return None, None


@rule(
    id="AIS406",
    title="Model bucket not encrypted with a customer-managed KMS key",
    severity="medium",
    applies_to={"aws_s3_bucket", "aws_s3_bucket_server_side_encryption_configuration"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_145"], "trivy": ["AVD-AWS-0132"], "tfsec": ["aws-s3-encryption-customer-key"]},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"],
)
def model_bucket_kms(resource, ctx):
    """## What it does
    Flags model buckets whose default encryption is not SSE-KMS with a key you manage
    (`sse_algorithm = "aws:kms"` or `"aws:kms:dsse"` with `kms_master_key_id`), including buckets
    left on the S3-managed default (SSE-S3).

    ## Why is this bad?
    With SSE-S3 anyone with `s3:GetObject` reads the weights. A customer key adds a second,
    separately granted permission (`kms:Decrypt`), an audit trail of every decryption in
    CloudTrail, and a kill switch: disabling the key makes leaked copies of the bucket's
    access useless.

    ## Example
    ```hcl
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    ```

    ## Fix
    `sse_algorithm = "aws:kms"` with `kms_master_key_id = aws_kms_key.models.arn`, and
    `bucket_key_enabled = true` to keep request costs down.
    """
    if resource.kind == "aws_s3_bucket_server_side_encryption_configuration":
        target = resource.body.get("bucket")
        bucket = as_str(target)
        buckets = buckets_named(target, ctx)
        if not any(_model_bucket(b, ctx) for b in buckets) and not (bucket and ctx.facts.is_model_bucket(bucket)):
            return
        algorithm, key = _sse_algorithm(resource.body)
        if algorithm is not None and not algorithm.startswith("aws:kms"):
            yield Hit(resource.body.blocks("rule")[0], f"model bucket encrypted with {algorithm}, not a KMS key")
        elif algorithm is not None and key is None:
            yield Hit(resource.body.blocks("rule")[0], "SSE-KMS with the AWS-managed aws/s3 key, not a key you manage")
        return
    if _model_bucket(resource, ctx) is None:
        return
    inline = resource.body.block("server_side_encryption_configuration")
    if inline is not None or companions(resource, ctx, "aws_s3_bucket_server_side_encryption_configuration"):
        if inline is not None:
            algorithm, key = _sse_algorithm(inline)
            if algorithm is not None and (not algorithm.startswith("aws:kms") or key is None):
                yield Hit(inline, "model bucket is not encrypted with a customer-managed KMS key")
        return
    yield Hit(
        resource.head,
        f"model bucket `{resource.name}` uses the default SSE-S3 encryption, not a KMS key",
        missing=("aws_s3_bucket_server_side_encryption_configuration",),
    )


@rule(
    id="AIS407",
    title="Model bucket keeps no object versions",
    severity="medium",
    applies_to={"aws_s3_bucket", "aws_s3_bucket_versioning"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_21"], "trivy": ["AVD-AWS-0090"], "tfsec": ["aws-s3-enable-versioning"]},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"],
    fixable=True,
)
def model_bucket_versioning(resource, ctx):
    """## What it does
    Flags model buckets without versioning (`aws_s3_bucket_versioning` with `status =
    "Enabled"`, or the legacy inline `versioning { enabled = true }`), and versioning resources
    of model buckets that suspend it.

    ## Why is this bad?
    Without versions, an overwritten or deleted model is gone: a poisoned upload replaces the
    weights every replica loads on its next restart, and there is nothing to compare against or
    roll back to. Versioning is also what Object Lock and replication build on.

    ## Example
    ```hcl
    versioning_configuration {
      status = "Suspended"
    }
    ```

    ## Fix
    `status = "Enabled"` (the quick fix adds the resource when it is missing).
    """
    if resource.kind == "aws_s3_bucket_versioning":
        buckets = buckets_named(resource.body.get("bucket"), ctx)
        if not any(_model_bucket(b, ctx) for b in buckets):
            return
        for block in resource.body.blocks("versioning_configuration"):
            entry = block.entry("status")
            if entry is not None and entry.value.known and as_str(entry.value) != "Enabled":
                yield Hit(
                    entry,
                    f"model bucket versioning is {as_str(entry.value)}",
                    Fix('Set status = "Enabled"', (ReplaceValue(entry.value, "Enabled"),)),
                )
        return
    if _model_bucket(resource, ctx) is None:
        return
    inline = resource.body.block("versioning")
    if inline is not None:
        if as_bool(inline.get("enabled")) is False:
            yield Hit(inline, "model bucket versioning is disabled")
        return
    if companions(resource, ctx, "aws_s3_bucket_versioning"):
        return
    text = _companion_block(
        resource, "aws_s3_bucket_versioning", ["  versioning_configuration {", '    status = "Enabled"', "  }"]
    )
    yield Hit(
        resource.head,
        f"model bucket `{resource.name}` keeps no object versions",
        Fix("Add aws_s3_bucket_versioning (Enabled)", (AddBlockAfter(resource.span, text),)),
        missing=("aws_s3_bucket_versioning",),
    )


@rule(
    id="AIS408",
    title="Model bucket without access logging",
    severity="low",
    applies_to={"aws_s3_bucket"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_18"], "trivy": ["AVD-AWS-0089"], "tfsec": ["aws-s3-enable-bucket-logging"]},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html"],
)
def model_bucket_logging(resource, ctx):
    """## What it does
    Flags model buckets without server access logging (`aws_s3_bucket_logging` or the legacy
    inline `logging` block).

    ## Why is this bad?
    When weights leak, the first question is who downloaded which object and from where. Object
    reads are not in CloudTrail management events; without access logs (or CloudTrail data
    events) there is no answer.

    ## Example
    ```hcl
    resource "aws_s3_bucket" "models" {
      bucket = "acme-models"
    }
    ```

    ## Fix
    Add `aws_s3_bucket_logging` with a `target_bucket` in a separate logging account or bucket.
    """
    if _model_bucket(resource, ctx) is None or resource.body.block("logging") is not None:
        return
    if not companions(resource, ctx, "aws_s3_bucket_logging"):
        yield Hit(
            resource.head, f"model bucket `{resource.name}` has no access logging", missing=("aws_s3_bucket_logging",)
        )


def _denies_insecure_transport(document: Mapping) -> bool:
    for statement in statements(document):
        if statement.effect != "Deny":
            continue
        condition = statement.node.get("Condition")
        for operator in condition.entries.values() if isinstance(condition, Mapping) else []:
            values = operator.value
            if isinstance(values, Mapping) and "aws:SecureTransport" in values:
                if [str(getattr(v, "value", "")).lower() for v in as_list(values.get("aws:SecureTransport"))] == [
                    "false"
                ]:
                    return True
    return False


@rule(
    id="AIS409",
    title="Model bucket accepts requests without TLS",
    severity="medium",
    applies_to={"aws_s3_bucket"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_379"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"],
)
def model_bucket_tls_only(resource, ctx):
    """## What it does
    Flags model buckets whose bucket policy does not deny requests with
    `aws:SecureTransport = false`.

    ## Why is this bad?
    Model servers and download scripts are often configured with `http://` endpoints or old
    SDK settings. Without the deny, weights (and any presigned credentials) can travel in clear
    text through proxies and VPC endpoints; with it, such a client fails loudly.

    ## Example
    ```hcl
    resource "aws_s3_bucket_policy" "models" {
      bucket = aws_s3_bucket.models.id
      policy = data.aws_iam_policy_document.read_only.json   # no TLS statement
    }
    ```

    ## Fix
    Add a statement that denies `s3:*` on the bucket and its objects to `*` when
    `aws:SecureTransport` is `false`.
    """
    if _model_bucket(resource, ctx) is None:
        return
    policies = [
        resource,
        *(
            policy
            for kind in sorted(BUCKET_POLICY_TYPES)
            for policy in companions(resource, ctx, kind, unknown=False)
            if policy is not resource
        ),
    ]
    for policy in policies:
        for document in policy_documents(policy):
            if _denies_insecure_transport(document):
                return
    yield Hit(
        resource.head,
        f"model bucket `{resource.name}` has no policy denying non-TLS requests",
        missing=("aws_s3_bucket_policy",),
    )


@rule(
    id="AIS419",
    title="Model registry bucket without Object Lock",
    severity="medium",
    applies_to={"aws_s3_bucket"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_143"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html"],
)
def model_registry_object_lock(resource, ctx):
    """## What it does
    Flags buckets marked as the model registry (a tag key or value, or the bucket name, says
    `registry`, and the bucket holds model artifacts) that are created without
    `object_lock_enabled = true` and have no `aws_s3_bucket_object_lock_configuration`.

    ## Why is this bad?
    The registry is the source of truth for what is deployed. With Object Lock (governance or
    compliance mode) a released model version cannot be overwritten or deleted for its retention
    period, even by an administrator's leaked credentials: poisoning a released model needs more
    than write access.

    ## Example
    ```hcl
    resource "aws_s3_bucket" "registry" {
      bucket = "acme-model-registry"
    }
    ```

    ## Fix
    `object_lock_enabled = true` at creation (it cannot be added to an existing bucket without
    AWS support) and an `aws_s3_bucket_object_lock_configuration` with a default retention.
    """
    if _model_bucket(resource, ctx) is None:
        return
    tags = resource.body.get("tags")
    words = [as_str(resource.body.get("bucket")) or ""]
    if isinstance(tags, Mapping):
        words += [f"{key} {as_str(value) or ''}" for key, value in tags.items()]
    if not any("registry" in word.lower() for word in words):
        return
    if as_bool(resource.body.get("object_lock_enabled")) is True or companions(
        resource, ctx, "aws_s3_bucket_object_lock_configuration"
    ):
        return
    yield Hit(
        resource.head,
        f"model registry bucket `{resource.name}` has no Object Lock: released models can be overwritten or deleted",
        missing=("aws_s3_bucket_object_lock_configuration",),
    )
