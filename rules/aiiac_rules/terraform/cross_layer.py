"""Cross-layer identity (AIS33x): the Terraform cloud identity and the Kubernetes ServiceAccount
that uses it, checked against each other (facts from `identity_links.py`).

Both layers are needed: `aiiac-ls --check .` over the repository sees them in one scan; the
editor analyses one folder at a time with the facts of every other folder of the workspace
(indexed in the background at start-up, updated as folders are edited).
"""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import as_str
from aiiac_ls.rules import base_address, rule

from .aws.policies import IDENTITY_POLICY_TYPES, names_every_s3_resource, policy_documents, statements

TF = "terraform"
TRUST_TYPES = {"aws_iam_role", "google_service_account_iam_member", "google_service_account_iam_binding"}
_WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
    "s3:PutLifecycleConfiguration",
)
_IDENTITY_NAME = {"aws": "IAM role", "gcp": "Google service account"}
_REFERENCES = [
    "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
    "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity",
]


@rule(
    id="AIS330",
    title="Cloud identity trusts a ServiceAccount that does not use it",
    severity="medium",
    applies_to=TRUST_TYPES,
    source=TF,
    references=_REFERENCES,
)
def trust_without_service_account(resource, ctx):
    """## What it does
    Holds an IRSA trust policy (`system:serviceaccount:<ns>:<sa>` in the `...:sub` condition of
    an IAM role) or a GKE Workload Identity binding (`roles/iam.workloadIdentityUser` for
    `<project>.svc.id.goog[<ns>/<sa>]`) against the Kubernetes objects of the same repository:
    flags a trusted ServiceAccount that no manifest, chart or `kubernetes_service_account`
    defines, and one that exists but whose annotation names another identity or none. Only when
    the scan contains Kubernetes objects.

    ## Why is this bad?
    A trust for a ServiceAccount nobody defines is a standing grant: whoever can create that
    ServiceAccount in that namespace (a namespace admin, a compromised CI job, a Helm chart
    installed later) inherits the role and its access to the model bucket. And a ServiceAccount
    whose annotation names another role means the model server cannot assume this one: it
    fails at start-up or, worse, falls back to the node's instance role.

    ## Example
    ```hcl
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:ml:triton"]   # no ServiceAccount ml/triton in k8s/
    }
    ```

    ## Fix
    Point the trust at the ServiceAccount the model server runs as, and annotate that
    ServiceAccount with this role's ARN (or Google service account); remove trusts that no
    workload uses.
    """
    identity = ctx.facts.identity
    if not identity.kubernetes_seen:
        return
    for (cloud, name), subjects in identity.trusts.items():
        for namespace, account, place in subjects:
            if place.address != resource.address or "*" in namespace + account or "?" in namespace + account:
                continue
            defined = identity.service_accounts.get((namespace, account))
            what = f"{_IDENTITY_NAME[cloud]} `{name}`"
            if defined is None:
                yield Hit(
                    place.span,
                    f"{what} trusts ServiceAccount `{namespace}/{account}`, which no scanned "
                    "manifest, chart or Terraform defines",
                )
                continue
            asked = [(c, i) for c, i, _ in identity.annotations.get((namespace, account), [])]
            if (cloud, name) in asked:
                continue
            other = ", ".join(f"`{i}`" for c, i in asked if c == cloud)
            yield Hit(
                place.span,
                f"{what} trusts ServiceAccount `{namespace}/{account}`, but its annotation "
                + (f"names {other}" if other else "is missing")
                + ": pods cannot assume this identity",
                related=((defined.span, f"ServiceAccount {namespace}/{account}"),),
            )


@rule(
    id="AIS331",
    title="ServiceAccount names a cloud identity that does not trust it",
    severity="medium",
    applies_to={"ServiceAccount"},
    source="kubernetes",
    references=_REFERENCES,
)
def annotation_without_trust(resource, ctx):
    """## What it does
    Holds a ServiceAccount's `eks.amazonaws.com/role-arn` or `iam.gke.io/gcp-service-account`
    annotation against the repository's Terraform: flags an identity that Terraform defines but
    whose trust does not include this ServiceAccount (medium), and, at low severity, an identity
    the scanned Terraform does not define at all while it defines others of that cloud.

    ## Why is this bad?
    The annotation is only a request: the cloud refuses it unless the role's trust policy (or
    the Workload Identity binding) names this namespace and ServiceAccount. The model server
    then cannot read its weights, and teams "fix" it by widening the trust to `*` or by giving
    the node role bucket access, which every pod on the GPU node then shares. A role that is
    not in the repository is managed elsewhere: worth knowing when you review who can read the
    models.

    ## Example
    ```yaml
    kind: ServiceAccount
    metadata:
      name: triton
      namespace: ml
      annotations:
        eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/model-reader  # trusts ml/vllm only
    ```

    ## Fix
    Add `system:serviceaccount:<ns>:<name>` to the role's trust (or the Workload Identity
    member), or annotate the ServiceAccount with the identity meant for it.
    """
    identity = ctx.facts.identity
    namespace = resource.namespace or "default"
    for cloud, name, place in identity.annotations.get((namespace, resource.name), []):
        if place.address != resource.address:
            continue
        what = f"{_IDENTITY_NAME[cloud]} `{name}`"
        defined = identity.defined.get((cloud, name))
        if defined is None:
            if any(c == cloud for c, _ in identity.defined):
                yield Hit(place.span, f"{what} is not defined in the scanned Terraform", severity="low")
            continue
        if any((c, i) == (cloud, name) for c, i, _ in identity.trusted_by(namespace, resource.name)):
            continue
        trusted = ", ".join(sorted(f"{ns}/{sa}" for ns, sa, _ in identity.trusts.get((cloud, name), [])))
        yield Hit(
            place.span,
            f"{what} does not trust ServiceAccount `{namespace}/{resource.name}`"
            + (f" (it trusts {trusted})" if trusted else " (it has no Kubernetes trust)"),
            related=((defined.span, f"{what} is defined here"),),
        )


