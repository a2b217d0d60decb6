"""The built-in kustomize transformers, on the positioned tree.

Field specs are kustomize's defaults (`api/internal/konfig/builtinpluginconsts`), extended by a
kustomization's `configurations`. A value a transformer writes is a new node at the kustomization
entry that asked for it (`namespace: prod`, an `images` entry's `newTag`), so a finding about it
lands there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ...model.nodes import Mapping, Node, Scalar, Sequence, Span
from .tree import ensure_mapping, text

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "CSIDriver",
        "CSINode",
        "IngressClass",
        "RuntimeClass",
        "PodSecurityPolicy",
        "VolumeAttachment",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "Node",
        "ComponentStatus",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "StorageVersionMigration",
        "DeviceClass",
    }
)
WORKLOADS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController")


@dataclass(frozen=True)
class FieldSpec:
    """Where a transformer writes: `path` (`/`-separated; lists on the way are walked item by
    item) in objects of `kind` and `group` (None: any)."""

    path: tuple[str, ...]
    kind: str | None = None
    group: str | None = None
    create: bool = False

    def applies(self, kind: str, group: str) -> bool:
        return (self.kind is None or self.kind == kind) and (self.group is None or self.group == group)


def spec(path: str, kind: str | None = None, group: str | None = None, create: bool = False) -> FieldSpec:
    return FieldSpec(tuple(part.removesuffix("[]") for part in path.split("/")), kind, group, create)


def _template_labels(create_selectors: bool) -> list[FieldSpec]:
    specs = [spec("spec/template/metadata/labels", kind, create=True) for kind in WORKLOADS]
    specs += [
        spec("spec/jobTemplate/metadata/labels", "CronJob", create=True),
        spec("spec/jobTemplate/spec/template/metadata/labels", "CronJob", create=True),
        spec("spec/volumeClaimTemplates/metadata/labels", "StatefulSet", create=True),
    ]
    if create_selectors:
        specs += [
            spec("spec/selector", "Service", create=True),
            spec("spec/selector", "ReplicationController", create=True),
            spec("spec/selector/matchLabels", "Deployment", create=True),
            spec("spec/selector/matchLabels", "ReplicaSet", create=True),
            spec("spec/selector/matchLabels", "DaemonSet", create=True),
            spec("spec/selector/matchLabels", "StatefulSet", create=True),
            spec("spec/selector/matchLabels", "Job"),
            spec("spec/jobTemplate/spec/selector/matchLabels", "CronJob"),
            spec("spec/selector/matchLabels", "PodDisruptionBudget"),
            spec("spec/podSelector/matchLabels", "NetworkPolicy"),
            spec("spec/ingress/from/podSelector/matchLabels", "NetworkPolicy"),
            spec("spec/egress/to/podSelector/matchLabels", "NetworkPolicy"),
        ]
        for kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
            for affinity in ("podAffinity", "podAntiAffinity"):
                specs += [
                    spec(
                        f"spec/template/spec/affinity/{affinity}/preferredDuringSchedulingIgnoredDuringExecution"
                        "/podAffinityTerm/labelSelector/matchLabels",
                        kind,
                    ),
                    spec(
                        f"spec/template/spec/affinity/{affinity}/requiredDuringSchedulingIgnoredDuringExecution"
                        "/labelSelector/matchLabels",
                        kind,
                    ),
                ]
            specs.append(spec("spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels", kind))
    return specs


COMMON_LABELS = [spec("metadata/labels", create=True), *_template_labels(create_selectors=True)]
TEMPLATE_LABELS = _template_labels(create_selectors=False)
COMMON_ANNOTATIONS = [
    spec("metadata/annotations", create=True),
    *(spec("spec/template/metadata/annotations", kind, create=True) for kind in WORKLOADS),
    spec("spec/jobTemplate/metadata/annotations", "CronJob", create=True),
    spec("spec/jobTemplate/spec/template/metadata/annotations", "CronJob", create=True),
]
NAMESPACE_FIELDS = [
    spec("spec/service/namespace", "APIService", create=True),
    spec("spec/conversion/webhook/clientConfig/service/namespace", "CustomResourceDefinition"),
]

POD_SPECS = {
    "Pod": "spec",
    **{kind: "spec/template/spec" for kind in WORKLOADS},
    "CronJob": "spec/jobTemplate/spec/template/spec",
}


def _pod_refs(paths: list[str]) -> list[FieldSpec]:
    return [spec(f"{prefix}/{path}", kind) for kind, prefix in POD_SPECS.items() for path in paths]


# referenced kind -> the fields that name it (kustomize's default nameReference, abridged to
# the fields Kubernetes objects use)
NAME_REFERENCES: dict[str, list[FieldSpec]] = {
    "ConfigMap": _pod_refs(
        [
            "volumes/configMap/name",
            "volumes/projected/sources/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
        ]
    ),
    "Secret": _pod_refs(
        [
            "volumes/secret/secretName",
            "volumes/projected/sources/secret/name",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
        ]
    )
    + [spec("spec/tls/secretName", "Ingress"), spec("imagePullSecrets/name", "ServiceAccount")],
    "ServiceAccount": _pod_refs(["serviceAccountName", "serviceAccount"])
    + [spec("subjects", "RoleBinding"), spec("subjects", "ClusterRoleBinding")],
    "PersistentVolumeClaim": _pod_refs(["volumes/persistentVolumeClaim/claimName"]),
    "PersistentVolume": [spec("spec/volumeName", "PersistentVolumeClaim")],
    "Role": [spec("roleRef/name", "RoleBinding")],
    "ClusterRole": [spec("roleRef/name", "RoleBinding"), spec("roleRef/name", "ClusterRoleBinding")],
    "Service": [
        spec("spec/serviceName", "StatefulSet"),
        spec("spec/rules/http/paths/backend/service/name", "Ingress"),
        spec("spec/defaultBackend/service/name", "Ingress"),
        spec("spec/service/name", "APIService"),
    ],
    "PriorityClass": _pod_refs(["priorityClassName"]),
    "StorageClass": [
        spec("spec/storageClassName", "PersistentVolumeClaim"),
        spec("spec/storageClassName", "PersistentVolume"),
    ],
    "Deployment": [spec("spec/scaleTargetRef/name", "HorizontalPodAutoscaler")],
    "StatefulSet": [spec("spec/scaleTargetRef/name", "HorizontalPodAutoscaler")],
}


@dataclass
class Config:
    """The transformer configuration of one build: the defaults plus `configurations` files."""

    common_labels: list[FieldSpec] = field(default_factory=lambda: list(COMMON_LABELS))
    common_annotations: list[FieldSpec] = field(default_factory=lambda: list(COMMON_ANNOTATIONS))
    namespace: list[FieldSpec] = field(default_factory=lambda: list(NAMESPACE_FIELDS))
    name_references: dict[str, list[FieldSpec]] = field(
        default_factory=lambda: {kind: list(specs) for kind, specs in NAME_REFERENCES.items()}
    )
    images: list[FieldSpec] = field(default_factory=list)

    def merge(self, other: Config) -> None:
        """Take in a sub-kustomization's configuration, as kustomize does for its parent."""
        for mine, theirs in (
            (self.common_labels, other.common_labels),
            (self.common_annotations, other.common_annotations),
            (self.namespace, other.namespace),
            (self.images, other.images),
        ):
            mine.extend(item for item in theirs if item not in mine)
        for kind, specs in other.name_references.items():
            known = self.name_references.setdefault(kind, [])
            known.extend(item for item in specs if item not in known)

    def extend(self, document: Mapping) -> None:
        """Add a `configurations` file's field specs (`nameReference`, `commonLabels`, ...)."""
        for key, target in (
            ("commonLabels", self.common_labels),
            ("commonAnnotations", self.common_annotations),
            ("namespace", self.namespace),
            ("images", self.images),
        ):
            target.extend(_field_specs(document.get(key)))
        references = document.get("nameReference")
        for item in references.items if isinstance(references, Sequence) else []:
            if isinstance(item, Mapping) and text(item.get("kind")):
                kind = text(item.get("kind")) or ""
                self.name_references.setdefault(kind, []).extend(_field_specs(item.get("fieldSpecs")))


