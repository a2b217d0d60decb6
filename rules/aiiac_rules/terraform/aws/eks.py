"""Cluster hardening (AIS6xx, AWS EKS)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_bool, strings
from aiiac_ls.rules import rule

from ..settings import equals, require


@rule(
    id="AIS601",
    unsafe_fix="kubectl and CI outside the VPC lose access to the cluster API",
    title="EKS API endpoint is open to the internet",
    severity="high",
    applies_to={"aws_eks_cluster"},
    source="terraform",
    equivalents={
        "checkov": ["CKV_AWS_38", "CKV_AWS_39"],
        "trivy": ["AVD-AWS-0040", "AVD-AWS-0041"],
        "tfsec": ["aws-eks-no-public-cluster-access", "aws-eks-no-public-cluster-access-to-cidr"],
    },
    references=["https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"],
    fixable=True,
)
def public_cluster_endpoint(resource, ctx):
    """## What it does
    Flags EKS clusters whose Kubernetes API endpoint is public (`endpoint_public_access`
    defaults to `true`) and reachable from `0.0.0.0/0` (the default of `public_access_cidrs`).

    ## Why is this bad?
    The API server of a cluster that runs GPU node groups and model servers is then one leaked
    kubeconfig, token or API-server vulnerability away from anyone on the internet: pods on GPU
    nodes for mining, `kubectl cp` of model weights, Secrets with model-hub and cloud tokens.

    ## Example
    ```hcl
    vpc_config {
      subnet_ids = var.private_subnets
    }
    ```

    Use instead:
    ```hcl
    vpc_config {
      subnet_ids              = var.private_subnets
      endpoint_private_access = true
      endpoint_public_access  = false
    }
    ```

    ## Fix
    Make the endpoint private (quick fix: `endpoint_private_access = true`,
    `endpoint_public_access = false`) and reach it through a VPN or bastion, or keep it public
    but restrict `public_access_cidrs` to your office and CI egress ranges.
    """
    for vpc_config in resource.body.blocks("vpc_config"):
        public = vpc_config.entry("endpoint_public_access")
        public_value = as_bool(public.value, None) if public is not None else True
        if public_value is not True:
            continue
        cidrs = vpc_config.get("public_access_cidrs")
        world = [c for c in strings(cidrs) if c.value == "0.0.0.0/0"]
        if cidrs is not None and not world:
            continue  # restricted, or not known statically
        edits = [SetPath(vpc_config, ("endpoint_private_access",), True)]
        edits.append(
            ReplaceValue(public.value, False)
            if public is not None
            else SetPath(vpc_config, ("endpoint_public_access",), False)
        )
        fix = Fix("Make the EKS API endpoint private", tuple(edits))
        if world:
            yield Hit(world[0], "EKS API endpoint is public and open to 0.0.0.0/0", fix)
        elif public is not None:
            yield Hit(public, "EKS API endpoint is public and open to 0.0.0.0/0 (public_access_cidrs default)", fix)
        else:
            yield Hit(
                vpc_config.head or resource.head,
                "EKS API endpoint is public and open to 0.0.0.0/0 (provider defaults)",
                fix,
            )


@rule(
    id="AIS602",
    title="EKS secrets not envelope-encrypted with KMS",
    severity="medium",
    applies_to={"aws_eks_cluster"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_58"], "trivy": ["AVD-AWS-0039"], "tfsec": ["aws-eks-encrypt-secrets"]},
    references=["https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html"],
)
def secrets_encryption(resource, ctx):
    """## What it does
    Flags EKS clusters without an `encryption_config` block that encrypts `secrets` with a KMS
    key.

    ## Why is this bad?
    Model-hub tokens, registry credentials, API keys of inference gateways and database
    passwords live in Kubernetes Secrets. Without envelope encryption they are stored in etcd
    protected only by the control plane's disk encryption; a KMS key adds a separate,
    auditable permission that an etcd backup or snapshot does not carry.

    ## Example
    ```hcl
    resource "aws_eks_cluster" "gpu" {
      name = "gpu"
      # no encryption_config
    }
    ```

    ## Fix
    ```hcl
    encryption_config {
      resources = ["secrets"]
      provider { key_arn = aws_kms_key.eks.arn }
    }
    ```
    """
    blocks = resource.body.blocks("encryption_config")
    if not blocks:
        yield Hit(resource.head, "cluster Secrets are not envelope-encrypted (no encryption_config)")
        return
    resources = blocks[0].get("resources")
    if resources is not None and resources.known and "secrets" not in [s.value for s in strings(resources)]:
        yield Hit(resources, "encryption_config does not cover `secrets`")


@rule(
    id="AIS603",
    title="EKS control-plane audit logging is off",
    severity="medium",
    applies_to={"aws_eks_cluster"},
    source="terraform",
    equivalents={
        "checkov": ["CKV_AWS_37"],
        "trivy": ["AVD-AWS-0038"],
        "tfsec": ["aws-eks-enable-control-plane-logging"],
    },
    references=["https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html"],
)
def control_plane_logging(resource, ctx):
    """## What it does
    Flags EKS clusters whose `enabled_cluster_log_types` does not include `api`, `audit` and
    `authenticator`.

    ## Why is this bad?
    The audit log is how you learn who ran `kubectl exec` into the model server, read the
    Secret with the Hugging Face token, or copied weights out with `kubectl cp`. Without it an
    incident on a GPU cluster has no trail.

    ## Example
    ```hcl
    enabled_cluster_log_types = ["api"]
    ```

    ## Fix
    `enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]`.
    """
    wanted = ("api", "audit", "authenticator")
    entry = resource.body.entry("enabled_cluster_log_types")
    if entry is None:
        yield Hit(resource.head, "control-plane logging is off (no enabled_cluster_log_types)")
        return
    if not entry.value.known:
        return
    missing = [kind for kind in wanted if kind not in [s.value for s in strings(entry.value)]]
    if missing:
        yield Hit(entry, f"control-plane log types {', '.join(missing)} are not enabled")


@rule(
    id="AIS604",
    title="EKS node group SSH open to any source",
    severity="high",
    applies_to={"aws_eks_node_group"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_100"], "trivy": ["AVD-AWS-0041"], "tfsec": []},
    references=["https://docs.aws.amazon.com/eks/latest/APIReference/API_RemoteAccessConfig.html"],
)
def node_group_ssh(resource, ctx):
    """## What it does
    Flags managed node groups with a `remote_access` block (an SSH key) and no
    `source_security_group_ids`: EKS then opens port 22 to `0.0.0.0/0`.

    ## Why is this bad?
    GPU nodes hold every model their pods loaded, in page cache and on local NVMe, plus the node
    IAM role. SSH from the internet to them is the shortest path from a leaked key to the weights.

    ## Example
    ```hcl
    remote_access {
      ec2_ssh_key = "ops"
    }
    ```

    ## Fix
    Set `source_security_group_ids` to a bastion's security group, or drop `remote_access` and use
    SSM Session Manager.
    """
    for block in resource.body.blocks("remote_access"):
        if block.get("ec2_ssh_key") is not None and block.get("source_security_group_ids") is None:
            yield Hit(block, "SSH key without source_security_group_ids: port 22 is open to the internet")


@rule(
    id="AIS605",
    unsafe_fix="pods that read instance credentials through IMDS lose them",
    title="GPU launch template allows IMDSv1 or pods reaching IMDS",
    severity="high",
    applies_to={"aws_launch_template"},
    source="terraform",
    equivalents={
        "checkov": ["CKV_AWS_79", "CKV_AWS_341"],
        "trivy": ["AVD-AWS-0130"],
        "tfsec": ["aws-ec2-enforce-launch-config-http-token-imds"],
    },
    references=["https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html"],
    fixable=True,
)
def launch_template_imds(resource, ctx):
    """## What it does
    Flags launch templates whose `metadata_options` do not require IMDSv2 tokens
    (`http_tokens = "required"`) or allow more than one network hop
    (`http_put_response_hop_limit` above 1), so pods can call the instance metadata service.

    ## Why is this bad?
    The node role of a GPU node group usually reads ECR and often S3. With IMDSv1, or a hop limit
    of 2, any pod on the node (a model server with a deserialisation bug, a notebook) can fetch
    the node's credentials and read every model the node may read, bypassing the per-pod IRSA
    scoping.

    ## Example
    ```hcl
    metadata_options {
      http_tokens                 = "optional"
      http_put_response_hop_limit = 2
    }
    ```

    ## Fix
    `http_tokens = "required"` and `http_put_response_hop_limit = 1` (quick fix for either).
    """
    yield from require(
        resource,
        "metadata_options.http_tokens",
        equals("required"),
        "required",
        'IMDSv1 is allowed (metadata_options.http_tokens is not set to "required")',
        "http_tokens = {value}: IMDSv1 is allowed",
    )
    yield from require(
        resource,
        "metadata_options.http_put_response_hop_limit",
        lambda v: v == 1,
        1,
        "",
        "http_put_response_hop_limit = {value}: pods can reach the instance metadata",
        absent_is_ok=True,
    )