@rule(
    id="AIS332",
    title="Model server's cloud identity can change model artifacts",
    severity="high",
    applies_to=IDENTITY_POLICY_TYPES | {"aws_iam_role_policy_attachment"},
    source=TF,
    references=_REFERENCES,
)
def model_server_can_write_models(resource, ctx):
    """## What it does
    Follows a model server (a workload with GPUs, a model-serving port or a model URI) to its
    ServiceAccount, to the IAM role that trusts that ServiceAccount, to the policies attached to
    the role (inline, `aws_iam_role_policy`, `aws_iam_policy` through
    `aws_iam_role_policy_attachment`), and flags statements that let it write or delete objects
    in a bucket that holds model artifacts (or in every bucket).

    ## Why is this bad?
    Serving needs read access to one model. Write access turns any remote code execution in the
    server (a malicious pickle, a deserialisation bug, a prompt-injected tool) into model
    poisoning: the attacker replaces the weights every replica loads on its next restart, and
    every other model in the bucket with them.

    ## Example
    ```hcl
    statement {
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["arn:aws:s3:::acme-models/*"]
    }
    ```

    ## Fix
    Give the serving role `s3:GetObject` (and `s3:ListBucket` if the server lists) on the
    model's prefix only; keep uploads in the training or CI role.
    """
    role = _role_of(resource, ctx)
    if role is None:
        return
    identity = ctx.facts.identity
    servers = [
        (ns, sa, place)
        for ns, sa, place in identity.trusts.get(("aws", role), [])
        if identity.model_servers.get((ns, sa))
    ]
    if not servers:
        return
    namespace, account, trust = servers[0]
    workload = identity.model_servers[(namespace, account)][0]
    documents = policy_documents(resource)
    if resource.kind == "aws_iam_role_policy_attachment":
        managed = resource.body.get("policy_arn")
        if (as_str(managed) or "").endswith(":policy/AmazonS3FullAccess") and ctx.facts.model_buckets:
            yield Hit(
                managed,
                f"AmazonS3FullAccess lets model server {workload.address} (ServiceAccount "
                f"{namespace}/{account}, role `{role}`) change model artifacts",
                related=(
                    (workload.span, f"{workload.address} runs as {namespace}/{account}"),
                    (trust.span, f"role `{role}` trusts {namespace}/{account}"),
                ),
            )
            return
        documents = _attached_documents(resource, ctx)
    for document in documents:
        for statement in statements(document):
            if not statement.allows:
                continue
            granted = [item for action in _WRITE_ACTIONS for item in statement.action_matches(action)]
            if not granted or not _touches_model_bucket(statement, ctx.facts):
                continue
            action = as_str(granted[0])
            yield Hit(
                granted[0],
                f"`{action}` lets model server {workload.address} (ServiceAccount "
                f"{namespace}/{account}, role `{role}`) change model artifacts",
                related=(
                    (workload.span, f"{workload.address} runs as {namespace}/{account}"),
                    (trust.span, f"role `{role}` trusts {namespace}/{account}"),
                ),
            )
            break


def _role_of(resource, ctx) -> str | None:
    """The role name a policy resource belongs to."""
    if resource.kind == "aws_iam_role":
        return as_str(resource.body.get("name")) or resource.name
    target = resource.body.get("role")
    if target is None:
        return None
    if target.ref:
        reference = base_address(target.ref)
        for address in (reference.rsplit(".", 1)[0], reference):
            for role in ctx.at(address):
                if role.kind == "aws_iam_role":
                    return as_str(role.body.get("name")) or role.name
    return as_str(target)


def _attached_documents(attachment, ctx):
    policy_arn = attachment.body.get("policy_arn")
    reference = policy_arn.ref.split("[")[0] if policy_arn is not None and policy_arn.ref else None
    if reference is None:
        return
    for address in (reference, reference.rsplit(".", 1)[0]):
        for policy in ctx.at(address):
            if policy.kind == "aws_iam_policy":
                yield from policy_documents(policy)


def _touches_model_bucket(statement, facts) -> bool:
    for target in statement.values("Resource"):
        arn = as_str(target)
        if arn is None:
            continue
        if names_every_s3_resource(arn):
            return bool(facts.model_buckets)
        if arn.startswith("arn:aws:s3:::"):
            bucket = arn[len("arn:aws:s3:::") :].split("/", 1)[0]
            if facts.is_model_bucket(bucket):
                return True
    return False