def _field_specs(node: Node | None) -> list[FieldSpec]:
    found = []
    for item in node.items if isinstance(node, Sequence) else []:
        if isinstance(item, Mapping) and text(item.get("path")):
            create = item.get("create")
            found.append(
                spec(
                    text(item.get("path")) or "",
                    text(item.get("kind")),
                    text(item.get("group")),
                    isinstance(create, Scalar) and create.value is True,
                )
            )
    return found


def group_of(obj: Mapping) -> str:
    api = text(obj.get("apiVersion")) or ""
    return api.rsplit("/", 1)[0] if "/" in api else ""


def kind_of(obj: Mapping) -> str:
    return text(obj.get("kind")) or ""


def metadata(obj: Mapping) -> Mapping | None:
    found = obj.get("metadata")
    return found if isinstance(found, Mapping) else None


def name_of(obj: Mapping) -> str:
    meta = metadata(obj)
    return (text(meta.get("name")) if meta else None) or ""


def namespace_where(obj: Mapping):
    """The span of an object's namespace (the kustomization's `namespace:` when it set it)."""
    meta = metadata(obj)
    node = meta.get("namespace") if meta else None
    return node.span if node is not None else None


def namespace_of(obj: Mapping) -> str | None:
    meta = metadata(obj)
    return text(meta.get("namespace")) if meta else None


