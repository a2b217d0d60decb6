"""GKE clusters and node pools that run models (AIS610-AIS617, Google Cloud)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue
from aiiac_ls.model.nodes import Mapping, as_bool, as_str, strings
from aiiac_ls.rules import rule

from ..settings import entry_at, is_true, require

TF = "terraform"
CLUSTER = {"google_container_cluster"}
POOLS = {"google_container_node_pool", "google_container_cluster"}
_REF = ["https://cloud.google.com/kubernetes-engine/docs/concepts/security-overview"]


def _node_configs(resource) -> list[Mapping]:
    """The node_config blocks a rule should see: a node pool's own, or a cluster's default pool."""
    return resource.body.blocks("node_config")


def _has_gpus(resource, node_config: Mapping) -> bool:
    if node_config.blocks("guest_accelerator") or node_config.get("guest_accelerator") is not None:
        return True
    machine = as_str(node_config.get("machine_type")) or ""
    return machine.startswith(("a2-", "a3-", "g2-", "ct"))


@rule(
    id="AIS610",
    unsafe_fix="clients that reach nodes or the control plane over public addresses lose access",
    title="GKE nodes or control plane have public addresses",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={
        "checkov": ["CKV_GCP_25", "CKV_GCP_18"],
        "trivy": ["AVD-GCP-0059"],
        "tfsec": ["google-gke-enable-private-cluster"],
    },
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters"],
    fixable=True,
)
def private_cluster(resource, ctx):
    """## What it does
    Flags GKE clusters without `private_cluster_config { enable_private_nodes = true }`.

    ## Why is this bad?
    With public nodes every GPU node has an external IP: node ports, the kubelet and any
    `hostNetwork` model server are one firewall mistake from the internet, and egress from a
    compromised pod needs no NAT you control.

    ## Example
    ```hcl
    resource "google_container_cluster" "gpu" {
      name = "gpu"
    }
    ```

    ## Fix
    `private_cluster_config { enable_private_nodes = true  enable_private_endpoint = true
    master_ipv4_cidr_block = "172.16.0.0/28" }`, with Cloud NAT for egress you allow.
    """
    yield from require(
        resource,
        "private_cluster_config.enable_private_nodes",
        is_true,
        True,
        "nodes get public IP addresses (no private_cluster_config)",
        "enable_private_nodes = {value}: nodes get public IP addresses",
    )


@rule(
    id="AIS611",
    title="GKE control plane reachable from any network",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_20"], "trivy": ["AVD-GCP-0061"], "tfsec": ["google-gke-enable-master-networks"]},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/authorized-networks"],
)
def master_authorized_networks(resource, ctx):
    """## What it does
    Flags GKE clusters without `master_authorized_networks_config` (unless the endpoint is
    private), and authorized networks that include `0.0.0.0/0`.

    ## Why is this bad?
    The Kubernetes API of a model-serving cluster answers to the whole internet: a leaked
    kubeconfig or service-account token, or an API-server vulnerability, is then enough to run
    pods on the GPU nodes and copy the weights out.

    ## Example
    ```hcl
    master_authorized_networks_config {
      cidr_blocks { cidr_block = "0.0.0.0/0" }
    }
    ```

    ## Fix
    List the office, VPN and CI ranges in `cidr_blocks`, or make the endpoint private.
    """
    private, _, _ = entry_at(resource.body, "private_cluster_config.enable_private_endpoint")
    config = resource.body.block("master_authorized_networks_config")
    if config is None:
        if private is None or as_bool(private.value) is not True:
            yield Hit(
                resource.head,
                "the control plane accepts connections from any network (no master_authorized_networks_config)",
            )
        return
    for block in config.blocks("cidr_blocks"):
        for cidr in strings(block.get("cidr_block")):
            if cidr.value in ("0.0.0.0/0", "::/0"):
                yield Hit(cidr, f"authorized network {cidr.value} is the whole internet")


@rule(
    id="AIS612",
    title="GKE cluster without Workload Identity",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_66"], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity"],
)
def cluster_workload_identity(resource, ctx):
    """## What it does
    Flags GKE clusters without `workload_identity_config { workload_pool = "<project>.svc.id.goog" }`
    (Autopilot clusters have it always).

    ## Why is this bad?
    Without a workload pool, pods that read models from GCS use the node's service account (the
    same for every pod on the node) or exported JSON keys. One compromised pod then reads every
    bucket the node may read.

    ## Example
    ```hcl
    resource "google_container_cluster" "gpu" {
      name = "gpu"
    }
    ```

    ## Fix
    `workload_identity_config { workload_pool = "${var.project}.svc.id.goog" }` and per-model
    Google service accounts bound to Kubernetes ServiceAccounts.
    """
    if as_bool(resource.body.get("enable_autopilot")) is True:
        return
    if resource.body.block("workload_identity_config") is None:
        yield Hit(resource.head, "no workload_identity_config: pods use the node's service account")


@rule(
    id="AIS613",
    unsafe_fix="pods that read node metadata (instance credentials) lose it",
    title="GPU node pool exposes the node metadata server",
    severity="high",
    applies_to=POOLS,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_69"], "trivy": ["AVD-GCP-0048"], "tfsec": ["google-gke-node-metadata-security"]},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#enable_on_node_pool"],
    fixable=True,
)
def node_metadata(resource, ctx):
    """## What it does
    Flags node pools (and a cluster's default `node_config`) with GPUs or GPU machine types
    whose `workload_metadata_config.mode` is not `GKE_METADATA`.

    ## Why is this bad?
    Without the GKE metadata server, pods on GPU nodes reach the Compute Engine metadata server
    directly and get the node service account's token: Workload Identity is bypassed, and any
    pod can read what the node may read.

    ## Example
    ```hcl
    node_config {
      machine_type = "a2-highgpu-1g"
    }
    ```

    ## Fix
    `workload_metadata_config { mode = "GKE_METADATA" }` in the GPU pool's `node_config`.
    """
    for node_config in _node_configs(resource):
        if not _has_gpus(resource, node_config):
            continue
        entry, _, _ = entry_at(node_config, "workload_metadata_config.mode")
        if entry is None:
            yield Hit(node_config, "GPU nodes expose the node metadata server (no workload_metadata_config)")
        elif entry.value.known and as_str(entry.value) != "GKE_METADATA":
            yield Hit(
                entry,
                f'mode = "{as_str(entry.value)}": pods reach the node\'s credentials',
                Fix('Set mode = "GKE_METADATA"', (ReplaceValue(entry.value, "GKE_METADATA"),)),
            )


@rule(
    id="AIS614",
    unsafe_fix="workloads authorised only by ABAC lose their permissions",
    title="GKE legacy ABAC enabled",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_7"], "trivy": ["AVD-GCP-0064"], "tfsec": ["google-gke-no-legacy-authentication"]},
    references=_REF,
    fixable=True,
)
def legacy_abac(resource, ctx):
    """## What it does
    Flags GKE clusters with `enable_legacy_abac = true`.

    ## Why is this bad?
    Legacy ABAC grants broad permissions outside RBAC: RBAC rules that keep notebook users out of
    the serving namespace no longer hold.

    ## Example
    ```hcl
    enable_legacy_abac = true
    ```

    ## Fix
    `enable_legacy_abac = false` (quick fix) and RBAC roles per team.
    """
    yield from require(
        resource,
        "enable_legacy_abac",
        lambda v: v is False,
        False,
        "",
        "enable_legacy_abac = {value}: permissions bypass RBAC",
        absent_is_ok=True,
    )


@rule(
    id="AIS615",
    title="GKE cluster enforces no NetworkPolicy",
    severity="medium",
    applies_to=CLUSTER,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_12"], "trivy": ["AVD-GCP-0056"], "tfsec": ["google-gke-enable-network-policy"]},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/network-policy"],
)
def network_policy(resource, ctx):
    """## What it does
    Flags GKE clusters with neither `network_policy { enabled = true }` nor Dataplane V2
    (`datapath_provider = "ADVANCED_DATAPATH"`); Autopilot clusters always enforce policies.

    ## Why is this bad?
    Without enforcement, NetworkPolicies in the manifests are silently ignored: every pod can
    reach the model servers' management ports, metrics and the inference API directly.

    ## Example
    ```hcl
    resource "google_container_cluster" "gpu" {
      name = "gpu"
    }
    ```

    ## Fix
    `datapath_provider = "ADVANCED_DATAPATH"` (Dataplane V2), or `network_policy { enabled = true }`.
    """
    if as_bool(resource.body.get("enable_autopilot")) is True:
        return
    if as_str(resource.body.get("datapath_provider")) == "ADVANCED_DATAPATH":
        return
    entry, _, _ = entry_at(resource.body, "network_policy.enabled")
    if entry is None or (entry.value.known and as_bool(entry.value) is not True):
        yield Hit(entry or resource.head, "NetworkPolicies are not enforced (no network policy provider)")


@rule(
    id="AIS616",
    title="GKE nodes run as the default compute service account",
    severity="medium",
    applies_to=POOLS,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_30"], "trivy": ["AVD-GCP-0050"], "tfsec": ["google-gke-use-service-account"]},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa"],
)
def node_service_account(resource, ctx):
    """## What it does
    Flags node pools (and a cluster's default `node_config`) without `service_account`, or with
    the project's default compute service account.

    ## Why is this bad?
    The default compute service account has the Editor role in many projects. Every pod that
    reaches the node's credentials (see AIS613) then edits the project: model buckets, Vertex
    endpoints, IAM.

    ## Example
    ```hcl
    node_config {
      machine_type = "g2-standard-8"
    }
    ```

    ## Fix
    A dedicated service account with `roles/container.defaultNodeServiceAccount` and read access
    to the image registry only.
    """
    for node_config in _node_configs(resource):
        account = node_config.entry("service_account")
        if account is None:
            yield Hit(node_config, "nodes run as the default compute service account")
        elif (as_str(account.value) or "").endswith("-compute@developer.gserviceaccount.com"):
            yield Hit(account, "nodes run as the default compute service account")


@rule(
    id="AIS617",
    title="GPU node pool without a GPU taint",
    severity="low",
    applies_to={"google_container_node_pool"},
    source=TF,
    equivalents={"checkov": [], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/gpus#create"],
)
def gpu_pool_taint(resource, ctx):
    """## What it does
    Flags node pools with GPUs whose `node_config` has no `NoSchedule` taint.

    ## Why is this bad?
    Without a taint any pod may land on the GPU nodes: CI jobs, notebooks and third-party
    agents end up beside the model servers (sharing their node, page cache and local disks),
    and expensive GPU capacity is consumed by work that does not need it.

    ## Example
    ```hcl
    node_config {
      guest_accelerator { type = "nvidia-l4"  count = 1 }
    }
    ```

    ## Fix
    `taint { key = "nvidia.com/gpu"  value = "present"  effect = "NO_SCHEDULE" }`, with matching
    tolerations on the model servers.
    """
    for node_config in _node_configs(resource):
        if not _has_gpus(resource, node_config):
            continue
        effects = [as_str(t.get("effect")) for t in node_config.blocks("taint")]
        if "NO_SCHEDULE" not in effects and "NO_EXECUTE" not in effects:
            yield Hit(node_config, "GPU node pool has no NoSchedule taint: any pod may be scheduled on it")


@rule(
    id="AIS618",
    unsafe_fix="changing it recreates the node pool",
    title="GKE shielded nodes disabled",
    severity="medium",
    applies_to=CLUSTER,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_71"], "trivy": ["AVD-GCP-0055"], "tfsec": ["google-gke-enable-shielded-nodes"]},
    references=["https://cloud.google.com/kubernetes-engine/docs/how-to/shielded-gke-nodes"],
    fixable=True,
)
def shielded_nodes(resource, ctx):
    """## What it does
    Flags GKE clusters with `enable_shielded_nodes = false` (shielded nodes are on by default).

    ## Why is this bad?
    Shielded nodes verify the node's boot chain and identity: without them a compromised pod that
    escapes to a GPU node can persist below the OS, and a rogue machine can impersonate a node to
    join the cluster and receive model-serving pods and their secrets.

    ## Example
    ```hcl
    enable_shielded_nodes = false
    ```

    ## Fix
    Remove the setting or set it to `true` (quick fix).
    """
    yield from require(
        resource,
        "enable_shielded_nodes",
        is_true,
        True,
        "",
        "enable_shielded_nodes = {value}: node identity and boot integrity are not verified",
        absent_is_ok=True,
    )
