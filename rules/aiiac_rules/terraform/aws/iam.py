"""Identity (AIS3xx, AWS): who can read the models and do everything else."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue
from aiiac_ls.model.nodes import Scalar, as_str
from aiiac_ls.rules import rule

from .policies import IDENTITY_POLICY_TYPES, policy_documents, statements

TF = "terraform"
_S3_ARN = "arn:aws:s3:::"


def _whole_bucket(resource_arn: str) -> str | None:
    """The bucket an ARN grants in full (`arn:aws:s3:::b/*`), else None."""
    if not resource_arn.startswith(_S3_ARN):
        return None
    rest = resource_arn[len(_S3_ARN):]
    bucket, _, key = rest.partition("/")
    if bucket and "*" not in bucket and key.strip("*") == "":
        return bucket
    return None


@rule(
    id="AIS301", title="Model artifacts readable beyond the model prefix", severity="high",
    applies_to=IDENTITY_POLICY_TYPES, source=TF,
    equivalents={"checkov": ["CKV_AWS_288"], "trivy": ["AVD-AWS-0057"], "tfsec": ["aws-iam-no-policy-wildcards"]},
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html",
                "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"],
    fixable=True,
)
def model_read_scope(resource, ctx):
    """## What it does
    Flags IAM policies that allow `s3:GetObject` (directly or through `s3:Get*`, `s3:*`, `*`)
    on every object (`Resource: "*"`, `arn:aws:s3:::*`) or on a whole bucket that holds model
    artifacts. A bucket holds model artifacts when a SageMaker `model_data_url` or a KServe
    `storageUri` in the scanned files points into it, when its name or tags say so (model,
    weights, artifacts, checkpoints), or when it is listed in the `model-buckets` setting.

    ## Why is this bad?
    Model weights are the asset: months of GPU time and, for fine-tuned models, your training
    data in compressed form. A serving role that can read the whole bucket (or every bucket) lets
    one compromised inference pod download every model and dataset stored there, not only the
    one it serves.

    ## Example
    ```hcl
    statement {
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::acme-models/*"]
    }
    ```

    Use instead:
    ```hcl
    statement {
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::acme-models/models/llama-3-8b/*"]
    }
    ```

    ## Fix
    Scope `Resource` to the prefix of the model the role serves. The quick fix takes the prefix
    from the SageMaker `model_data_url` or KServe `storageUri` that uses the bucket; where none
    is known it inserts a `MODEL_PREFIX/` placeholder for you to complete.
    """
    facts = ctx.facts
    for document in policy_documents(resource):
        for statement in statements(document):
            if not statement.allows or not statement.action_matches("s3:GetObject"):
                continue
            for target in statement.values("Resource"):
                arn = as_str(target)
                if arn is None:
                    continue
                if arn in ("*", "arn:aws:s3:::*", "arn:aws:s3:::*/*"):
                    buckets = sorted(facts.model_buckets)
                    bucket = buckets[0] if len(buckets) == 1 else "MODEL_BUCKET"
                    prefix = facts.model_prefix(bucket) or "MODEL_PREFIX/"
                    scoped = f"{_S3_ARN}{bucket}/{prefix}*"
                    yield Hit(target, "policy allows s3:GetObject on every object of every bucket",
                              Fix(f"Scope to {scoped}", (ReplaceValue(target, scoped),)))
                    continue
                bucket = _whole_bucket(arn)
                if bucket is None or not facts.is_model_bucket(bucket):
                    continue
                prefix = facts.model_prefix(bucket) or "MODEL_PREFIX/"
                scoped = f"{_S3_ARN}{bucket}/{prefix}*"
                yield Hit(target, f"policy allows s3:GetObject on all of model bucket `{bucket}` "
                                  f"({facts.reasons.get(bucket, 'model bucket')})",
                          Fix(f"Scope to {scoped}", (ReplaceValue(target, scoped),)))


@rule(
    id="AIS302", resource_only=True, title="IAM policy allows every action", severity="critical", applies_to=IDENTITY_POLICY_TYPES,
    source=TF,
    equivalents={"checkov": ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_1"], "trivy": ["AVD-AWS-0057"],
                 "tfsec": ["aws-iam-no-policy-wildcards"]},
    references=["https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"],
)
def wildcard_action(resource, ctx):
    """## What it does
    Flags policy statements that `Allow` the action `*` (or `*:*`).

    ## Why is this bad?
    Roles attached to training jobs, SageMaker endpoints, notebooks and GPU node groups are
    reachable from code that processes untrusted input: model files, datasets, prompts. With
    `Action: "*"` a compromise of that code is a compromise of the account: it can read every
    model and dataset, start GPU instances for mining, and create users to stay.

    ## Example
    ```hcl
    policy = jsonencode({
      Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
    })
    ```

    ## Fix
    List the actions the workload uses (for serving, usually `s3:GetObject` on the model prefix,
    `ecr:BatchGetImage`, `logs:PutLogEvents`), or attach a narrow AWS managed policy.
    """
    for document in policy_documents(resource):
        for statement in statements(document):
            if not statement.allows:
                continue
            for item in statement.values("Action"):
                if isinstance(item, Scalar) and item.value in ("*", "*:*"):
                    yield Hit(item, "policy allows every action (`*`)")