# ---- walking field specs --------------------------------------------------------------------------


def targets(obj: Mapping, specs: list[FieldSpec], create_span: Span | None) -> Iterator[tuple[Mapping, str]]:
    """(parent mapping, key) of each field the specs name in `obj`; missing parents are created
    (at `create_span`) for specs that create."""
    kind, group = kind_of(obj), group_of(obj)
    seen: set[tuple[int, str]] = set()
    for field_spec in specs:
        if not field_spec.applies(kind, group):
            continue
        for parent, key in _walk(obj, field_spec.path, field_spec.create, create_span):
            if (id(parent), key) not in seen:
                seen.add((id(parent), key))
                yield parent, key


def _walk(node: Node, path: tuple[str, ...], create: bool, span: Span | None) -> Iterator[tuple[Mapping, str]]:
    if isinstance(node, Sequence):
        for item in node.items:
            yield from _walk(item, path, create, span)
        return
    if not isinstance(node, Mapping) or not path:
        return
    head, rest = path[0], path[1:]
    if not rest:
        yield node, head
        return
    child = node.get(head)
    if child is None or (isinstance(child, Scalar) and child.value is None):
        if not create:
            return
        child = ensure_mapping(node, head, span)
    yield from _walk(child, rest, create, span)


def set_map_entries(parent: Mapping, key: str, pairs: dict[str, tuple[str, Span | None]], create: bool) -> None:
    """Add `pairs` (value, where it is written) to the mapping at `parent[key]`."""
    target = parent.get(key)
    if not isinstance(target, Mapping):
        if not create and target is None:
            return
        if target is not None and not (isinstance(target, Scalar) and target.value is None):
            return
        any_span = next(iter(pairs.values()))[1] if pairs else None
        target = ensure_mapping(parent, key, any_span)
    for name, (value, span) in pairs.items():
        target.set(name, Scalar(value, span), span)


# ---- transformers -------------------------------------------------------------------------------


def set_namespace(objects: list[Mapping], namespace: str, span: Span | None, config: Config) -> None:
    for obj in objects:
        kind = kind_of(obj)
        if kind == "Namespace":
            meta = ensure_mapping(obj, "metadata", span)
            meta.set("name", Scalar(namespace, span), meta.entries["name"].key_span if "name" in meta.entries else span)
            continue
        if kind not in CLUSTER_SCOPED:
            meta = ensure_mapping(obj, "metadata", span)
            key_span = meta.entries["namespace"].key_span if "namespace" in meta.entries else span
            meta.set("namespace", Scalar(namespace, span), key_span)
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            subjects = obj.get("subjects")
            for subject in subjects.items if isinstance(subjects, Sequence) else []:
                if (
                    isinstance(subject, Mapping)
                    and text(subject.get("kind")) == "ServiceAccount"
                    and text(subject.get("namespace")) == "default"
                ):
                    subject.set("namespace", Scalar(namespace, span), subject.entries["namespace"].key_span)
        for parent, key in targets(obj, config.namespace, span):
            if key in parent.entries or any(s.create for s in config.namespace if s.applies(kind, group_of(obj))):
                parent.set(
                    key, Scalar(namespace, span), parent.entries[key].key_span if key in parent.entries else span
                )


