"""Model-artifact storage (AIS4xx, Google Cloud Storage)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_bool, as_str, strings
from aiiac_ls.rules import rule

from ..settings import entry_at, equals, require

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_MEMBER_KEYS = {
    "google_storage_bucket_iam_member": ("member",),
    "google_storage_bucket_iam_binding": ("members",),
    "google_storage_bucket_access_control": ("entity",),
    "google_storage_default_object_access_control": ("entity",),
    "google_storage_object_access_control": ("entity",),
    "google_storage_bucket_acl": ("role_entity", "default_acl"),
    "google_storage_default_object_acl": ("role_entity",),
}


@rule(
    id="AIS403",
    title="GCS bucket is public",
    severity="critical",
    applies_to=set(_MEMBER_KEYS),
    source="terraform",
    equivalents={"checkov": ["CKV_GCP_28"], "trivy": ["AVD-GCP-0001"], "tfsec": ["google-storage-no-public-access"]},
    references=["https://cloud.google.com/storage/docs/access-control/making-data-public"],
)
def public_gcs_bucket(resource, ctx):
    """## What it does
    Flags IAM members, bindings and ACL entries that grant a Cloud Storage bucket or its objects
    to `allUsers` or `allAuthenticatedUsers`.

    ## Why is this bad?
    Vertex AI and GKE model servers load weights from GCS. `allUsers` publishes every model,
    checkpoint and dataset in the bucket to the internet; `allAuthenticatedUsers` means any Google
    account, which is no restriction at all. With a writer role, anyone can replace the model.

    ## Example
    ```hcl
    resource "google_storage_bucket_iam_member" "public" {
      bucket = google_storage_bucket.models.name
      role   = "roles/storage.objectViewer"
      member = "allUsers"
    }
    ```

    ## Fix
    Grant the role to the serving service account (`serviceAccount:...`) or a group instead, and
    enforce `public_access_prevention` on the bucket.
    """
    for key in _MEMBER_KEYS.get(resource.kind, ()):
        for member in strings(resource.body.get(key)):
            if any(member.value == public or member.value.endswith(":" + public) for public in PUBLIC_MEMBERS):
                yield Hit(member, f"grants the bucket to `{member.value}`")


@rule(
    id="AIS404",
    title="GCS bucket without uniform bucket-level access",
    severity="medium",
    applies_to={"google_storage_bucket"},
    source="terraform",
    equivalents={"checkov": ["CKV_GCP_29"], "trivy": ["AVD-GCP-0002"], "tfsec": ["google-storage-enable-ubla"]},
    references=["https://cloud.google.com/storage/docs/uniform-bucket-level-access"],
    fixable=True,
)
def uniform_bucket_level_access(resource, ctx):
    """## What it does
    Flags `google_storage_bucket` without `uniform_bucket_level_access = true`.

    ## Why is this bad?
    With fine-grained ACLs, any object can carry its own ACL, so a single upload (a checkpoint
    pushed by a training job with a `publicRead` predefined ACL) can expose one model while the
    bucket's IAM looks private. Uniform access makes bucket IAM the only gate, which is what
    reviews and audits look at.

    ## Example
    ```hcl
    resource "google_storage_bucket" "models" {
      name     = "acme-models"
      location = "US"
    }
    ```

    ## Fix
    Set `uniform_bucket_level_access = true` (quick fix).
    """
    entry = resource.body.entry("uniform_bucket_level_access")
    if entry is None:
        yield Hit(
            resource.head,
            "bucket uses fine-grained object ACLs (uniform bucket-level access is off)",
            Fix(
                "Set uniform_bucket_level_access = true",
                (SetPath(resource.body, ("uniform_bucket_level_access",), True),),
            ),
        )
    elif as_bool(entry.value) is False:
        yield Hit(
            entry,
            "uniform bucket-level access is disabled",
            Fix("Set uniform_bucket_level_access = true", (ReplaceValue(entry.value, True),)),
        )


@rule(
    id="AIS414",
    unsafe_fix="consumers that rely on public access to the bucket lose it",
    title="GCS bucket does not enforce public access prevention",
    severity="medium",
    applies_to={"google_storage_bucket"},
    source="terraform",
    equivalents={"checkov": ["CKV_GCP_114"], "trivy": [], "tfsec": []},
    references=["https://cloud.google.com/storage/docs/public-access-prevention"],
    fixable=True,
)
def public_access_prevention(resource, ctx):
    """## What it does
    Flags buckets whose `public_access_prevention` is not `enforced` (the default `inherited`
    leaves it to an organisation policy that may not exist).

    ## Why is this bad?
    Public access prevention makes `allUsers` and `allAuthenticatedUsers` grants fail, whoever
    adds them and however (console, gsutil, a chart's bootstrap job). For buckets of weights and
    datasets it is the guard rail that turns a mistake into an error instead of a leak.

    ## Example
    ```hcl
    resource "google_storage_bucket" "models" {
      name     = "acme-models"
      location = "US"
    }
    ```

    ## Fix
    `public_access_prevention = "enforced"` (quick fix).
    """
    yield from require(
        resource,
        "public_access_prevention",
        equals("enforced"),
        "enforced",
        "public access prevention is not enforced (public_access_prevention is not set)",
        "public_access_prevention = {value}",
    )


def _gcs_model_bucket(resource, ctx) -> bool:
    name = as_str(resource.body.get("name"))
    return bool(name) and ctx.facts.is_model_bucket(name)


@rule(
    id="AIS415",
    title="GCS model bucket keeps no object versions",
    severity="medium",
    applies_to={"google_storage_bucket"},
    source="terraform",
    equivalents={"checkov": ["CKV_GCP_78"], "trivy": ["AVD-GCP-0078"], "tfsec": []},
    references=["https://cloud.google.com/storage/docs/object-versioning"],
)
def gcs_model_versioning(resource, ctx):
    """## What it does
    Flags buckets that hold model artifacts without `versioning { enabled = true }`.

    ## Why is this bad?
    An overwritten or deleted model cannot be recovered or compared: a poisoned upload replaces
    what every replica loads next, with no previous generation to roll back to.

    ## Example
    ```hcl
    resource "google_storage_bucket" "models" {
      name     = "acme-models"
      location = "US"
    }
    ```

    ## Fix
    `versioning { enabled = true }` and a lifecycle rule for old generations.
    """
    if not _gcs_model_bucket(resource, ctx):
        return
    entry, _, _ = entry_at(resource.body, "versioning.enabled")
    if entry is None or (entry.value.known and as_bool(entry.value) is not True):
        yield Hit(
            entry or resource.head, f"model bucket `{as_str(resource.body.get('name'))}` keeps no object versions"
        )


@rule(
    id="AIS416",
    title="GCS model bucket not encrypted with a customer-managed key",
    severity="medium",
    applies_to={"google_storage_bucket"},
    source="terraform",
    equivalents={
        "checkov": ["CKV_GCP_62"],
        "trivy": ["AVD-GCP-0066"],
        "tfsec": ["google-storage-bucket-encryption-customer-key"],
    },
    references=["https://cloud.google.com/storage/docs/encryption/customer-managed-keys"],
)
def gcs_model_cmek(resource, ctx):
    """## What it does
    Flags buckets that hold model artifacts without `encryption { default_kms_key_name }`.

    ## Why is this bad?
    With Google-managed keys, reading the weights needs only storage permissions. A Cloud KMS key
    adds a separately granted `cloudkms.cryptoKeyEncrypterDecrypter`, key-usage audit logs, and a
    way to cut off every copy of the bucket's access at once.

    ## Example
    ```hcl
    resource "google_storage_bucket" "models" {
      name = "acme-models"
    }
    ```

    ## Fix
    `encryption { default_kms_key_name = google_kms_crypto_key.models.id }`.
    """
    if _gcs_model_bucket(resource, ctx) and resource.body.block("encryption") is None:
        yield Hit(
            resource.head, f"model bucket `{as_str(resource.body.get('name'))}` uses Google-managed encryption keys"
        )
