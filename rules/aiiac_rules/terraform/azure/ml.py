"""Azure Machine Learning, Azure OpenAI / AI services, storage and network (AIS216, AIS418,
AIS520-AIS524)."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import as_bool, as_str, strings
from aiiac_ls.rules import rule

from ...serving import exposed_in_ranges, port_ranges
from ..settings import is_true, require

TF = "terraform"
COGNITIVE = {"azurerm_cognitive_account", "azurerm_ai_services"}


@rule(
    id="AIS520",
    unsafe_fix="clients outside the private network lose access to the workspace",
    title="Azure ML workspace reachable from public networks",
    severity="high",
    applies_to={"azurerm_machine_learning_workspace"},
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_144"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/machine-learning/how-to-configure-private-link"],
    fixable=True,
)
def aml_public_network(resource, ctx):
    """## What it does
    Flags Azure Machine Learning workspaces whose `public_network_access_enabled` is not `false`
    (it defaults to `true`).

    ## Why is this bad?
    The workspace holds the model registry, datastores with their credentials, compute and
    online endpoints. Reachable from any network, it is protected by Entra ID alone: one phished
    data scientist or leaked token downloads every registered model.

    ## Example
    ```hcl
    resource "azurerm_machine_learning_workspace" "ml" {
      name = "ml"
    }
    ```

    ## Fix
    `public_network_access_enabled = false` (quick fix) and a private endpoint.
    """
    yield from require(
        resource,
        "public_network_access_enabled",
        lambda v: v is False,
        False,
        "workspace accepts public network traffic (public_network_access_enabled defaults to true)",
        "public_network_access_enabled = {value}",
    )


@rule(
    id="AIS521",
    unsafe_fix="users who connect over the public IP or with local SSH lose access",
    title="Azure ML compute has a public IP or local SSH login",
    severity="high",
    applies_to={"azurerm_machine_learning_compute_cluster", "azurerm_machine_learning_compute_instance"},
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_142"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/machine-learning/how-to-secure-training-vnet"],
    fixable=True,
)
def aml_compute(resource, ctx):
    """## What it does
    Flags Azure ML compute clusters and instances with a public IP (`node_public_ip_enabled`
    defaults to `true`) and with local authentication (`local_auth_enabled`, SSH users) left on.

    ## Why is this bad?
    Training and fine-tuning nodes read datasets and write checkpoints. A public IP exposes
    their SSH and Jupyter ports; local accounts bypass Entra ID and its conditional access.

    ## Example
    ```hcl
    resource "azurerm_machine_learning_compute_cluster" "gpu" {
      vm_size = "Standard_NC24ads_A100_v4"
    }
    ```

    ## Fix
    `node_public_ip_enabled = false` with a subnet, and `local_auth_enabled = false` (quick fix).
    """
    yield from require(
        resource,
        "node_public_ip_enabled",
        lambda v: v is False,
        False,
        "compute nodes get public IP addresses (node_public_ip_enabled defaults to true)",
        "node_public_ip_enabled = {value}",
    )
    yield from require(
        resource,
        "local_auth_enabled",
        lambda v: v is False,
        False,
        "local (SSH) authentication is enabled (local_auth_enabled defaults to true)",
        "local_auth_enabled = {value}",
    )


@rule(
    id="AIS522",
    unsafe_fix="clients outside the private network lose access",
    title="Azure OpenAI / AI services reachable from public networks",
    severity="high",
    applies_to=COGNITIVE,
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_134"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/ai-services/cognitive-services-virtual-networks"],
    fixable=True,
)
def cognitive_public_network(resource, ctx):
    """## What it does
    Flags Azure OpenAI and AI services accounts whose `public_network_access_enabled` is not
    `false` (default `true`) and that have no `network_acls { default_action = "Deny" }`.

    ## Why is this bad?
    The account serves your model deployments (and fine-tuned models trained on your data).
    Reachable from everywhere, a leaked key or token is enough to run it at your cost, extract
    fine-tuned behaviour and read stored files and assistants.

    ## Example
    ```hcl
    resource "azurerm_cognitive_account" "openai" {
      kind = "OpenAI"
    }
    ```

    ## Fix
    `public_network_access_enabled = false` with a private endpoint, or network ACLs that deny
    by default.
    """
    acls = resource.body.block("network_acls")
    if acls is not None and as_str(acls.get("default_action")) == "Deny":
        return
    yield from require(
        resource,
        "public_network_access_enabled",
        lambda v: v is False,
        False,
        "account accepts traffic from any network (public network access is on and no network_acls deny by default)",
        "public_network_access_enabled = {value}",
    )


@rule(
    id="AIS523",
    unsafe_fix="clients that authenticate with API keys lose access",
    title="Azure OpenAI / AI services accept API keys",
    severity="medium",
    applies_to=COGNITIVE,
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_236"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/ai-services/disable-local-auth"],
    fixable=True,
)
def cognitive_local_auth(resource, ctx):
    """## What it does
    Flags accounts whose `local_auth_enabled` is not `false` (API keys work by default).

    ## Why is this bad?
    API keys are shared, long-lived and end up in notebooks, `.env` files and client apps; they
    carry no identity, so a leaked key is full, anonymous use of every deployment. Entra ID
    tokens are scoped, short-lived and logged per caller.

    ## Example
    ```hcl
    resource "azurerm_cognitive_account" "openai" {
      kind = "OpenAI"
    }
    ```

    ## Fix
    `local_auth_enabled = false` (quick fix) and role assignments (`Cognitive Services OpenAI User`).
    """
    yield from require(
        resource,
        "local_auth_enabled",
        lambda v: v is False,
        False,
        "API keys are accepted (local_auth_enabled defaults to true)",
        "local_auth_enabled = {value}",
    )


@rule(
    id="AIS524",
    unsafe_fix="calls to endpoints not on the allow-list fail",
    title="Azure OpenAI / AI services outbound access unrestricted",
    severity="medium",
    applies_to=COGNITIVE,
    source=TF,
    equivalents={"checkov": ["CKV_AZURE_247"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/ai-services/cognitive-services-data-loss-prevention"],
    fixable=True,
)
def cognitive_outbound(resource, ctx):
    """## What it does
    Flags accounts without `outbound_network_access_restricted = true` (data loss prevention).

    ## Why is this bad?
    Features such as "on your data", web search and tools make the service fetch URLs. Without
    the restriction a prompt-injected request can make it send conversation data to any host.

    ## Example
    ```hcl
    resource "azurerm_cognitive_account" "openai" {
      kind = "OpenAI"
    }
    ```

    ## Fix
    `outbound_network_access_restricted = true` (quick fix) and `fqdns` listing the hosts it may reach.
    """
    yield from require(
        resource,
        "outbound_network_access_restricted",
        is_true,
        True,
        "the service may send data to any host (outbound_network_access_restricted is not set)",
        "outbound_network_access_restricted = {value}",
    )


@rule(
    id="AIS418",
    title="Storage account open to public networks or anonymous reads",
    severity="high",
    applies_to={"azurerm_storage_account"},
    source=TF,
    equivalents={
        "checkov": ["CKV_AZURE_59", "CKV_AZURE_190", "CKV_AZURE_35"],
        "trivy": ["AVD-AZU-0007"],
        "tfsec": ["azure-storage-default-action-deny"],
    },
    references=["https://learn.microsoft.com/azure/storage/common/storage-network-security"],
)
def storage_account_public(resource, ctx):
    """## What it does
    Flags storage accounts that allow anonymous blob access (`allow_nested_items_to_be_public`,
    default `true` in older providers), or accept traffic from all networks: no
    `network_rules { default_action = "Deny" }` and public network access not disabled.

    ## Why is this bad?
    Azure ML datastores and model registries keep weights, checkpoints and datasets in storage
    accounts. Anonymous access makes a container public with one setting; the default network
    action `Allow` makes the account reachable from anywhere with a leaked SAS token or key.

    ## Example
    ```hcl
    resource "azurerm_storage_account" "models" {
      account_tier             = "Standard"
      account_replication_type = "ZRS"
    }
    ```

    ## Fix
    `allow_nested_items_to_be_public = false`, `public_network_access_enabled = false` or
    `network_rules { default_action = "Deny" }` with the subnets and private endpoints that need it.
    """
    nested = resource.body.entry("allow_nested_items_to_be_public")
    if nested is None or (nested.value.known and as_bool(nested.value) is not False):
        yield Hit(
            nested or resource.head,
            "containers may be made public (allow_nested_items_to_be_public is not false)",
            equivalents={"checkov": ["CKV_AZURE_190"]},
        )
    if as_bool(resource.body.get("public_network_access_enabled")) is False:
        return
    rules = resource.body.block("network_rules")
    action = rules.entry("default_action") if rules is not None else None
    if action is None or (action.value.known and as_str(action.value) != "Deny"):
        yield Hit(
            action or resource.head,
            "the account accepts traffic from all networks (default action is not Deny)",
            equivalents={"checkov": ["CKV_AZURE_35", "CKV_AZURE_59"]},
        )


@rule(
    id="AIS216",
    title="NSG rule opens SSH or a model port to the internet",
    severity="high",
    applies_to={"azurerm_network_security_rule", "azurerm_network_security_group"},
    source=TF,
    equivalents={
        "checkov": ["CKV_AZURE_10", "CKV_AZURE_160"],
        "trivy": ["AVD-AZU-0047"],
        "tfsec": ["azure-network-no-public-ingress"],
    },
    references=["https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview"],
)
def open_nsg(resource, ctx):
    """## What it does
    Flags inbound `Allow` NSG rules (standalone or inline `security_rule` blocks) from `*`,
    `Internet`, `Any` or `0.0.0.0/0` to SSH, a model-serving port or every port.

    ## Why is this bad?
    Model servers answer without authentication by default: an open inference port is free GPU
    time and a way to extract the model through its outputs; open management ports (TorchServe
    8081, Ray 8265, Jupyter 8888) are remote code execution on the GPU node.

    ## Example
    ```hcl
    security_rule {
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      source_address_prefix      = "*"
      destination_port_range     = "8000"
    }
    ```

    ## Fix
    Allow only the application gateway's or your networks' prefixes, and authenticate in front of
    the model server.
    """
    blocks = (
        resource.body.blocks("security_rule") if resource.kind == "azurerm_network_security_group" else [resource.body]
    )
    for block in blocks:
        if (as_str(block.get("direction")) or "").lower() != "inbound" or (
            as_str(block.get("access")) or ""
        ).lower() != "allow":
            continue
        sources = [
            s
            for s in strings(block.get("source_address_prefix")) + strings(block.get("source_address_prefixes"))
            if s.value in ("*", "Internet", "Any", "0.0.0.0/0", "::/0")
        ]
        if not sources:
            continue
        ports = _nsg_ports(block, ctx.settings.model_ports)
        if ports:
            yield Hit(sources[0], f"inbound from {sources[0].value} to {', '.join(ports[:4])}")


def _nsg_ports(block, extra: frozenset[int]) -> list[str]:
    protocol = (as_str(block.get("protocol")) or "*").lower()
    if protocol not in ("tcp", "*"):
        return []
    return exposed_in_ranges(
        port_ranges(block.get("destination_port_range")) + port_ranges(block.get("destination_port_ranges")), extra
    )


@rule(
    id="AIS525",
    title="Azure OpenAI / AI services not encrypted with a customer key",
    severity="medium",
    applies_to=COGNITIVE,
    source=TF,
    equivalents={"checkov": ["CKV2_AZURE_22"], "trivy": [], "tfsec": []},
    references=["https://learn.microsoft.com/azure/ai-services/openai/encrypt-data-at-rest"],
)
def cognitive_cmk(resource, ctx):
    """## What it does
    Flags Azure OpenAI and AI services accounts without a `customer_managed_key` block.

    ## Why is this bad?
    The account stores fine-tuning data, fine-tuned model weights, uploaded files and assistant
    threads. With Microsoft-managed keys you cannot revoke access to them independently of the
    account, nor audit every decryption.

    ## Example
    ```hcl
    resource "azurerm_cognitive_account" "openai" {
      kind = "OpenAI"
    }
    ```

    ## Fix
    `customer_managed_key { key_vault_key_id = azurerm_key_vault_key.openai.id  identity_client_id = ... }`.
    """
    if resource.body.block("customer_managed_key") is None and resource.body.get("customer_managed_key") is None:
        yield Hit(resource.head, "data at rest uses Microsoft-managed keys (no customer_managed_key)")