def add_labels(objects: list[Mapping], pairs: dict[str, tuple[str, Span | None]], specs: list[FieldSpec]) -> None:
    for obj in objects:
        for parent, key in targets(obj, specs, next(iter(pairs.values()))[1] if pairs else None):
            creating = any(s.create and s.path[-1] == key for s in specs if s.applies(kind_of(obj), group_of(obj)))
            set_map_entries(parent, key, pairs, creating)


def set_images(objects: list[Mapping], images: list[Mapping]) -> None:
    """`images` entries (`name`, `newName`, `newTag`, `digest`) on every container and init
    container image of every object (custom resources included)."""
    for obj in objects:
        for container in _containers(obj, 0):
            image = container.get("image")
            current = text(image)
            if current is None:
                continue
            for entry in images:
                replaced = _image(current, entry)
                if replaced is not None:
                    where = _image_span(entry) or (image.span if image else None)
                    key_span = container.entries["image"].key_span
                    container.set("image", Scalar(replaced, where), key_span)
                    break


def _containers(node: Node, depth: int) -> Iterator[Mapping]:
    if depth > 64:
        return
    if isinstance(node, Mapping):
        for key, entry in node.entries.items():
            if key in ("containers", "initContainers") and isinstance(entry.value, Sequence):
                yield from (item for item in entry.value.items if isinstance(item, Mapping))
            else:
                yield from _containers(entry.value, depth + 1)
    elif isinstance(node, Sequence):
        for item in node.items:
            yield from _containers(item, depth + 1)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        image, tag = image[:colon], image[colon + 1 :]
    return image, tag, digest


def _image(current: str, entry: Mapping) -> str | None:
    name, tag, digest = split_image(current)
    if text(entry.get("name")) != name:
        return None
    new_name = text(entry.get("newName")) or name
    new_tag = entry.get("newTag")
    new_digest = text(entry.get("digest"))
    if isinstance(new_tag, Scalar) and new_tag.value is not None:
        tag, digest = str(new_tag.value), None
    if new_digest:
        digest = new_digest
        if not (isinstance(new_tag, Scalar) and new_tag.value is not None):
            tag = None
    return new_name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _image_span(entry: Mapping) -> Span | None:
    """Where the part of an `images` entry that changes the image is written: the tag or digest
    when given (a `latest` finding lands on `newTag`), else the new name."""
    for key in ("newTag", "digest", "newName"):
        if key in entry.entries:
            return entry.entries[key].value.span
    return entry.span


def set_replicas(objects: list[tuple[Mapping, set[str]]], replicas: list[Mapping]) -> None:
    """`replicas` entries, by the name the object has or had (before a prefix)."""
    for entry in replicas:
        name, count = text(entry.get("name")), entry.get("count")
        if name is None or not isinstance(count, Scalar):
            continue
        for obj, names in objects:
            if (name_of(obj) == name or name in names) and kind_of(obj) in (
                "Deployment",
                "ReplicationController",
                "ReplicaSet",
                "StatefulSet",
            ):
                spec_node = ensure_mapping(obj, "spec", count.span)
                key_span = spec_node.entries["replicas"].key_span if "replicas" in spec_node.entries else count.span
                spec_node.set("replicas", Scalar(count.value, count.span), key_span)


# ---- generated names ----------------------------------------------------------------------------


