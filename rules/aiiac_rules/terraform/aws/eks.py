"""Cluster hardening (AIS6xx, AWS EKS)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_bool, strings
from aiiac_ls.rules import rule


@rule(
    id="AIS601", resource_only=True, title="EKS API endpoint is open to the internet", severity="high", applies_to={"aws_eks_cluster"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_38", "CKV_AWS_39"], "trivy": ["AVD-AWS-0040", "AVD-AWS-0041"],
                 "tfsec": ["aws-eks-no-public-cluster-access", "aws-eks-no-public-cluster-access-to-cidr"]},
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
        edits.append(ReplaceValue(public.value, False) if public is not None
                     else SetPath(vpc_config, ("endpoint_public_access",), False))
        fix = Fix("Make the EKS API endpoint private", tuple(edits))
        if world:
            yield Hit(world[0], "EKS API endpoint is public and open to 0.0.0.0/0", fix)
        elif public is not None:
            yield Hit(public, "EKS API endpoint is public and open to 0.0.0.0/0 (public_access_cidrs default)", fix)
        else:
            yield Hit(vpc_config.head or resource.head,
                      "EKS API endpoint is public and open to 0.0.0.0/0 (provider defaults)", fix)
