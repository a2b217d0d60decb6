"""Workload hardening continued (AIS11x) and GPU hygiene (AIS12x)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_int, as_str
from aiiac_ls.rules import rule

from .workloads import WORKLOAD_KINDS, pod_specs

K8S = "kubernetes"
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
DANGEROUS_CAPABILITIES = {"SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
                          "BPF", "PERFMON", "SYS_RAWIO", "SYS_BOOT", "ALL"}
RUNTIME_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                   "/var/run/containerd/containerd.sock", "/var/run/crio/crio.sock", "/run/crio/crio.sock",
                   "/var/run/cri-dockerd.sock")


@rule(
    id="AIS111", resource_only=True, title="No seccomp profile", severity="medium", applies_to=WORKLOAD_KINDS,
    source=K8S, equivalents={"checkov": ["CKV_K8S_31"], "trivy": ["KSV030"]},
    references=["https://kubernetes.io/docs/tutorials/security/seccomp/"],
    fixable=True,
)
def seccomp_profile(resource, ctx):
    """## What it does
    Flags pods whose containers run without a `RuntimeDefault` or `Localhost` seccomp profile
    (set on the pod or on every container), or with `Unconfined`.

    ## Why is this bad?
    Without seccomp the model server can call every Linux system call. Inference stacks pull in
    large native libraries (CUDA, tokenizers, image decoders) with a history of memory-safety
    bugs; the default profile blocks the rare syscalls most container escapes rely on at no cost
    to serving.

    ## Example
    ```yaml
    spec:
      containers: [...]
    ```

    Use instead:
    ```yaml
    spec:
      securityContext:
        seccompProfile: {type: RuntimeDefault}
      containers: [...]
    ```

    ## Fix
    Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod (quick fix).
    """
    for pod in pod_specs(resource):
        pod_profile = pod.security_context.find("seccompProfile.type") if pod.security_context else None
        pod_type = as_str(pod_profile)
        if pod_type == "Unconfined":
            yield Hit(pod_profile, "pod seccomp profile is Unconfined",
                      Fix("Set seccompProfile.type: RuntimeDefault", (ReplaceValue(pod_profile, "RuntimeDefault"),)))
            continue
        unprotected = []
        for container in pod.containers(include_ephemeral=False):
            own = container.security_context.find("seccompProfile.type") if container.security_context else None
            if as_str(own) == "Unconfined":
                yield Hit(own, f"container `{container.name}` seccomp profile is Unconfined",
                          Fix("Set seccompProfile.type: RuntimeDefault", (ReplaceValue(own, "RuntimeDefault"),)))
            elif own is None and pod_type not in ("RuntimeDefault", "Localhost"):
                unprotected.append(container.name)
        if unprotected:
            yield Hit(pod.entry, f"no seccomp profile for {', '.join(f'`{n}`' for n in unprotected)}",
                      Fix("Add securityContext.seccompProfile.type: RuntimeDefault to the pod",
                          (SetPath(pod.spec, ("securityContext", "seccompProfile", "type"), "RuntimeDefault"),)))


@rule(
    id="AIS112", resource_only=True, title="Dangerous capability added", severity="high", applies_to=WORKLOAD_KINDS,
    source=K8S, equivalents={"checkov": ["CKV_K8S_39", "CKV_K8S_28"], "trivy": ["KSV005", "KSV022"]},
    references=["https://man7.org/linux/man-pages/man7/capabilities.7.html"],
)
def dangerous_capabilities(resource, ctx):
    """## What it does
    Flags containers that add SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_PTRACE, SYS_MODULE, BPF,
    PERFMON, DAC_READ_SEARCH, SYS_RAWIO, SYS_BOOT or ALL.

    ## Why is this bad?
    SYS_ADMIN is nearly root on the node; SYS_PTRACE reads the memory of other processes in the
    pod (decrypted model weights, API keys); NET_ADMIN/NET_RAW let a compromised server reroute or
    spoof traffic to the metadata service and to neighbouring model endpoints. GPU serving needs
    none of them.

    ## Example
    ```yaml
    securityContext:
      capabilities:
        add: ["SYS_ADMIN"]
    ```

    ## Fix
    Remove the capability; profiling tools that need SYS_PTRACE belong in an ephemeral debug
    container, not in the serving image.
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            added = container.security_context.find("capabilities.add") if container.security_context else None
            for item in added.items if isinstance(added, Sequence) else []:
                if isinstance(item, Scalar) and str(item.value).upper().removeprefix("CAP_") in DANGEROUS_CAPABILITIES:
                    yield Hit(item, f"container `{container.name}` adds {item.value}")