def content_hash(obj: Mapping) -> str:
    """kustomize's name suffix for a generated ConfigMap or Secret: the first ten hex digits of the
    SHA-256 of `{"binaryData"?, "data", "kind", "name": ""(, "stringData"?, "type")}` as Go's
    json.Marshal writes it (keys sorted, `<>&` and U+2028/9 escaped; kustomize leaves the name
    empty), with 0, 1, 3, a, e spelled g, h, k, m, t."""
    kind = kind_of(obj)

    def table(key: str):
        found = obj.get(key)
        return {k: v.plain() for k, v in found.items()} if isinstance(found, Mapping) else None

    document: dict = {"kind": kind, "name": "", "data": table("data") if table("data") is not None else ""}
    binary = table("binaryData")
    if kind == "ConfigMap" and binary is not None:
        document["binaryData"] = binary
    if kind == "Secret":
        document["type"] = text(obj.get("type")) or ""
        string_data = table("stringData")
        if string_data is not None:
            document["stringData"] = string_data
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for character in "<>&\u2028\u2029":
        encoded = encoded.replace(character, f"\\u{ord(character):04x}")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


# ---- name references ----------------------------------------------------------------------------


@dataclass
class Renamed:
    """An object whose name (or namespace) the build changed: what referrers may still say."""

    kind: str
    old_names: set[str]
    old_namespaces: set[str | None]
    obj: Mapping


def fix_references(objects: list[Mapping], renamed: list[Renamed], config: Config) -> None:
    """Point every field that names a renamed object at its new name (kustomize's nameReference),
    preferring an object in the referrer's namespace."""
    by_kind: dict[str, list[Renamed]] = {}
    for item in renamed:
        by_kind.setdefault(item.kind, []).append(item)
    for kind, candidates in by_kind.items():
        specs = config.name_references.get(kind, [])
        if not specs:
            continue
        for obj in objects:
            referrer_namespace = namespace_of(obj)
            for parent, key in targets(obj, specs, None):
                value = parent.get(key)
                if kind == "ServiceAccount" and key == "subjects":
                    _fix_subjects(value, candidates)
                    continue
                if key == "roleRef" or isinstance(value, Mapping):
                    continue
                old = text(value)
                if old is None:
                    continue
                target = _pick(candidates, old, referrer_namespace)
                if target is not None and isinstance(value, Scalar):
                    parent.set(
                        key, Scalar(name_of(target.obj), value.span, style=value.style), parent.entries[key].key_span
                    )


def _pick(candidates: list[Renamed], name: str, namespace: str | None) -> Renamed | None:
    matching = [c for c in candidates if name in c.old_names]
    if len(matching) > 1:
        same = [c for c in matching if namespace_of(c.obj) == namespace or namespace in c.old_namespaces]
        matching = same or matching
    return matching[0] if matching else None


def _fix_subjects(subjects: Node | None, candidates: list[Renamed]) -> None:
    for subject in subjects.items if isinstance(subjects, Sequence) else []:
        if not isinstance(subject, Mapping) or text(subject.get("kind")) != "ServiceAccount":
            continue
        name, namespace = text(subject.get("name")), text(subject.get("namespace"))
        for candidate in candidates:
            if name in candidate.old_names and (namespace is None or namespace in candidate.old_namespaces):
                node = subject.get("name")
                assert node is not None
                subject.set("name", Scalar(name_of(candidate.obj), node.span), subject.entries["name"].key_span)
                if namespace_of(candidate.obj):
                    ns_node = subject.get("namespace")
                    key_span = subject.entries["namespace"].key_span if ns_node is not None else node.span
                    where = namespace_where(candidate.obj) or (ns_node.span if ns_node is not None else node.span)
                    subject.set("namespace", Scalar(namespace_of(candidate.obj), where), key_span)
                break


# ---- order ----------------------------------------------------------------------------------------

ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def legacy_order(obj: Mapping) -> tuple:
    """kustomize's default (`legacy`) output order: by kind rank, then group/version/kind, then
    namespace and name."""
    kind = kind_of(obj)
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind) - len(ORDER_FIRST)
    elif kind in ORDER_LAST:
        rank = ORDER_LAST.index(kind) + 1
    else:
        rank = 0
    api = text(obj.get("apiVersion")) or ""
    group, _, version = api.rpartition("/")
    return (rank, f"{kind}.{version}.{group}", namespace_of(obj) or "", name_of(obj))


_NAME_PART = re.compile(r"[^\[\]]+|\[[^\]]*\]")
