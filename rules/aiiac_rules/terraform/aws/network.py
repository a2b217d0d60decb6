"""Exposure (AIS2xx, AWS): security groups that open model servers and SSH to the internet."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import Mapping, as_int, as_list, as_str, strings
from aiiac_ls.rules import base_address, rule

from ...serving import exposed_ports

WORLD = ("0.0.0.0/0", "::/0")
SG_TYPES = frozenset({"aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"})


def _sensitive_ports(from_port: int, to_port: int, protocol: str | None, extra: frozenset[int]) -> list[str]:
    """The sensitive ports an ingress range opens, described for a message."""
    if protocol in ("-1", "all"):
        return ["all ports"]
    if protocol is not None and protocol.lower() not in ("tcp", "6"):
        return []
    found = exposed_ports(from_port, to_port, extra)
    if len(found) > 4:
        found = [*found[:4], f"{len(found) - 4} more"]
    return found


def _check_rule(body: Mapping, cidr_keys: tuple[str, ...], protocol_key: str, extra: frozenset[int]):
    protocol = as_str(body.get(protocol_key))
    from_port, to_port = as_int(body.get("from_port")), as_int(body.get("to_port"))
    if protocol not in ("-1", "all") and (from_port is None or to_port is None):
        return  # ports not known statically
    ports = _sensitive_ports(from_port or 0, to_port or 65535, protocol, extra)
    if not ports:
        return
    for key in cidr_keys:
        for cidr in strings(body.get(key)):
            if cidr.value in WORLD:
                yield Hit(cidr, f"ingress from {cidr.value} to {', '.join(ports)}")


@rule(
    id="AIS202",
    title="Security group opens SSH or a model port to the internet",
    severity="high",
    applies_to=SG_TYPES,
    source="terraform",
    equivalents={
        "checkov": ["CKV_AWS_24", "CKV_AWS_277"],
        "trivy": ["AVD-AWS-0107"],
        "tfsec": ["aws-ec2-no-public-ingress-sgr"],
    },
    references=["https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"],
)
def open_security_group(resource, ctx):
    """## What it does
    Flags ingress rules from `0.0.0.0/0` or `::/0` that open SSH (22), all ports, or a
    model-serving port (TF Serving 8500/8501, Triton 8000-8002, TorchServe/KServe 8080-8082, Ray
    dashboard 8265, Ollama 11434, Gradio 7860, Jupyter 8888, MLflow 5000, and `model-ports`
    from the configuration), in `aws_security_group` ingress blocks, `aws_security_group_rule`
    and `aws_vpc_security_group_ingress_rule`.

    ## Why is this bad?
    GPU instances are scanned within minutes of getting a public address. An open inference port
    gives free use of your GPUs and the model; the Ray dashboard and Jupyter give remote code
    execution by design; SSH to a GPU node is one weak key away from the instance role and the
    model artifacts it can read.

    ## Example
    ```hcl
    ingress {
      from_port   = 8000
      to_port     = 8002
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
    ```

    ## Fix
    Allow only the load balancer's security group or your VPC CIDR, reach nodes through SSM
    Session Manager instead of SSH, and publish inference through an authenticated gateway.
    """
    extra = ctx.settings.model_ports
    body = resource.body
    if resource.kind == "aws_security_group":
        for ingress in body.blocks("ingress"):
            yield from _check_rule(ingress, ("cidr_blocks", "ipv6_cidr_blocks"), "protocol", extra)
    elif resource.kind == "aws_security_group_rule":
        if as_str(body.get("type")) == "ingress":
            yield from _check_rule(body, ("cidr_blocks", "ipv6_cidr_blocks"), "protocol", extra)
    else:
        yield from _check_rule(body, ("cidr_ipv4", "cidr_ipv6"), "ip_protocol", extra)


_GPU_FAMILIES = ("p2.", "p3", "p4", "p5", "g4", "g5", "g6", "inf1.", "inf2.", "trn1", "trn2", "dl1.")


def _gpu_instance(node) -> bool:
    return any(str(item.value).startswith(_GPU_FAMILIES) for item in strings(node))


def _gpu_security_groups(ctx) -> set[str]:
    """Addresses of the security groups that GPU instances start with: those of launch templates
    with a GPU instance_type, or used by an EKS node group with GPU instance_types. Built once."""
    templates = [t for t in ctx.of_kind("aws_launch_template") if _gpu_instance(t.body.get("instance_type"))]
    for group in ctx.of_kind("aws_eks_node_group"):
        if not _gpu_instance(group.body.get("instance_types")):
            continue
        for block in group.body.blocks("launch_template"):
            target = block.get("id") or block.get("name")
            if target is not None and target.ref:
                templates += [t for t in ctx.at(target.ref) if t.kind == "aws_launch_template"]
    groups: set[str] = set()
    for template in templates:
        nodes = [template.body.get("vpc_security_group_ids")]
        nodes += [n.get("security_groups") for n in template.body.blocks("network_interfaces")]
        for node in nodes:
            groups.update(
                base_address(item.ref)
                for item in (as_list(node) if node is not None else [])
                if item is not None and item.ref
            )
    return groups


@rule(
    id="AIS217",
    title="GPU nodes may send traffic anywhere",
    severity="medium",
    applies_to={"aws_security_group"},
    source="terraform",
    equivalents={"checkov": [], "trivy": ["AVD-AWS-0104"], "tfsec": ["aws-ec2-no-public-egress-sgr"]},
    references=["https://docs.aws.amazon.com/eks/latest/best-practices/network-security.html"],
)
def gpu_node_egress(resource, ctx):
    """## What it does
    Flags security groups attached to GPU nodes (a launch template with a GPU instance type, or
    used by an EKS node group with GPU `instance_types`) that allow all egress to `0.0.0.0/0`.

    ## Why is this bad?
    GPU nodes hold the weights of every model they serve, in memory, page cache and local disks.
    Open egress lets a compromised model server or a malicious model file upload them anywhere,
    and lets cryptominers reach their pools. Serving needs the registry, the object store
    (through VPC endpoints) and the cluster, not the internet.

    ## Example
    ```hcl
    egress {
      from_port   = 0
      to_port     = 0
      protocol    = "-1"
      cidr_blocks = ["0.0.0.0/0"]
    }
    ```

    ## Fix
    Allow egress to the VPC and its endpoints (S3 gateway, ECR, STS), or through an egress proxy
    with an allow-list.
    """
    if base_address(resource.address) not in ctx.index(_gpu_security_groups):
        return
    for block in resource.body.blocks("egress"):
        if as_str(block.get("protocol")) not in ("-1", "all"):
            continue
        for cidr in strings(block.get("cidr_blocks")) + strings(block.get("ipv6_cidr_blocks")):
            if cidr.value in WORLD:
                yield Hit(cidr, f"GPU nodes may send any traffic to {cidr.value}")
