"""Kubernetes objects declared in Terraform, seen as the objects they create.

`kubernetes_deployment`, `kubernetes_service`, `kubernetes_service_account` (and the other
resources of the hashicorp/kubernetes provider, `_v1` or not) spell the Kubernetes API in HCL:
snake_case attributes, one nested block per list item (`container { }` for `containers:`).
`kubernetes_manifest` holds the object itself. This module rebuilds the Kubernetes shape from the
evaluated block body, reusing its nodes, so every Kubernetes rule runs on it and reports on the
Terraform attribute (`type = "LoadBalancer"` in `spec { }` of a `kubernetes_service`).

Fixes that replace a value or remove an attribute are written on the HCL text (the nodes keep
their spans); a fix that adds a key, like `runAsNonRoot`, is not offered on these `translated`
resources, since it would need the provider's spelling of the key and block.
"""

from __future__ import annotations

import re

from ..model.nodes import Mapping, Node, Scalar, Sequence
from ..model.resources import Resource

# provider resource type (without _v1/_v2) -> (apiVersion, kind)
KINDS = {
    "kubernetes_deployment": ("apps/v1", "Deployment"),
    "kubernetes_stateful_set": ("apps/v1", "StatefulSet"),
    "kubernetes_daemonset": ("apps/v1", "DaemonSet"),
    "kubernetes_daemon_set": ("apps/v1", "DaemonSet"),
    "kubernetes_replication_controller": ("v1", "ReplicationController"),
    "kubernetes_pod": ("v1", "Pod"),
    "kubernetes_job": ("batch/v1", "Job"),
    "kubernetes_cron_job": ("batch/v1", "CronJob"),
    "kubernetes_service": ("v1", "Service"),
    "kubernetes_service_account": ("v1", "ServiceAccount"),
    "kubernetes_ingress": ("networking.k8s.io/v1", "Ingress"),
    "kubernetes_network_policy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes_namespace": ("v1", "Namespace"),
    "kubernetes_role": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes_cluster_role": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "kubernetes_role_binding": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "kubernetes_cluster_role_binding": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    "kubernetes_config_map": ("v1", "ConfigMap"),
    "kubernetes_secret": ("v1", "Secret"),
    "kubernetes_persistent_volume_claim": ("v1", "PersistentVolumeClaim"),
}
# nested blocks that are lists in the API, with the API's name when it is not the camelCase one
LIST_BLOCKS = {
    "container": "containers",
    "init_container": "initContainers",
    "ephemeral_container": "ephemeralContainers",
    "port": "ports",
    "ports": "ports",
    "volume": "volumes",
    "volume_mount": "volumeMounts",
    "volume_device": "volumeDevices",
    "env": "env",
    "env_from": "envFrom",
    "toleration": "tolerations",
    "image_pull_secrets": "imagePullSecrets",
    "image_pull_secret": "imagePullSecrets",
    "secret": "secrets",
    "rule": "rules",
    "path": "paths",
    "tls": "tls",
    "subject": "subjects",
    "ingress": "ingress",
    "egress": "egress",
    "from": "from",
    "to": "to",
    "match_expressions": "matchExpressions",
    "host_aliases": "hostAliases",
    "topology_spread_constraint": "topologySpreadConstraints",
    "readiness_gate": "readinessGates",
    "volume_claim_template": "volumeClaimTemplates",
    "items": "items",
    "http_header": "httpHeaders",
    "option": "options",
    "sysctl": "sysctls",
    "aggregation_rule": "aggregationRule",
    "cluster_role_selectors": "clusterRoleSelectors",
}
# single nested blocks whose API name is not the camelCase of the provider's
RENAMES = {"job_template": "jobTemplate"}
_VERSION = re.compile(r"_v\d+$")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def kubernetes_objects(resources: list[Resource]) -> list[Resource]:
    """The Kubernetes objects among Terraform resources, in the Kubernetes API's shape."""
    found = []
    for resource in resources:
        if resource.block_type != "resource" or not resource.kind.startswith("kubernetes_"):
            continue
        if resource.kind == "kubernetes_manifest":
            translated = _manifest(resource)
        else:
            api = KINDS.get(_VERSION.sub("", resource.kind))
            translated = _from_schema(resource, *api) if api else None
        if translated is not None:
            found.append(translated)
    return found


def _manifest(resource: Resource) -> Resource | None:
    manifest = resource.body.get("manifest")
    if not isinstance(manifest, Mapping):
        return None
    kind = manifest.get("kind")
    if not isinstance(kind, Scalar) or not isinstance(kind.value, str):
        return None
    return _resource(resource, kind.value, manifest)


def _from_schema(resource: Resource, api_version: str, kind: str) -> Resource:
    body = _block(resource.body)
    head = resource.head
    body.entries = {"apiVersion": _entry_scalar(api_version, head), "kind": _entry_scalar(kind, head), **body.entries}
    return _resource(resource, kind, body)


def _entry_scalar(value: str, span):
    from ..model.nodes import Entry

    return Entry("", None, Scalar(value, span))


def _resource(resource: Resource, kind: str, body: Mapping) -> Resource:
    metadata = body.mapping("metadata")
    name_node = metadata.get("name") if metadata else None
    namespace_node = metadata.get("namespace") if metadata else None
    name = str(name_node.value) if isinstance(name_node, Scalar) and name_node.value is not None else resource.name
    namespace = (
        str(namespace_node.value)
        if isinstance(namespace_node, Scalar) and isinstance(namespace_node.value, str)
        else None
    )
    labels_node = metadata.mapping("labels") if metadata else None
    labels = (
        {key: str(value.value) for key, value in labels_node.items() if isinstance(value, Scalar)}
        if labels_node
        else {}
    )
    return Resource(
        source="kubernetes",
        kind=kind,
        name=name,
        address=resource.address,
        file=resource.file,
        body=body,
        span=resource.span,
        head=resource.head,
        namespace=namespace,
        block_type=resource.block_type,
        module=resource.module,
        labels=labels,
        translated=True,
    )


def _block(block: Mapping) -> Mapping:
    """An HCL block body in the API's spelling: attribute names camelCased, nested blocks as
    objects or lists. Attribute values (maps such as labels or limits) keep their keys."""
    converted = Mapping(block.span, style=block.style, indent=block.indent, head=block.head, ref=block.ref)
    for key, entry in block.entries.items():
        value: Node = entry.value
        if isinstance(value, Sequence) and value.style == "hcl-blocks":
            items = [_block(item) if isinstance(item, Mapping) else item for item in value.items]
            if key in LIST_BLOCKS:
                name = LIST_BLOCKS[key]
                value = Sequence(value.span, items, style="hcl-blocks", indent=value.indent)
            else:
                name = RENAMES.get(key, camel(key))
                value = items[0] if items else value
        else:
            name = camel(key)
        converted.set(name, value, entry.key_span)
    return converted
