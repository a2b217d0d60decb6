"""AKS clusters and GPU node pools (AIS620-AIS623, Azure)."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import as_bool, as_str, strings
from aiiac_ls.rules import rule

TF = "terraform"
CLUSTER = {"azurerm_kubernetes_cluster"}
_GPU_SIZES = ("standard_nc", "standard_nd", "standard_nv", "standard_ng")  # lower case: Azure ignores case


def is_gpu_size(vm_size: str | None) -> bool:
    """A GPU VM size (NC, ND, NV, NG families), however it is capitalised (`standard_nc6s_v3`)."""
    return (vm_size or "").lower().startswith(_GPU_SIZES)


@rule(
    id="AIS620",
    title="AKS API server reachable from any network",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={
        "checkov": ["CKV_AZURE_6", "CKV_AZURE_115"],
        "trivy": ["AVD-AZU-0041"],
        "tfsec": ["azure-container-limit-authorized-ips"],
    },
    references=["https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges"],
)
def aks_api_server(resource, ctx):
    """## What it does
    Flags AKS clusters that are neither private (`private_cluster_enabled = true`) nor limited to
    `api_server_access_profile { authorized_ip_ranges }` (or the older provider's top-level
    `api_server_authorized_ip_ranges`), and authorized ranges with `0.0.0.0/0`.

    ## Why is this bad?
    The API server of a GPU cluster answers to the internet: a leaked kubeconfig, token or API
    vulnerability is enough to run pods on the GPU nodes and copy the models they serve.

    ## Example
    ```hcl
    resource "azurerm_kubernetes_cluster" "gpu" {
      name       = "gpu"
      dns_prefix = "gpu"
    }
    ```

    ## Fix
    `private_cluster_enabled = true`, or authorized IP ranges for the offices, VPN and CI.
    """
    if as_bool(resource.body.get("private_cluster_enabled")) is True:
        return
    profile = resource.body.block("api_server_access_profile")
    # azurerm < 4 wrote the ranges as a top-level `api_server_authorized_ip_ranges`; both count
    written = [
        node
        for node in (
            profile.get("authorized_ip_ranges") if profile is not None else None,
            resource.body.get("api_server_authorized_ip_ranges"),
        )
        if node is not None
    ]
    ranges = [cidr for node in written for cidr in strings(node)]
    if not ranges:
        if written:
            return  # not known statically
        yield Hit(
            resource.head, "the API server accepts connections from any network (not private, no authorized IP ranges)"
        )
        return
    for cidr in ranges:
        if cidr.value in ("0.0.0.0/0", "::/0"):
            yield Hit(cidr, f"authorized IP range {cidr.value} is the whole internet")


@rule(
    id="AIS621",
    title="AKS local accounts or Kubernetes RBAC off",
    severity="high",
    applies_to=CLUSTER,
    source=TF,
    equivalents={
        "checkov": ["CKV_AZURE_141", "CKV_AZURE_5"],
        "trivy": ["AVD-AZU-0042"],
        "tfsec": ["azure-container-use-rbac-permissions"],
    },
    references=["https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad"],
)
def aks_local_accounts(resource, ctx):
    """## What it does
    Flags AKS clusters that keep local accounts (`local_account_disabled` is not `true`) or
    disable Kubernetes RBAC (`role_based_access_control_enabled = false`).

    ## Why is this bad?
    The local `clusterAdmin` credential bypasses Entra ID: anyone who can call
    `listClusterAdminCredential` (or finds a saved kubeconfig) is cluster-admin with no
    per-person audit trail. Without RBAC every authenticated identity can do everything,
    including reading model-hub tokens from Secrets.

    ## Example
    ```hcl
    resource "azurerm_kubernetes_cluster" "gpu" {
      name = "gpu"
    }
    ```

    ## Fix
    `local_account_disabled = true` with `azure_active_directory_role_based_access_control { ... }`.
    """
    rbac = resource.body.entry("role_based_access_control_enabled")
    if rbac is not None and rbac.value.known and as_bool(rbac.value) is False:
        yield Hit(
            rbac,
            "Kubernetes RBAC is disabled",
            equivalents={"checkov": ["CKV_AZURE_5"], "tfsec": ["azure-container-use-rbac-permissions"]},
        )
    local = resource.body.entry("local_account_disabled")
    if local is None or (local.value.known and as_bool(local.value) is not True):
        yield Hit(
            local or resource.head,
            "local cluster-admin accounts are enabled (local_account_disabled is not true)",
            equivalents={"checkov": ["CKV_AZURE_141"], "trivy": ["AVD-AZU-0042"]},
        )


@rule(
    id="AIS622",
    title="AKS cluster enforces no NetworkPolicy",
    severity="medium",
    applies_to=CLUSTER,
    source=TF,
    equivalents={
        "checkov": ["CKV_AZURE_7"],
        "trivy": ["AVD-AZU-0043"],
        "tfsec": ["azure-container-configured-network-policy"],
    },
    references=["https://learn.microsoft.com/azure/aks/use-network-policies"],
)
def aks_network_policy(resource, ctx):
    """## What it does
    Flags AKS clusters without `network_profile { network_policy }` (azure, calico or cilium).

    ## Why is this bad?
    Without a policy engine the NetworkPolicies in your manifests are ignored: every pod reaches
    the model servers' inference, management and metrics ports.

    ## Example
    ```hcl
    network_profile {
      network_plugin = "azure"
    }
    ```

    ## Fix
    `network_policy = "cilium"` (with `network_data_plane = "cilium"`), `"azure"` or `"calico"`.
    """
    profile = resource.body.block("network_profile")
    policy = profile.entry("network_policy") if profile is not None else None
    if policy is None:
        yield Hit(
            profile if profile is not None else resource.head,
            "NetworkPolicies are not enforced (no network_profile.network_policy)",
        )


@rule(
    id="AIS623",
    title="GPU node pool without host encryption",
    severity="medium",
    applies_to={"azurerm_kubernetes_cluster_node_pool", "azurerm_kubernetes_cluster"},
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_227"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/aks/enable-host-encryption"],
)
def gpu_host_encryption(resource, ctx):
    """## What it does
    Flags GPU node pools (`vm_size` of the NC, ND, NV or NG families; a cluster's
    `default_node_pool` too) without `host_encryption_enabled = true`.

    ## Why is this bad?
    GPU nodes cache model weights on their OS and temporary disks (container image layers, the
    Hugging Face cache, Triton model repositories). Without host encryption the temp disk and
    caches are not encrypted at the host: snapshots and disk reuse can expose the weights.

    ## Example
    ```hcl
    resource "azurerm_kubernetes_cluster_node_pool" "a100" {
      vm_size = "Standard_NC24ads_A100_v4"
    }
    ```

    ## Fix
    `host_encryption_enabled = true` (the subscription feature `EncryptionAtHost` must be registered).
    """
    pools = (
        resource.body.blocks("default_node_pool") if resource.kind == "azurerm_kubernetes_cluster" else [resource.body]
    )
    for pool in pools:
        if not is_gpu_size(as_str(pool.get("vm_size"))):
            continue
        entry = pool.entry("host_encryption_enabled") or pool.entry("enable_host_encryption")
        if entry is None or (entry.value.known and as_bool(entry.value) is not True):
            yield Hit(
                entry or (pool.head if pool is not resource.body and pool.head else resource.head),
                "GPU node pool disks and caches are not encrypted at the host",
            )
