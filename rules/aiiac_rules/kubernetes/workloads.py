"""Where pod specs live inside Kubernetes objects, as views rules iterate over."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aiiac_ls.model.nodes import Entry, Mapping, Sequence
from aiiac_ls.model.resources import Resource

# kind -> path of mapping keys from the object root to the pod spec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = frozenset(POD_SPEC_PATHS)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass
class Container:
    node: Mapping
    list_name: str  # containers | initContainers | ephemeralContainers
    name: str

    @property
    def security_context(self) -> Mapping | None:
        return self.node.mapping("securityContext")

    def setting(self, key: str) -> Entry | None:
        context = self.security_context
        return context.entry(key) if context else None


@dataclass
class PodSpec:
    resource: Resource
    spec: Mapping
    entry: Entry  # the `spec:` key that holds the pod spec (where pod-level findings are reported)

    @property
    def security_context(self) -> Mapping | None:
        return self.spec.mapping("securityContext")

    def setting(self, key: str) -> Entry | None:
        context = self.security_context
        return context.entry(key) if context else None

    def containers(self, include_ephemeral: bool = True) -> Iterator[Container]:
        for list_name in CONTAINER_LISTS:
            if list_name == "ephemeralContainers" and not include_ephemeral:
                continue
            items = self.spec.get(list_name)
            if not isinstance(items, Sequence):
                continue
            for item in items.items:
                if isinstance(item, Mapping):
                    name = item.get("name")
                    yield Container(item, list_name, str(getattr(name, "value", "") or "unnamed"))


def pod_specs(resource: Resource) -> Iterator[PodSpec]:
    path = POD_SPEC_PATHS.get(resource.kind)
    if path is None:
        return
    node: Mapping | None = resource.body
    entry: Entry | None = None
    for key in path:
        if node is None:
            return
        entry = node.entry(key)
        node = entry.value if entry is not None and isinstance(entry.value, Mapping) else None
    if node is not None and entry is not None:
        yield PodSpec(resource, node, entry)