@rule(
    id="AIS113", resource_only=True, title="Container binds a host port", severity="medium", applies_to=WORKLOAD_KINDS,
    source=K8S, equivalents={"checkov": ["CKV_K8S_26"], "trivy": ["KSV024"]},
    references=["https://kubernetes.io/docs/concepts/configuration/overview/#services"],
)
def host_port(resource, ctx):
    """## What it does
    Flags container ports with a `hostPort`.

    ## Why is this bad?
    A host port publishes the model server on the GPU node's own address, outside Services,
    NetworkPolicies and ingress authentication: anyone who can reach the node reaches the model,
    and the pod can only run once per node.

    ## Example
    ```yaml
    ports:
      - containerPort: 8000
        hostPort: 8000
    ```

    ## Fix
    Remove `hostPort` and expose the server through a ClusterIP Service.
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            ports = container.node.get("ports")
            for port in ports.items if isinstance(ports, Sequence) else []:
                entry = port.entry("hostPort") if isinstance(port, Mapping) else None
                if entry is not None and (as_int(entry.value) or 0) > 0:
                    yield Hit(entry, f"container `{container.name}` binds host port {as_int(entry.value)}")


@rule(
    id="AIS114", resource_only=True, title="Container runtime socket mounted", severity="critical",
    applies_to=WORKLOAD_KINDS, source=K8S, equivalents={"checkov": ["CKV_K8S_27"], "trivy": ["KSV006"]},
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
)
def runtime_socket(resource, ctx):
    """## What it does
    Flags `hostPath` volumes that mount the Docker, containerd or CRI-O socket.

    ## Why is this bad?
    The runtime socket controls every container on the node: whoever can write to it can start
    a privileged container, read any pod's files (model weights, tokens) and take over the GPU
    node. Build or cache-warming jobs sometimes mount it "to pull images faster".

    ## Example
    ```yaml
    volumes:
      - name: docker
        hostPath: {path: /var/run/docker.sock}
    ```

    ## Fix
    Remove the mount; pull or pre-load images with the cluster's image cache or an image-puller
    DaemonSet that does not need the socket.
    """
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        for volume in volumes.items if isinstance(volumes, Sequence) else []:
            path = volume.find("hostPath.path") if isinstance(volume, Mapping) else None
            if as_str(path) in RUNTIME_SOCKETS:
                yield Hit(path, f"mounts the container runtime socket {as_str(path)}")


def _gpu_quantities(container) -> dict[str, tuple[object, object]]:
    """resource name -> (request entry value, limit entry value) for GPU resources."""
    resources = container.node.mapping("resources")
    requests = resources.mapping("requests") if resources else None
    limits = resources.mapping("limits") if resources else None
    found = {}
    for name in GPU_RESOURCES:
        request = requests.entry(name) if requests else None
        limit = limits.entry(name) if limits else None
        if request is not None or limit is not None:
            found[name] = (request, limit)
    return found


@rule(
    id="AIS120", resource_only=True, title="GPU requested without a matching limit", severity="medium",
    applies_to=WORKLOAD_KINDS, source=K8S,
    references=["https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/"],
    fixable=True,
)
def gpu_limit(resource, ctx):
    """## What it does
    Flags containers that request `nvidia.com/gpu` or `amd.com/gpu` without a limit, or with a
    limit different from the request.

    ## Why is this bad?
    GPUs are extended resources: the scheduler accounts for them only through limits, and the
    device plugin hands out whole devices. A request without a limit is rejected or, with some
    admission setups, lets a pod use devices it was never budgeted for; a mismatched pair hides
    what a model server really consumes, which is how GPU quotas and cost controls are bypassed.

    ## Example
    ```yaml
    resources:
      requests:
        nvidia.com/gpu: 1
    ```

    Use instead:
    ```yaml
    resources:
      requests:
        nvidia.com/gpu: 1
      limits:
        nvidia.com/gpu: 1
    ```

    ## Fix
    Set the GPU limit equal to the request (quick fix).
    """
    for pod in pod_specs(resource):
        for container in pod.containers(include_ephemeral=False):
            for name, (request, limit) in _gpu_quantities(container).items():
                if request is None:
                    continue
                wanted = request.value.plain() if hasattr(request.value, "plain") else None
                if limit is None:
                    yield Hit(request, f"container `{container.name}` requests {name} without a limit",
                              Fix(f"Set limits.{name} to the request",
                                  (SetPath(container.node, ("resources", "limits", name), wanted),)))
                elif limit.value.plain() != wanted:
                    yield Hit(limit, f"container `{container.name}` limits {name} to {limit.value.plain()} "
                                     f"but requests {wanted}",
                              Fix(f"Set limits.{name} to the request", (ReplaceValue(limit.value, wanted),)))


@rule(
    id="AIS122", resource_only=True, title="Shared memory volume without a size limit", severity="medium",
    applies_to=WORKLOAD_KINDS, source=K8S,
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#emptydir"],
)
def shm_size_limit(resource, ctx):
    """## What it does
    Flags `emptyDir` volumes with `medium: Memory` (the usual `/dev/shm` for PyTorch data
    loaders, vLLM and Triton's Python backend) that have no `sizeLimit`.

    ## Why is this bad?
    A memory-backed emptyDir is RAM counted against the node: without a size limit one request
    with a huge batch, or an attacker streaming data into shared memory, exhausts the GPU node's
    memory and evicts every model server scheduled there. The limit turns that into a failure of
    the one pod.

    ## Example
    ```yaml
    volumes:
      - name: shm
        emptyDir: {medium: Memory}
    ```

    ## Fix
    Add `sizeLimit` (for example `8Gi`) sized to the data loaders or tensor-parallel workers.
    """
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        for volume in volumes.items if isinstance(volumes, Sequence) else []:
            empty_dir = volume.entry("emptyDir") if isinstance(volume, Mapping) else None
            if empty_dir is None or not isinstance(empty_dir.value, Mapping):
                continue
            if as_str(empty_dir.value.get("medium")) == "Memory" and "sizeLimit" not in empty_dir.value:
                name = as_str(volume.get("name")) or "unnamed"
                yield Hit(empty_dir, f"memory-backed volume `{name}` has no sizeLimit")


@rule(
    id="AIS123", resource_only=True, title="Model server without a memory limit", severity="medium",
    applies_to=WORKLOAD_KINDS, source=K8S,
    equivalents={"checkov": ["CKV_K8S_13"], "trivy": ["KSV018"], "kube-linter": ["unset-memory-requirements"]},
    references=["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"],
)
def memory_limit(resource, ctx):
    """## What it does
    Flags containers without `resources.limits.memory`.

    ## Why is this bad?
    Model servers grow with batch size, context length and the number of loaded models; without a
    limit one oversized request (or a prompt crafted to explode the KV cache on CPU offload) can
    take the node's memory and evict the other model servers on it. A limit makes the server the
    only victim, and makes its real footprint visible for capacity planning.

    ## Example
    ```yaml
    resources:
      limits:
        nvidia.com/gpu: 1
    ```

    ## Fix
    Set `resources.limits.memory` (and a matching request) from the server's measured peak.
    """
    for pod in pod_specs(resource):
        for container in pod.containers(include_ephemeral=False):
            if container.list_name == "initContainers":
                continue
            limits = container.node.find("resources.limits")
            if not isinstance(limits, Mapping) or "memory" not in limits:
                yield Hit(container.node, f"container `{container.name}` has no memory limit")
