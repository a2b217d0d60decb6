"""Vertex AI, firewall rules and project IAM (Google Cloud): AIS215, AIS306, AIS510-AIS512."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import Mapping, as_bool, as_str, strings
from aiiac_ls.rules import rule

from ...serving import exposed_in_ranges, port_ranges

TF = "terraform"
WORLD = ("0.0.0.0/0", "::/0")


def _ports(allow: Mapping, extra: frozenset[int]) -> list[str]:
    protocol = (as_str(allow.get("protocol")) or "").lower()
    if protocol == "all":
        return ["all ports"]
    if protocol not in ("tcp", "6"):
        return []
    if allow.get("ports") is None:  # no `ports`: the whole protocol
        return ["all TCP ports"]
    return exposed_in_ranges(port_ranges(allow.get("ports")), extra)  # numbers count as ports too


@rule(
    id="AIS215",
    title="Firewall rule opens SSH or a model port to the internet",
    severity="high",
    applies_to={"google_compute_firewall"},
    source=TF,
    equivalents={
        "checkov": ["CKV_GCP_2", "CKV_GCP_106"],
        "trivy": ["AVD-GCP-0027"],
        "tfsec": ["google-compute-no-public-ingress"],
    },
    references=["https://cloud.google.com/firewall/docs/firewalls"],
)
def open_firewall(resource, ctx):
    """## What it does
    Flags ingress firewall rules with `0.0.0.0/0` (or `::/0`) in `source_ranges` that allow SSH,
    a model-serving port (Triton, vLLM, TF Serving, TorchServe, KServe, Ray dashboard, Ollama,
    Jupyter, MLflow; plus `model-ports`) or every port.

    ## Why is this bad?
    Model servers answer without authentication by default: an open inference port is free GPU
    time and a data-exfiltration endpoint for anyone scanning the internet; an open management
    port (TorchServe 8081, Ray 8265) is remote code execution.

    ## Example
    ```hcl
    allow {
      protocol = "tcp"
      ports    = ["8000-8002"]
    }
    source_ranges = ["0.0.0.0/0"]
    ```

    ## Fix
    Restrict `source_ranges` to the load balancer's and your networks' ranges, and put an
    authenticating gateway in front of the model server.
    """
    if (as_str(resource.body.get("direction")) or "INGRESS") != "INGRESS":
        return
    world = [cidr for cidr in strings(resource.body.get("source_ranges")) if cidr.value in WORLD]
    if not world:
        return
    ports = [port for allow in resource.body.blocks("allow") for port in _ports(allow, ctx.settings.model_ports)]
    if ports:
        yield Hit(
            world[0],
            f"ingress from {world[0].value} to {', '.join(ports[:4])}"
            + (f" and {len(ports) - 4} more" if len(ports) > 4 else ""),
        )


@rule(
    id="AIS306",
    title="Primitive role granted to a default service account",
    severity="high",
    applies_to={"google_project_iam_member", "google_project_iam_binding"},
    source=TF,
    equivalents={"checkov": ["CKV_GCP_41", "CKV_GCP_46"], "trivy": ["AVD-GCP-0006"], "tfsec": []},
    references=["https://cloud.google.com/iam/docs/service-account-types#default"],
)
def primitive_role_default_account(resource, ctx):
    """## What it does
    Flags project IAM grants of `roles/owner`, `roles/editor` or `roles/viewer` to the default
    Compute Engine (`-compute@developer.gserviceaccount.com`) or App Engine
    (`@appspot.gserviceaccount.com`) service accounts.

    ## Why is this bad?
    Default service accounts run GKE nodes, Vertex custom jobs and notebooks unless told
    otherwise. With a primitive role, any code in them, including a model's custom handler or a
    notebook cell, can change IAM, read every bucket and deploy to every endpoint.

    ## Example
    ```hcl
    resource "google_project_iam_member" "nodes" {
      role   = "roles/editor"
      member = "serviceAccount:123456789012-compute@developer.gserviceaccount.com"
    }
    ```

    ## Fix
    Create dedicated service accounts with predefined roles for each workload.
    """
    role = as_str(resource.body.get("role"))
    if role not in ("roles/owner", "roles/editor", "roles/viewer"):
        return
    for member in strings(resource.body.get("member") or resource.body.get("members")):
        if member.value.endswith(("-compute@developer.gserviceaccount.com", "@appspot.gserviceaccount.com")):
            yield Hit(member, f"{role} granted to default service account {member.value.split(':', 1)[-1]}")


@rule(
    id="AIS510",
    title="Vertex AI endpoint reachable from the public internet",
    severity="medium",
    applies_to={"google_vertex_ai_endpoint"},
    source=TF,
    equivalents={"checkov": ["CKV_GCP_124"], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/vertex-ai/docs/predictions/using-private-endpoints"],
)
def vertex_endpoint_private(resource, ctx):
    """## What it does
    Flags Vertex AI endpoints with neither a `network` (VPC peering) nor
    `private_service_connect_config { enable_private_service_connect = true }`.

    ## Why is this bad?
    A public endpoint is protected only by IAM: a leaked service-account key or a mis-granted
    `aiplatform.user` lets anyone query the model from anywhere, extract it through its outputs
    and spend your accelerator budget, with no network control in between.

    ## Example
    ```hcl
    resource "google_vertex_ai_endpoint" "llm" {
      name         = "llm"
      display_name = "llm"
      location     = "us-central1"
    }
    ```

    ## Fix
    Set `network = "projects/<number>/global/networks/<vpc>"`, or enable Private Service Connect.
    """
    if resource.body.get("network") is not None:
        return
    config = resource.body.block("private_service_connect_config")
    if config is not None and as_bool(config.get("enable_private_service_connect")) is True:
        return
    yield Hit(resource.head, "endpoint is served on the public internet (no network or Private Service Connect)")


VERTEX_CMEK = {
    "google_vertex_ai_endpoint",
    "google_vertex_ai_dataset",
    "google_vertex_ai_featurestore",
    "google_vertex_ai_tensorboard",
    "google_vertex_ai_metadata_store",
    "google_vertex_ai_index",
}


@rule(
    id="AIS511",
    title="Vertex AI resource not encrypted with a customer-managed key",
    severity="medium",
    applies_to=VERTEX_CMEK,
    source=TF,
    equivalents={"checkov": ["CKV_GCP_92", "CKV_GCP_96"], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/vertex-ai/docs/general/cmek"],
)
def vertex_cmek(resource, ctx):
    """## What it does
    Flags Vertex AI endpoints, datasets, featurestores, TensorBoards, metadata stores and indexes
    without `encryption_spec { kms_key_name }`.

    ## Why is this bad?
    These hold training data, features, embeddings and deployed models. With Google-managed
    keys you cannot audit or revoke decryption separately from Vertex permissions.

    ## Example
    ```hcl
    resource "google_vertex_ai_dataset" "prompts" {
      display_name        = "prompts"
      metadata_schema_uri = "gs://google-cloud-aiplatform/schema/dataset/metadata/text_1.0.0.yaml"
    }
    ```

    ## Fix
    `encryption_spec { kms_key_name = google_kms_crypto_key.vertex.id }`.
    """
    if resource.body.block("encryption_spec") is None:
        yield Hit(resource.head, f"{resource.kind} uses Google-managed encryption keys (no encryption_spec)")


@rule(
    id="AIS512",
    title="Vertex Workbench instance has a public IP",
    severity="high",
    applies_to={"google_workbench_instance", "google_notebooks_instance"},
    source=TF,
    equivalents={"checkov": ["CKV_GCP_89"], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/vertex-ai/docs/workbench/instances/create#network"],
)
def workbench_public_ip(resource, ctx):
    """## What it does
    Flags Vertex AI Workbench instances (`google_workbench_instance`: `gce_setup.disable_public_ip`;
    legacy `google_notebooks_instance`: `no_public_ip`) that get an external IP address.

    ## Why is this bad?
    Notebooks run arbitrary code with a service account that usually reads datasets and models.
    A public IP makes the Jupyter proxy and any port a user opens reachable and lets code send
    data anywhere, bypassing VPC egress controls.

    ## Example
    ```hcl
    resource "google_workbench_instance" "research" {
      name     = "research"
      location = "us-central1-a"
    }
    ```

    ## Fix
    `gce_setup { disable_public_ip = true }` (Workbench) or `no_public_ip = true` (legacy notebooks).
    """
    if resource.kind == "google_notebooks_instance":
        entry = resource.body.entry("no_public_ip")
        if entry is None or (entry.value.known and as_bool(entry.value) is not True):
            yield Hit(entry or resource.head, "notebook instance gets a public IP (no_public_ip is not true)")
        return
    setup = resource.body.block("gce_setup")
    entry = setup.entry("disable_public_ip") if setup is not None else None
    if entry is None or (entry.value.known and as_bool(entry.value) is not True):
        yield Hit(
            entry or (setup if setup is not None else resource.head),
            "Workbench instance gets a public IP (gce_setup.disable_public_ip is not true)",
        )
