"""Identity (AIS3xx, Kubernetes): how model servers reach the object store holding the weights."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, SetPath
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_str
from aiiac_ls.rules import rule

from ..serving import split_object_uri
from .workloads import WORKLOAD_RULE_KINDS, pod_specs, pods_by_service_account, service_account_of

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"
IRSA_PLACEHOLDER = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"
GKE_PLACEHOLDER = "GSA_NAME@PROJECT_ID.iam.gserviceaccount.com"
_STATIC_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS")


def _object_store_use(spec: Mapping) -> tuple[str, str] | None:
    """('s3'|'gs', evidence) when a pod reads from an object store: a URI in env or args,
    `STORAGE_URI`, or AWS_* settings."""
    for list_name in ("initContainers", "containers"):
        containers = spec.get(list_name)
        for container in containers.items if isinstance(containers, Sequence) else []:
            if not isinstance(container, Mapping):
                continue
            texts: list[str] = []
            for key in ("args", "command"):
                node = container.get(key)
                texts += [
                    str(i.value) for i in (node.items if isinstance(node, Sequence) else []) if isinstance(i, Scalar)
                ]
            env = container.get("env")
            for item in env.items if isinstance(env, Sequence) else []:
                if not isinstance(item, Mapping):
                    continue
                name = as_str(item.get("name")) or ""
                value = as_str(item.get("value"))
                if value:
                    texts.append(value)
                if name.startswith("AWS_"):
                    return "s3", f"container `{as_str(container.get('name'))}` sets {name}"
            for text in texts:
                for token in text.replace("=", " ").split():
                    parts = split_object_uri(token)
                    if parts:
                        return parts[0], f"container `{as_str(container.get('name'))}` reads {token}"
    return None


def _static_keys(spec: Mapping) -> bool:
    containers = spec.get("containers")
    for container in containers.items if isinstance(containers, Sequence) else []:
        env = container.get("env") if isinstance(container, Mapping) else None
        for item in env.items if isinstance(env, Sequence) else []:
            if isinstance(item, Mapping) and as_str(item.get("name")) in _STATIC_KEYS:
                return True
    return False


@rule(
    id="AIS310",
    unsafe_fix="the server loses the credentials it uses until workload identity is set up",
    title="Model server reaches object storage without workload identity",
    severity="high",
    applies_to={"ServiceAccount"} | WORKLOAD_RULE_KINDS,
    source="kubernetes",
    references=[
        "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html",
        "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity",
    ],
    fixable=True,
)
def workload_identity(resource, ctx):
    """## What it does
    Flags a ServiceAccount used by a pod that reads from S3 or GCS (a `s3://` / `gs://` URI in
    its arguments or environment, `STORAGE_URI`, `AWS_*` settings) when the ServiceAccount has no
    IRSA (`eks.amazonaws.com/role-arn`) or Workload Identity (`iam.gke.io/gcp-service-account`)
    annotation, and such a pod running as the namespace's `default` ServiceAccount. Only
    ServiceAccounts defined in the scanned files are judged.

    ## Why is this bad?
    Without workload identity the pod gets cloud access one of two bad ways: static keys in a
    Secret (long-lived, copied into every replica, usually scoped to the whole bucket, and
    leaked with any Secret read), or the GPU node's instance role, which every pod on the node
    shares, so any compromised pod there can download every model the node may read.

    ## Example
    ```yaml
    kind: ServiceAccount
    metadata:
      name: triton
    ```

    Use instead:
    ```yaml
    kind: ServiceAccount
    metadata:
      name: triton
      annotations:
        eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/triton-model-reader
    ```

    ## Fix
    Annotate the ServiceAccount with the role (IRSA) or Google service account (Workload
    Identity) that may read only this model's prefix. The quick fix inserts the annotation with a
    placeholder (`ACCOUNT_ID`, `ROLE_NAME`) for you to complete; then remove any static keys.
    """
    if resource.kind == "ServiceAccount":
        annotations = resource.body.find("metadata.annotations")
        if isinstance(annotations, Mapping) and (IRSA_ANNOTATION in annotations or GKE_ANNOTATION in annotations):
            return
        for pod in ctx.index(pods_by_service_account).get((resource.namespace, resource.name), ()):
            workload = pod.resource
            use = _object_store_use(pod.spec)
            if use is None:
                continue
            store, evidence = use
            key, value = (IRSA_ANNOTATION, IRSA_PLACEHOLDER) if store == "s3" else (GKE_ANNOTATION, GKE_PLACEHOLDER)
            keys = " (and uses static keys)" if _static_keys(pod.spec) else ""
            target = resource.body.find("metadata")
            name_entry = target.entry("name") if isinstance(target, Mapping) else None
            yield Hit(
                name_entry or resource.head,
                f"ServiceAccount `{resource.name}` of {workload.address} has no {key} annotation, yet {evidence}{keys}",
                Fix(f"Add the {key} annotation", (SetPath(resource.body, ("metadata", "annotations", key), value),)),
                related=((pod.entry.key_span or workload.head, evidence),),
            )
            return
        return
    default_defined = ctx.named("ServiceAccount", "default", resource.namespace) is not None
    for pod in pod_specs(resource):
        account = service_account_of(pod)
        if account not in (None, "default") or default_defined:
            continue
        use = _object_store_use(pod.spec)
        if use is not None:
            yield Hit(
                pod.entry,
                f"model server runs as the `default` ServiceAccount, yet {use[1]}: give it a "
                "dedicated ServiceAccount with workload identity",
            )
