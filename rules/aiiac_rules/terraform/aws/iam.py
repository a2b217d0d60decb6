"""Identity (AIS3xx, AWS): who can read the models and do everything else."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue
from aiiac_ls.model.nodes import Scalar, as_list, as_str
from aiiac_ls.rules import rule

from .policies import IDENTITY_POLICY_TYPES, names_every_s3_resource, policy_documents, statements

TF = "terraform"
_S3_ARN = "arn:aws:s3:::"


def _whole_bucket(resource_arn: str) -> str | None:
    """The bucket an ARN grants in full (`arn:aws:s3:::b/*`), else None."""
    if not resource_arn.startswith(_S3_ARN):
        return None
    rest = resource_arn[len(_S3_ARN) :]
    bucket, _, key = rest.partition("/")
    if bucket and "*" not in bucket and key.strip("*") == "":
        return bucket
    return None


@rule(
    id="AIS301",
    unsafe_fix="code that reads other objects of the bucket loses access",
    title="Model artifacts readable beyond the model prefix",
    severity="high",
    applies_to=IDENTITY_POLICY_TYPES,
    source=TF,
    equivalents={"checkov": ["CKV_AWS_288"], "trivy": ["AVD-AWS-0057"], "tfsec": ["aws-iam-no-policy-wildcards"]},
    references=[
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html",
    ],
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
                if names_every_s3_resource(arn):
                    buckets = sorted(facts.model_buckets)
                    bucket = buckets[0] if len(buckets) == 1 else "MODEL_BUCKET"
                    prefix = facts.model_prefix(bucket) or "MODEL_PREFIX/"
                    scoped = f"{_S3_ARN}{bucket}/{prefix}*"
                    yield Hit(
                        target,
                        "policy allows s3:GetObject on every object of every bucket",
                        Fix(f"Scope to {scoped}", (ReplaceValue(target, scoped),)),
                    )
                    continue
                bucket = _whole_bucket(arn)
                if bucket is None or not facts.is_model_bucket(bucket):
                    continue
                prefix = facts.model_prefix(bucket) or "MODEL_PREFIX/"
                scoped = f"{_S3_ARN}{bucket}/{prefix}*"
                yield Hit(
                    target,
                    f"policy allows s3:GetObject on all of model bucket `{bucket}` "
                    f"({facts.reasons.get(bucket, 'model bucket')})",
                    Fix(f"Scope to {scoped}", (ReplaceValue(target, scoped),)),
                )


@rule(
    id="AIS302",
    title="IAM policy allows every action",
    severity="critical",
    applies_to=IDENTITY_POLICY_TYPES,
    source=TF,
    equivalents={
        "checkov": ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_1"],
        "trivy": ["AVD-AWS-0057"],
        "tfsec": ["aws-iam-no-policy-wildcards"],
    },
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


@rule(
    id="AIS303",
    title="iam:PassRole allowed on every role",
    severity="high",
    applies_to=IDENTITY_POLICY_TYPES,
    source=TF,
    equivalents={"checkov": ["CKV_AWS_286"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"],
)
def pass_role_anywhere(resource, ctx):
    """## What it does
    Flags statements that allow `iam:PassRole` (directly or through `iam:*`, `iam:Pass*`) on
    `Resource: "*"` (or `arn:aws:iam::*:role/*`).

    ## Why is this bad?
    ML pipelines pass roles to SageMaker training jobs, endpoints and Bedrock agents. A role
    that may pass *any* role can start a training job or notebook with the account's most
    powerful role attached and act as it: the classic privilege escalation from "can run
    training" to "administers the account".

    ## Example
    ```hcl
    statement {
      actions   = ["iam:PassRole"]
      resources = ["*"]
    }
    ```

    ## Fix
    List the roles it may pass (`arn:aws:iam::<account>:role/sagemaker-execution-*`) and add an
    `iam:PassedToService` condition (`sagemaker.amazonaws.com`).
    """
    for document in policy_documents(resource):
        for statement in statements(document):
            if not statement.allows or not statement.action_matches("iam:PassRole"):
                continue
            for target in statement.values("Resource"):
                if as_str(target) in ("*", "arn:aws:iam::*:role/*") and statement.node.get("Condition") is None:
                    yield Hit(target, "iam:PassRole on every role: lets the holder run jobs as any role")


def _trust_statements(resource):
    return list(statements(resource.trust_policy)) if resource.trust_policy is not None else []


@rule(
    id="AIS304",
    title="Role can be assumed by any AWS principal",
    severity="critical",
    applies_to={"aws_iam_role"},
    source=TF,
    equivalents={"checkov": ["CKV_AWS_60", "CKV_AWS_61"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html"],
)
def trust_everyone(resource, ctx):
    """## What it does
    Flags role trust policies that allow `Principal: "*"` or `{"AWS": "*"}` without a condition.

    ## Why is this bad?
    Any AWS account in the world can then assume the role: every model, dataset and endpoint
    the role reaches is public to anyone who guesses its ARN (role ARNs appear in logs, error
    messages and public Terraform).

    ## Example
    ```hcl
    assume_role_policy = jsonencode({
      Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { AWS = "*" } }]
    })
    ```

    ## Fix
    Name the accounts, roles or services that may assume it, and add `sts:ExternalId` or
    `aws:PrincipalOrgID` conditions for cross-account access.
    """
    from .policies import principal_is_public

    for statement in _trust_statements(resource):
        if statement.allows and statement.node.get("Condition") is None:
            public = principal_is_public(statement.node.get("Principal"))
            if public is not None:
                yield Hit(public, "any AWS principal may assume this role")


@rule(
    id="AIS305",
    title="IRSA trust not scoped to one ServiceAccount",
    severity="high",
    applies_to={"aws_iam_role"},
    source=TF,
    equivalents={"checkov": [], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html"],
)
def irsa_trust_scope(resource, ctx):
    """## What it does
    Flags role trust statements for an EKS OIDC provider (`sts:AssumeRoleWithWebIdentity` with a
    `Federated` principal) that do not pin the subject with `StringEquals` to
    `system:serviceaccount:<namespace>:<name>`: no `:sub` condition at all, or `StringLike` with
    a wildcard in it; and, at medium severity, trusts without an `:aud` condition (when every
    condition key is known).

    ## Why is this bad?
    Without the subject, every pod in the cluster (every ServiceAccount of every namespace) can
    assume the role with its projected token: the model-reader role of one inference server
    becomes the role of every workload, including the notebook someone runs untrusted code in.

    ## Example
    ```hcl
    condition {
      test     = "StringLike"
      variable = "${local.oidc}:sub"
      values   = ["system:serviceaccount:*:*"]
    }
    ```

    ## Fix
    `StringEquals` on `<oidc>:sub` = `system:serviceaccount:<ns>:<sa>` and on `<oidc>:aud` =
    `sts.amazonaws.com`.
    """
    for statement in _trust_statements(resource):
        principal = statement.node.get("Principal")
        federated = principal.get("Federated") if hasattr(principal, "get") else None
        if not statement.allows or federated is None or not statement.action_matches("sts:AssumeRoleWithWebIdentity"):
            continue
        condition = statement.node.get("Condition")
        subjects = []
        for operator, entry in condition.entries.items() if hasattr(condition, "entries") else []:
            values = entry.value
            for key, item in values.entries.items() if hasattr(values, "entries") else []:
                for value in as_list(item.value):
                    text = as_str(value)
                    if (text and text.startswith("system:serviceaccount:")) or key.endswith(":sub"):
                        subjects.append((operator, value, text))
        if not subjects:
            yield Hit(
                federated,
                "web-identity trust without a `:sub` condition: every ServiceAccount of the "
                "cluster may assume the role",
            )
            continue
        for operator, value, text in subjects:
            if text and ("*" in text or "?" in text):
                yield Hit(value, f"{operator} `{text}` lets many ServiceAccounts assume the role")
        audiences = [
            key
            for entry in condition.entries.values()
            if hasattr(entry.value, "entries")
            for key in entry.value.entries
            if key.endswith(":aud")
        ]
        if not audiences and all(
            "<unknown" not in key
            for entry in condition.entries.values()
            if hasattr(entry.value, "entries")
            for key in entry.value.entries
        ):
            yield Hit(
                federated, "web-identity trust without an `:aud` condition (sts.amazonaws.com)", severity="medium"
            )


_RESTRICTABLE = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "sagemaker:InvokeEndpoint",
    "bedrock:InvokeModel",
    "ecr:BatchGetImage",
)


@rule(
    id="AIS307",
    title="Data-plane action allowed on every resource",
    severity="high",
    applies_to=IDENTITY_POLICY_TYPES,
    source=TF,
    equivalents={
        "checkov": ["CKV_AWS_355", "CKV_AWS_356"],
        "trivy": ["AVD-AWS-0057"],
        "tfsec": ["aws-iam-no-policy-wildcards"],
    },
    references=["https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"],
)
def restrictable_action_on_everything(resource, ctx):
    """## What it does
    Flags statements that allow, on `Resource: "*"`, an action that can be limited to named
    resources and that reaches models, their keys or their secrets: object reads, writes and
    deletes, `kms:Decrypt`, `secretsmanager:GetSecretValue`, `ssm:GetParameter`,
    `sagemaker:InvokeEndpoint`, `bedrock:InvokeModel`, `ecr:BatchGetImage` (also through
    wildcards such as `s3:*`). `s3:GetObject` on model buckets is AIS301's (with a prefix fix).

    ## Why is this bad?
    These actions name the thing they act on, so they can always be scoped. On `*` they reach
    every bucket, key, secret and endpoint in the account, including the ones created after the
    policy was reviewed: a serving role becomes a reader of every model and every Hugging Face
    token in Secrets Manager.

    ## Example
    ```hcl
    statement {
      actions   = ["secretsmanager:GetSecretValue", "kms:Decrypt"]
      resources = ["*"]
    }
    ```

    ## Fix
    List the ARNs (the model prefix, the key, the secret), or use a condition such as
    `aws:ResourceTag/team`.
    """
    for document in policy_documents(resource):
        for statement in statements(document):
            if not statement.allows or statement.node.get("Condition") is not None:
                continue
            targets = statement.values("Resource")
            everything = [t for t in targets if as_str(t) == "*"]
            every_s3 = [t for t in targets if as_str(t) != "*" and names_every_s3_resource(as_str(t) or "")]
            if not everything and not every_s3:
                continue
            granted = sorted(
                {
                    action
                    for action in _RESTRICTABLE
                    if (everything or action.startswith("s3:")) and statement.action_matches(action)
                }
                - {"s3:GetObject"}
            )
            everything = everything or every_s3  # every bucket's objects are every resource to S3 actions
            if any(isinstance(item, Scalar) and item.value in ("*", "*:*") for item in statement.values("Action")):
                continue  # AIS302 reports it
            if granted:
                yield Hit(
                    everything[0],
                    f"{', '.join(granted[:3])}{' and more' if len(granted) > 3 else ''} allowed on every resource",
                )
