"""Where pod specs live inside Kubernetes objects, model-serving custom resources included."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiiac_ls.model.nodes import Entry, Mapping, Scalar, Sequence, as_str
from aiiac_ls.model.resources import Resource

# kind -> paths from the object root to a pod spec; "*" walks each item of a list, "+" each value
# of a mapping (a training job's replica types: Master, Worker, Launcher...)
_TEMPLATE = ("spec", "template", "spec")
_REPLICATED_JOBS = ("replicatedJobs", "*", "template", "spec", "template", "spec")  # JobSet
_RAY_CLUSTER = (("headGroupSpec", "template", "spec"), ("workerGroupSpecs", "*", "template", "spec"))
POD_SPEC_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pod": (("spec",),),
    "Deployment": (_TEMPLATE,),
    "StatefulSet": (_TEMPLATE,),
    "DaemonSet": (_TEMPLATE,),
    "ReplicaSet": (_TEMPLATE,),
    "ReplicationController": (_TEMPLATE,),
    "Job": (_TEMPLATE,),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),),
    # KServe
    "InferenceService": (("spec", "predictor"), ("spec", "transformer"), ("spec", "explainer")),
    "ServingRuntime": (("spec",),),
    "ClusterServingRuntime": (("spec",),),
    "LLMInferenceService": (
        ("spec", "template"),
        ("spec", "worker"),
        ("spec", "prefill", "template"),
        ("spec", "prefill", "worker"),
    ),
    # KubeRay
    "RayCluster": tuple(("spec", *path) for path in _RAY_CLUSTER),
    "RayService": tuple(("spec", "rayClusterConfig", *path) for path in _RAY_CLUSTER),
    "RayJob": tuple(("spec", "rayClusterSpec", *path) for path in _RAY_CLUSTER)
    + (("spec", "submitterPodTemplate", "spec"),),
    # Seldon
    "SeldonDeployment": (("spec", "predictors", "*", "componentSpecs", "*", "spec"),),
    "Server": (("spec", "podSpec"),),
    # LeaderWorkerSet (multi-node inference)
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate", "spec"),
        ("spec", "leaderWorkerTemplate", "workerTemplate", "spec"),
    ),
    # Knative Service (the core Service has no pod spec, so it never matches)
    "Service": (_TEMPLATE,),
    # Kubeflow training (training-operator v1) and Trainer v2 runtimes, JobSet, Notebooks
    "PyTorchJob": (("spec", "pytorchReplicaSpecs", "+", "template", "spec"),),
    "TFJob": (("spec", "tfReplicaSpecs", "+", "template", "spec"),),
    "MPIJob": (("spec", "mpiReplicaSpecs", "+", "template", "spec"),),
    "XGBoostJob": (("spec", "xgbReplicaSpecs", "+", "template", "spec"),),
    "PaddleJob": (("spec", "paddleReplicaSpecs", "+", "template", "spec"),),
    "JAXJob": (("spec", "jaxReplicaSpecs", "+", "template", "spec"),),
    "TrainingRuntime": (("spec", "template", "spec", *_REPLICATED_JOBS),),
    "ClusterTrainingRuntime": (("spec", "template", "spec", *_REPLICATED_JOBS),),
    "JobSet": (("spec", *_REPLICATED_JOBS),),
    "Notebook": (_TEMPLATE,),
    # Argo Workflows: the workflow's spec holds the pod-level settings, its templates the containers
    "Workflow": (("spec",),),
    "WorkflowTemplate": (("spec",),),
    "ClusterWorkflowTemplate": (("spec",),),
    "CronWorkflow": (("spec", "workflowSpec"),),
}
# Volcano's Job shares its kind with batch/v1's: its pods are in `tasks`
_VOLCANO_JOB = (("spec", "tasks", "*", "template", "spec"),)
_ARGO_KINDS = {"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"}
# an object of another kind is a workload when it holds a pod template (a custom resource's
# `template.spec.containers`, `*ReplicaSpecs.*.template`, `replicatedJobs`, `tasks[].template`):
# the rule pack checks it under this name (`workload_kind`)
POD_TEMPLATE_OWNER = "(pod template)"
# kinds whose name is shared with another API group: the group that has pod specs
_API_GROUPS = {"Service": "serving.knative.dev/", "Server": "mlops.seldon.io/"}
WORKLOAD_KINDS = frozenset(POD_SPEC_PATHS) | {POD_TEMPLATE_OWNER, "TrainJob", "NIMCache"}
# the kinds the pod rules apply to: a kind another API group also uses is named with the group
# whose objects have pod specs, so the engine gives a core Service none of the pod rules
WORKLOAD_RULE_KINDS = (WORKLOAD_KINDS - _API_GROUPS.keys()) | {group + kind for kind, group in _API_GROUPS.items()}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# KServe predictors describe their server as a container-like object under the framework's key
KSERVE_CONTAINERS = (
    "model",
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
    "mlflow",
)


# Model servers are recognised by what they run, not by a GPU or a port alone (nvidia-smi has a
# GPU, a Gradio UI a port): the image's repository, or the server's command line
MODEL_SERVER_IMAGES = (
    "tritonserver",
    "vllm",
    "text-generation-inference",
    "text-embeddings-inference",
    "torchserve",
    "tensorflow/serving",
    "tensorflow-serving",
    "kserve/",
    "mlserver",
    "ollama",
    "sglang",
    "llama.cpp",
    "llama-cpp",
    "lmdeploy",
    "openvino/model_server",
    "nvcr.io/nim/",
    "localai",
    "xinference",
    "ray-llm",
)
_SERVER_COMMAND = re.compile(
    r"vllm\s+serve|vllm\.entrypoints|tritonserver|torchserve|tensorflow_model_server|text-generation-launcher"
    r"|text-embeddings-router|ollama\s+serve|sglang\.launch_server|llama-server|mlserver\s+start|lmdeploy\s+serve"
    r"|\bserve\s+(run|deploy)\b|bentoml\s+serve"
)
SERVING_KINDS = {"RayService"}  # kinds whose pods serve whatever their images are
SERVING_GROUP_KINDS = {"LeaderWorkerSet"}  # every pod of the group serves when one of them does
# what runs a server's image without serving: benchmark clients, GPU checks, UIs, tests
_NOT_SERVING = re.compile(
    r"bench(mark)?\b|benchmark_|genai-perf|perf_analyzer|locust|nvidia-smi|gradio|streamlit|pytest|\bsleep\b"
)


@dataclass(frozen=True)
class Container:
    """One container of a pod spec (shared by every rule that asks: not changed once made)."""

    node: Mapping
    list_name: str  # containers | initContainers | ephemeralContainers | a KServe framework key
    name: str
    # what the rules derive from the container alone (its command-line flags), found once
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def security_context(self) -> Mapping | None:
        """The container's securityContext; `securityContext: {}` sets nothing and counts as unset."""
        context = self.node.mapping("securityContext")
        return context if context is not None and context.entries else None

    def setting(self, key: str) -> Entry | None:
        context = self.security_context
        return context.entry(key) if context else None

    @property
    def image(self) -> str:
        return as_str(self.node.get("image")) or ""

    def command_line(self) -> str:
        """`command` and `args` as one line (the known parts)."""
        words = []
        for key in ("command", "args"):
            node = self.node.get(key)
            words += [str(i.value) for i in (node.items if isinstance(node, Sequence) else []) if isinstance(i, Scalar)]
        return " ".join(words)

    def serves_models(self) -> bool:
        """Whether this container is a model server: a KServe model, a known server's image, or a
        server's command line; not a benchmark client, a GPU check or a UI run from such an image."""
        if self.list_name == "model" or self.node.get("storageUri") is not None:
            return True
        command = self.command_line()
        if _NOT_SERVING.search(command):
            return False
        if _SERVER_COMMAND.search(command):
            return True
        repository = self.image.lower().split("@")[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
        return any(known in repository for known in MODEL_SERVER_IMAGES)

    def lacking(self, key: str) -> Mapping:
        """Where a finding about a key missing under `key` (securityContext, resources) belongs:
        that mapping when it is written in another file than the container (a chart's values,
        `resources: {}`; a kustomize patch), where the user adds the key; else the container."""
        found = self.node.get(key)
        if isinstance(found, Mapping) and found.span and self.node.span and found.span.file != self.node.span.file:
            return found
        return self.node


class PodSpec:
    """One pod spec of an object, shared by every rule that asks (`pod_specs`) and kept in the
    object's memo: it refers to its object weakly, so no reference cycle forms."""

    __slots__ = ("_resource", "spec", "entry", "extra_containers", "found", "_servers")

    def __init__(
        self, resource: Resource, spec: Mapping, entry: Entry, extra_containers: list[Container] | None = None
    ) -> None:
        self._resource = weakref.ref(resource)
        self.spec = spec
        self.entry = entry  # the key that holds the pod spec (where pod-level findings are reported)
        self.extra_containers = extra_containers if extra_containers is not None else []
        self.found: tuple[Container, ...] | None = None  # every container, in order: found once
        self._servers: tuple[Container, ...] | None = None  # `model_servers`, found once

    @property
    def resource(self) -> Resource:
        resource = self._resource()
        if resource is None:  # pragma: no cover - pod specs are read while their object is
            raise ReferenceError("the object of this pod spec is gone")
        return resource

    @property
    def security_context(self) -> Mapping | None:
        """The pod's securityContext; `securityContext: {}` sets nothing and counts as unset."""
        context = self.spec.mapping("securityContext")
        return context if context is not None and context.entries else None

    def setting(self, key: str) -> Entry | None:
        context = self.security_context
        return context.entry(key) if context else None

    def containers(self, include_ephemeral: bool = True) -> Iterator[Container]:
        if self.found is None:
            self.found = tuple(self._containers())
        if include_ephemeral:
            return iter(self.found)
        return (container for container in self.found if container.list_name != "ephemeralContainers")

    def _containers(self) -> Iterator[Container]:
        for list_name in CONTAINER_LISTS:
            items = self.spec.get(list_name)
            if not isinstance(items, Sequence):
                continue
            for item in items.items:
                if isinstance(item, Mapping):
                    name = item.get("name")
                    yield Container(item, list_name, str(getattr(name, "value", "") or "unnamed"))
        yield from self.extra_containers

    def model_servers(self) -> list[Container]:
        """The main containers that serve models (`Container.serves_models`); every main
        container of a RayService (Ray Serve applications run on its head and workers), and of a
        LeaderWorkerSet one of whose templates serves. Found once per pod spec (a new list each call)."""
        if self._servers is None:
            self._servers = tuple(self._model_servers())
        return list(self._servers)

    def _model_servers(self) -> list[Container]:
        if self.resource.kind in SERVING_KINDS:
            return list(self.main_containers())
        if self.resource.kind in SERVING_GROUP_KINDS and any(
            container.serves_models() for pod in pod_specs(self.resource) for container in pod.main_containers()
        ):  # the workers of a multi-node server hold its model shards
            return list(self.main_containers())
        return [container for container in self.main_containers() if container.serves_models()]

    def main_containers(self) -> Iterator[Container]:
        """The containers that serve while the pod runs: not init containers (they run first,
        briefly, and are how models get downloaded), not ephemeral debug containers."""
        return (c for c in self.containers(include_ephemeral=False) if c.list_name != "initContainers")


# The GPU stack's own node agents need host access by design: the NVIDIA device plugin registers
# devices under /var/lib/kubelet, the GPU operator's driver and toolkit DaemonSets load kernel
# modules and configure the runtime. Host-access rules exempt these DaemonSets when every
# container runs an image of these projects; anything else in them is still checked.
GPU_NODE_AGENT_IMAGES = (
    "nvcr.io/nvidia/k8s-device-plugin",
    "nvcr.io/nvidia/gpu-operator",
    "nvcr.io/nvidia/driver",
    "nvcr.io/nvidia/k8s/container-toolkit",
    "nvcr.io/nvidia/k8s/dcgm-exporter",
    "nvcr.io/nvidia/cloud-native/",
    "nvcr.io/nvidia/gpu-feature-discovery",
    "registry.k8s.io/nfd/node-feature-discovery",
    "docker.io/rocm/k8s-device-plugin",
    "rocm/k8s-device-plugin",
)


# tags that name a moving target rather than a release (AIS110 reports them, AIS131 the rest)
MOVING_TAGS = frozenset({"latest", "nightly", "main", "master", "dev", "develop", "edge", "canary", "head", "unstable"})


def tag_of(image: str) -> str:
    """The tag of an image reference ("" when there is none); a registry port is not a tag."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]


def is_gpu_node_agent(resource: Resource) -> bool:
    """An official NVIDIA / AMD GPU node agent DaemonSet (see GPU_NODE_AGENT_IMAGES)."""
    if resource.kind != "DaemonSet":
        return False
    images = []
    for pod in pod_specs(resource):
        for container in pod.containers():
            images.append(as_str(container.node.get("image")) or "")
    return bool(images) and all(image.startswith(GPU_NODE_AGENT_IMAGES) for image in images)


def _walk(node: Mapping, path: tuple[str, ...], entry: Entry | None) -> Iterator[tuple[Mapping, Entry]]:
    if not path:
        if entry is not None:
            yield node, entry
        return
    key, rest = path[0], path[1:]
    if key in ("*", "+"):
        return
    child_entry = node.entry(key)
    if child_entry is None:
        return
    child = child_entry.value
    if rest and rest[0] == "*":
        for item in child.items if isinstance(child, Sequence) else []:
            if isinstance(item, Mapping):
                yield from _walk(item, rest[1:], child_entry)
    elif rest and rest[0] == "+":
        for value_entry in child.entries.values() if isinstance(child, Mapping) else []:
            if isinstance(value_entry.value, Mapping):
                yield from _walk(value_entry.value, rest[1:], value_entry)
    elif isinstance(child, Mapping):
        yield from _walk(child, rest, child_entry)


def pod_specs(resource: Resource, partial: bool = False) -> Iterator[PodSpec]:
    """Every pod spec of `resource`. With `partial`, also the containers that objects describe
    without their pod settings: a Kubeflow TrainJob's `spec.trainer` (image, command, env; the
    pod is its runtime's template) and a NIMCache's model puller image; the rules about images ask
    for them, the hardening rules do not. Found once per resource (some 30 rules ask)."""
    if resource.source != "kubernetes":
        return iter(())
    key = "pod_specs/partial" if partial else "pod_specs"
    found = resource.memo.get(key)
    if found is None:
        found = resource.memo[key] = list(_find_pod_specs(resource, partial))
    return iter(found)


def _find_pod_specs(resource: Resource, partial: bool) -> Iterator[PodSpec]:
    api_version = as_str(resource.body.get("apiVersion")) or ""
    if resource.kind == "TrainJob":
        spec = resource.body.mapping("spec")
        trainer = (
            spec.entry("trainer")
            if partial and spec is not None and api_version.startswith("trainer.kubeflow.org/")
            else None
        )
        if trainer is not None and isinstance(trainer.value, Mapping) and spec is not None:
            yield PodSpec(resource, spec, trainer, [Container(trainer.value, "containers", "trainer")])
        return
    if resource.kind == "NIMCache":  # NVIDIA NIM Operator: the job that pulls a model into a PVC
        source = resource.body.find("spec.source")
        for origin in source.entries.values() if partial and isinstance(source, Mapping) else []:
            if not isinstance(origin.value, Mapping):
                continue
            puller = origin.value.entry("modelPuller")
            if puller is not None and isinstance(puller.value, Scalar):
                image = Mapping(puller.value.span)  # the puller as a container with that image
                image.set("image", puller.value, puller.key_span)
                yield PodSpec(resource, origin.value, puller, [Container(image, "containers", "model-puller")])
        return
    paths = POD_SPEC_PATHS.get(resource.kind)
    if resource.kind == "Job" and api_version.startswith("batch.volcano.sh/"):
        paths = _VOLCANO_JOB
    if paths is None:
        yield from _found_pod_specs(resource)
        return
    group = _API_GROUPS.get(resource.kind)
    if group is not None and not api_version.startswith(group):
        return
    if resource.kind in _ARGO_KINDS and not api_version.startswith("argoproj.io/"):
        return
    for path in paths:
        for spec, entry in _walk(resource.body, path, None):
            pod = PodSpec(resource, spec, entry)
            if resource.kind == "InferenceService":
                for key in KSERVE_CONTAINERS:
                    server = spec.mapping(key)
                    if server is not None:
                        name = as_str(server.get("name")) or "kserve-container"
                        pod.extra_containers.append(Container(server, key, name))
            elif resource.kind in _ARGO_KINDS:
                pod.extra_containers.extend(_argo_containers(spec))
            yield pod


def _argo_containers(spec: Mapping) -> Iterator[Container]:
    """The containers of an Argo workflow's templates: `container`, `script`, a `containerSet`'s,
    and their init and sidecar containers."""
    templates = spec.get("templates")
    for template in templates.items if isinstance(templates, Sequence) else []:
        if not isinstance(template, Mapping):
            continue
        name = as_str(template.get("name")) or "unnamed"
        for key in ("container", "script"):
            found = template.mapping(key)
            if found is not None:
                yield Container(found, "containers", as_str(found.get("name")) or name)
        for key, list_name in (("initContainers", "initContainers"), ("sidecars", "containers")):
            items = template.get(key)
            for item in items.items if isinstance(items, Sequence) else []:
                if isinstance(item, Mapping):
                    yield Container(item, list_name, as_str(item.get("name")) or name)
        container_set = template.mapping("containerSet")
        items = container_set.get("containers") if container_set is not None else None
        for item in items.items if isinstance(items, Sequence) else []:
            if isinstance(item, Mapping):
                yield Container(item, "containers", as_str(item.get("name")) or name)


_NOT_WORKLOADS = frozenset(
    {
        "ConfigMap", "Secret", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
        "NetworkPolicy", "Ingress", "IngressClass", "Namespace", "PersistentVolumeClaim", "PersistentVolume",
        "StorageClass", "CustomResourceDefinition", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
        "Endpoints", "EndpointSlice", "LimitRange", "ResourceQuota", "Application", "ApplicationSet",
        "HelmRelease", "Kustomization", "GitRepository", "HelmRepository", "Policy", "ClusterPolicy",
    }
)  # fmt: skip
# policy engines hold pod-shaped patterns and patches, not pods (Kyverno, Gatekeeper)
_POLICY_GROUPS = ("kyverno.io/", "gatekeeper.sh/", "constraints.gatekeeper.sh/", "templates.gatekeeper.sh/")
_FOUND: weakref.WeakKeyDictionary[Resource, list[tuple[Mapping, Entry]]] = weakref.WeakKeyDictionary()


def _found_pod_specs(resource: Resource) -> Iterator[PodSpec]:
    for spec, entry in _pod_templates(resource):
        yield PodSpec(resource, spec, entry)


def _pod_templates(resource: Resource) -> list[tuple[Mapping, Entry]]:
    """The pod specs of an object of a kind not named above, found by their shape: a mapping
    with a `containers` list of mappings that name an `image` (memoised per object)."""
    if resource.kind in _NOT_WORKLOADS or resource.kind in POD_SPEC_PATHS:
        return []
    if any(group in (as_str(resource.body.get("apiVersion")) or "") for group in _POLICY_GROUPS):
        return []
    found = _FOUND.get(resource)
    if found is None:
        found = []
        spec_entry = resource.body.entry("spec")
        if spec_entry is not None and isinstance(spec_entry.value, Mapping):
            _collect_pod_templates(spec_entry.value, spec_entry, found, 0)
        _FOUND[resource] = found
    return found


def _collect_pod_templates(node: Mapping, entry: Entry, found: list, depth: int) -> None:
    containers = node.get("containers")
    if isinstance(containers, Sequence) and any(
        isinstance(item, Mapping) and "image" in item for item in containers.items
    ):
        found.append((node, entry))
        return
    if depth >= 12:
        return
    for child in node.entries.values():
        if isinstance(child.value, Mapping):
            _collect_pod_templates(child.value, child, found, depth + 1)
        elif isinstance(child.value, Sequence):
            for item in child.value.items:
                if isinstance(item, Mapping):
                    _collect_pod_templates(item, child, found, depth + 1)


def workload_kind(resource: Resource) -> str | None:
    """The kind whose rules check an object of a kind no rule names: POD_TEMPLATE_OWNER for one
    that holds a pod template (the rule pack's `rule_kind`)."""
    if resource.source == "kubernetes" and _pod_templates(resource):
        return POD_TEMPLATE_OWNER
    return None


def service_account_of(pod: PodSpec) -> str | None:
    """The ServiceAccount a pod runs as, when written (None means the namespace's `default`)."""
    return as_str(pod.spec.get("serviceAccountName")) or as_str(pod.spec.get("serviceAccount"))


def pods_by_service_account(ctx) -> dict[tuple[str | None, str], list[PodSpec]]:
    """Every pod spec of the scope's workloads by (namespace, ServiceAccount it names), in scope
    order; built once per analysis (`ctx.index(pods_by_service_account)`)."""
    found: dict[tuple[str | None, str], list[PodSpec]] = {}
    for workload in ctx.of_kind(*WORKLOAD_KINDS):
        for pod in pod_specs(workload):
            account = service_account_of(pod)
            if account is not None:
                found.setdefault((workload.namespace, account), []).append(pod)
    return found
