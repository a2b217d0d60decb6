"""Workload hardening continued (AIS11x) and GPU hygiene (AIS12x)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_int, as_str
from aiiac_ls.rules import rule

from .workloads import WORKLOAD_RULE_KINDS, is_gpu_node_agent, pod_specs

K8S = "kubernetes"
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
DANGEROUS_CAPABILITIES = {
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "SYS_RAWIO",
    "SYS_BOOT",
    "ALL",
}
RUNTIME_SOCKETS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
)


@rule(
    id="AIS111",
    title="No seccomp profile",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_31"], "trivy": ["KSV030"]},
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
            yield Hit(
                pod_profile,
                "pod seccomp profile is Unconfined",
                Fix("Set seccompProfile.type: RuntimeDefault", (ReplaceValue(pod_profile, "RuntimeDefault"),)),
            )
            continue
        unprotected = []
        for container in pod.containers(include_ephemeral=False):
            own = container.security_context.find("seccompProfile.type") if container.security_context else None
            if as_str(own) == "Unconfined":
                yield Hit(
                    own,
                    f"container `{container.name}` seccomp profile is Unconfined",
                    Fix("Set seccompProfile.type: RuntimeDefault", (ReplaceValue(own, "RuntimeDefault"),)),
                )
            elif own is None and pod_type not in ("RuntimeDefault", "Localhost"):
                unprotected.append(container.name)
        if unprotected:
            yield Hit(
                pod.entry,
                f"no seccomp profile for {', '.join(f'`{n}`' for n in unprotected)}",
                Fix(
                    "Add securityContext.seccompProfile.type: RuntimeDefault to the pod",
                    (SetPath(pod.spec, ("securityContext", "seccompProfile", "type"), "RuntimeDefault"),),
                ),
            )


@rule(
    id="AIS112",
    title="Dangerous capability added",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_39"], "trivy": ["KSV005", "KSV022"]},
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
    id="AIS113",
    title="Container binds a host port",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_26"], "trivy": ["KSV024"]},
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
    id="AIS114",
    title="Container runtime socket mounted",
    severity="critical",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_27"], "trivy": ["KSV006"]},
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
    id="AIS120",
    title="GPU requested without a matching limit",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
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
                    yield Hit(
                        request,
                        f"container `{container.name}` requests {name} without a limit",
                        Fix(
                            f"Set limits.{name} to the request",
                            (SetPath(container.node, ("resources", "limits", name), wanted),),
                        ),
                    )
                elif limit.value.plain() != wanted:
                    yield Hit(
                        limit,
                        f"container `{container.name}` limits {name} to {limit.value.plain()} but requests {wanted}",
                        Fix(f"Set limits.{name} to the request", (ReplaceValue(limit.value, wanted),)),
                    )


@rule(
    id="AIS122",
    unsafe_fix="a pod whose shared memory grows past the limit is evicted",
    title="Shared memory volume without a size limit",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#emptydir"],
    fixable=True,
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
    Add `sizeLimit` sized to the data loaders or tensor-parallel workers (the quick fix inserts
    `8Gi` for you to adjust).
    """
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        for volume in volumes.items if isinstance(volumes, Sequence) else []:
            empty_dir = volume.entry("emptyDir") if isinstance(volume, Mapping) else None
            if empty_dir is None or not isinstance(empty_dir.value, Mapping):
                continue
            if as_str(empty_dir.value.get("medium")) == "Memory" and "sizeLimit" not in empty_dir.value:
                name = as_str(volume.get("name")) or "unnamed"
                yield Hit(
                    empty_dir,
                    f"memory-backed volume `{name}` has no sizeLimit",
                    Fix(
                        "Add sizeLimit: 8Gi (adjust to the workload)",
                        (SetPath(empty_dir.value, ("sizeLimit",), "8Gi"),),
                    ),
                )


@rule(
    id="AIS123",
    title="Model server without a memory limit",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_13"], "trivy": ["KSV018"], "kube-linter": ["unset-memory-requirements"]},
    references=["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"],
)
def memory_limit(resource, ctx):
    """## What it does
    Flags model-server containers (by image or command line, as AIS311 recognises them) without
    `resources.limits.memory`. Other containers are AIS125's: a request is what they need.

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
        for container in pod.model_servers():
            limits = container.node.find("resources.limits")
            if not isinstance(limits, Mapping) or "memory" not in limits:
                yield Hit(container.lacking("resources"), f"container `{container.name}` has no memory limit")


@rule(
    id="AIS125",
    title="Container without CPU or memory requests",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_10", "CKV_K8S_12"], "kube-linter": ["unset-cpu-requirements"]},
    references=[
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/",
    ],
)
def resource_requests(resource, ctx):
    """## What it does
    Flags containers that request no CPU or no memory. A limit without a request counts as the
    request (Kubernetes copies it). CPU *limits* are deliberately not required: they throttle
    tokenizers and pre/post-processing threads without protecting anyone.

    ## Why is this bad?
    Without requests the scheduler places the pod as if it needed nothing: model servers land on
    nodes already full of data loaders, get CPU-starved in tokenization and request batching
    (latency spikes that look like GPU problems), and are the first evicted under memory pressure,
    which for a server that takes minutes to load its weights is an outage.

    ## Example
    ```yaml
    resources:
      limits:
        nvidia.com/gpu: 1
    ```

    Use instead:
    ```yaml
    resources:
      requests: {cpu: "4", memory: 24Gi}
      limits: {memory: 24Gi, nvidia.com/gpu: 1}
    ```

    ## Fix
    Set `resources.requests.cpu` and `.memory` from the server's measured use under load.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            declared = set()
            for section in ("requests", "limits"):
                values = container.node.find(f"resources.{section}")
                if isinstance(values, Mapping):
                    declared.update(key for key in ("cpu", "memory") if key in values)
            missing = [key for key in ("cpu", "memory") if key not in declared]
            if missing:
                yield Hit(
                    container.lacking("resources"),
                    f"container `{container.name}` requests no {' and no '.join(missing)}",
                    equivalents={"checkov": [{"cpu": "CKV_K8S_10", "memory": "CKV_K8S_12"}[key] for key in missing]},
                )


def _uses_gpu(pod) -> bool:
    return any(_gpu_quantities(container) for container in pod.containers(include_ephemeral=False))


@rule(
    id="AIS121",
    title="GPU pod not pinned to GPU nodes",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/"],
)
def gpu_scheduling(resource, ctx):
    """## What it does
    Flags pods that request GPUs but have neither a toleration for a GPU taint (`nvidia.com/gpu`,
    `amd.com/gpu`) nor a node selector or node affinity for GPU nodes.

    ## Why is this bad?
    GPU node pools are tainted so that only GPU work lands there. A GPU pod that relies on the
    cluster's defaults works until the taint is added, and usually means the taint is missing:
    then any pod (a compromised web app included) can be scheduled next to the model servers on
    the most expensive nodes, sharing their kernel and local caches.

    ## Example
    ```yaml
    resources:
      limits: {nvidia.com/gpu: 1}
    ```

    Use instead:
    ```yaml
    tolerations:
      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
    nodeSelector: {node.kubernetes.io/instance-type: g5.2xlarge}
    ```

    ## Fix
    Taint the GPU node pool, add the matching toleration, and select the GPU nodes by label.
    """
    for pod in pod_specs(resource):
        if not _uses_gpu(pod):
            continue
        tolerations = pod.spec.get("tolerations")
        keys = [as_str(t.get("key")) or "" for t in tolerations.items] if isinstance(tolerations, Sequence) else []
        tolerated = any(key in GPU_RESOURCES or "gpu" in key.lower() for key in keys) or (
            isinstance(tolerations, Sequence)
            and any(
                isinstance(t, Mapping) and t.get("key") is None and as_str(t.get("operator")) == "Exists"
                for t in tolerations.items
            )
        )
        pinned = pod.spec.get("nodeSelector") is not None or pod.spec.find("affinity.nodeAffinity") is not None
        if not tolerated and not pinned:
            yield Hit(pod.entry, "pod requests GPUs without a GPU toleration or node selection")


def _model_uris(pod):
    """(node, uri) for model locations a pod names: KServe storageUri, STORAGE_URI/MODEL_URI env."""
    for container in pod.containers(include_ephemeral=False):
        uri = container.node.get("storageUri")
        if isinstance(uri, Scalar) and isinstance(uri.value, str):
            yield uri, uri.value
        env = container.node.get("env")
        for item in env.items if isinstance(env, Sequence) else []:
            if isinstance(item, Mapping) and as_str(item.get("name")) in ("STORAGE_URI", "MODEL_URI", "MODEL_URL"):
                value = item.get("value")
                if isinstance(value, Scalar) and isinstance(value.value, str):
                    yield value, value.value
    uri = pod.spec.get("storageUri")
    if isinstance(uri, Scalar) and isinstance(uri.value, str):
        yield uri, uri.value


@rule(
    id="AIS142",
    title="Model downloaded over plain HTTP",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kserve.github.io/website/latest/modelserving/storage/uri/uri/"],
)
def model_over_http(resource, ctx):
    """## What it does
    Flags model locations (`storageUri`, `STORAGE_URI` / `MODEL_URI` env) that use `http://`.

    ## Why is this bad?
    Whoever sits on the path can replace the weights the server loads: a backdoored model that
    answers normally except on a trigger phrase, or a pickle-based checkpoint that runs code in
    the server when loaded. Nothing downstream can tell.

    ## Example
    ```yaml
    storageUri: http://models.internal/llama-3-8b.tar.gz
    ```

    ## Fix
    Use `https://` or the object store's own protocol (`s3://`, `gs://`) with workload identity,
    and pin a digest or checksum of the artifact.
    """
    for pod in pod_specs(resource):
        for node, uri in _model_uris(pod):
            if uri.lower().startswith("http://"):
                yield Hit(node, f"model is fetched over plain HTTP ({uri.split('?')[0]})")


@rule(
    id="AIS702",
    finds_secrets=True,
    title="Credentials embedded in a model URI",
    severity="critical",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kserve.github.io/website/latest/modelserving/storage/s3/s3/"],
)
def credentials_in_uri(resource, ctx):
    """## What it does
    Flags model locations with a user and password in the URI (`https://user:pass@host/...`) or
    signed-URL secrets in the query (`X-Amz-Signature`, `sig=`).

    ## Why is this bad?
    The credential is then in the manifest, the pod spec anyone with `get pods` can read, and
    every log line that prints the URI. It usually grants the whole model store, not this model.

    ## Example
    ```yaml
    storageUri: https://deploy:s3cr3t@models.example.com/llama.tar.gz
    ```

    ## Fix
    Use a credential-free URI with workload identity (IRSA, GKE Workload Identity) or a
    ServiceAccount-referenced Secret, and rotate the leaked credential.
    """
    for pod in pod_specs(resource):
        for node, uri in _model_uris(pod):
            head = uri.split("?", 1)[0]
            if (
                "://" in head
                and "@" in head.split("://", 1)[1].split("/", 1)[0]
                and ":" in head.split("://", 1)[1].split("@", 1)[0]
            ):
                yield Hit(node, "model URI embeds a user and password", redact=True)
            elif "?" in uri and any(marker in uri for marker in ("X-Amz-Signature=", "sig=", "X-Goog-Signature=")):
                yield Hit(node, "model URI embeds a signed-URL secret", redact=True)


_MODEL_PATHS = ("/mnt/models", "/models", "/model", "/root/.cache/huggingface", "/data/models")


@rule(
    id="AIS143",
    unsafe_fix="a server that writes to its model volume (downloads, caches) fails when it is read-only",
    title="Model volume mounted writable",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#persistentvolumeclaim"],
    fixable=True,
)
def writable_model_mount(resource, ctx):
    """## What it does
    Flags volume mounts at model paths (`/mnt/models`, `/models`, `/model`, `/data/models`, the
    Hugging Face cache) backed by a PersistentVolumeClaim or hostPath, without `readOnly: true`.

    ## Why is this bad?
    A serving container only reads its model. Mounted writable, a compromise of the server (or of
    one replica) can overwrite the shared weights every replica and every later restart loads:
    persistent model poisoning that survives the incident response's pod restart.

    ## Example
    ```yaml
    volumeMounts:
      - {name: models, mountPath: /mnt/models}
    ```

    ## Fix
    Set `readOnly: true` on the mount (quick fix); let a separate, authorised job write models.
    """
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        shared = set()
        for volume in volumes.items if isinstance(volumes, Sequence) else []:
            if isinstance(volume, Mapping) and ("persistentVolumeClaim" in volume or "hostPath" in volume):
                claim = volume.find("persistentVolumeClaim.readOnly")
                if not (isinstance(claim, Scalar) and claim.value is True):
                    shared.add(as_str(volume.get("name")))
        for container in pod.main_containers():
            mounts = container.node.get("volumeMounts")
            for mount in mounts.items if isinstance(mounts, Sequence) else []:
                if not isinstance(mount, Mapping) or as_str(mount.get("name")) not in shared:
                    continue
                path = as_str(mount.get("mountPath")) or ""
                if not any(path == p or path.startswith(p + "/") for p in _MODEL_PATHS):
                    continue
                read_only = mount.entry("readOnly")
                if read_only is None:
                    yield Hit(
                        mount.entry("mountPath"),
                        f"container `{container.name}` can write the models at {path}",
                        Fix("Mount the models read-only", (SetPath(mount, ("readOnly",), True),)),
                    )
                elif read_only.value.plain() is False:
                    yield Hit(
                        read_only,
                        f"container `{container.name}` can write the models at {path}",
                        Fix("Mount the models read-only", (ReplaceValue(read_only.value, True),)),
                    )


_STATIC_KEY_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_KEY",
)


@rule(
    id="AIS312",
    title="Static cloud keys given to a workload",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html"],
)
def static_cloud_keys(resource, ctx):
    """## What it does
    Flags containers that receive AWS access keys, a Google service-account key file or Azure
    client secrets through environment variables (from a Secret or not).

    ## Why is this bad?
    Static keys do not expire, are copied into every replica and every crash dump, and are
    usually scoped to a whole bucket or account; a compromised model server leaks them for use
    from anywhere. Workload identity gives the pod short-lived credentials bound to it instead.

    ## Example
    ```yaml
    env:
      - name: AWS_SECRET_ACCESS_KEY
        valueFrom: {secretKeyRef: {name: s3-keys, key: secret}}
    ```

    ## Fix
    Use IRSA / EKS Pod Identity, GKE Workload Identity or Azure Workload Identity on the pod's
    ServiceAccount, and delete the keys.
    """
    for pod in pod_specs(resource):
        for container in pod.containers(include_ephemeral=False):
            env = container.node.get("env")
            for item in env.items if isinstance(env, Sequence) else []:
                name = as_str(item.get("name")) if isinstance(item, Mapping) else None
                if name in _STATIC_KEY_NAMES:
                    yield Hit(
                        item.entry("name"), f"container `{container.name}` gets static cloud credentials ({name})"
                    )


_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


@rule(
    id="AIS115",
    title="Unsafe sysctl or unmasked /proc",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"trivy": ["KSV026", "KSV027"]},
    references=["https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"],
)
def unsafe_sysctls(resource, ctx):
    """## What it does
    Flags pods that set sysctls outside Kubernetes' safe set, and containers with
    `procMount: Unmasked`.

    ## Why is this bad?
    Unsafe sysctls change kernel behaviour for the whole GPU node (shared memory limits tuned for
    a training job, network settings), affecting every other model server there; an unmasked
    /proc exposes kernel interfaces that container isolation relies on hiding.

    ## Example
    ```yaml
    securityContext:
      sysctls:
        - {name: kernel.shmmax, value: "68719476736"}
    ```

    ## Fix
    Use an `emptyDir` with `medium: Memory` for shared memory instead of kernel tuning, and keep
    the default `procMount`.
    """
    for pod in pod_specs(resource):
        sysctls = pod.security_context.get("sysctls") if pod.security_context else None
        for item in sysctls.items if isinstance(sysctls, Sequence) else []:
            name = item.get("name") if isinstance(item, Mapping) else None
            if as_str(name) and as_str(name) not in _SAFE_SYSCTLS:
                yield Hit(name, f"pod sets the unsafe sysctl {as_str(name)}")
        for container in pod.containers():
            entry = container.setting("procMount")
            if entry is not None and as_str(entry.value) == "Unmasked":
                yield Hit(entry, f"container `{container.name}` unmasks /proc")


@rule(
    id="AIS116",
    title="Low user or group ID",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_40"], "trivy": ["KSV020", "KSV021"]},
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/"],
)
def low_ids(resource, ctx):
    """## What it does
    Flags explicit `runAsUser` / `runAsGroup` values between 1 and 9999 (0 is AIS102's). A pod's
    value that every container overrides applies to none of them and is not reported.

    ## Why is this bad?
    Low IDs collide with users and groups of the node (system accounts, the GPU driver's, other
    tenants' files on shared hostPath or NFS model caches): after a container escape, or on a
    shared volume, the model server acts with those accounts' file permissions.

    ## Example
    ```yaml
    securityContext:
      runAsUser: 1000
    ```

    ## Fix
    Use IDs of 10000 or more that own the model directory (`fsGroup` for volumes).
    """
    for pod in pod_specs(resource):
        containers = list(pod.containers())
        contexts = [("pod", pod.security_context)]
        contexts += [(f"container `{c.name}`", c.security_context) for c in containers]
        for owner, context in contexts:
            for key in ("runAsUser", "runAsGroup"):
                if owner == "pod" and containers and all(c.setting(key) is not None for c in containers):
                    continue  # every container sets its own: the pod's value applies to none
                entry = context.entry(key) if context else None
                value = entry.value.plain() if entry else None
                if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10000:
                    yield Hit(entry, f"{owner} runs with {key} {value} (below 10000)")


@rule(
    id="AIS117",
    redundant_with=("AIS101", "AIS105", "AIS111"),
    title="No security context at all",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_30", "CKV_K8S_29"]},
    references=["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
)
def security_context_missing(resource, ctx):
    """## What it does
    Flags pods where neither the pod nor any of its containers has a `securityContext`. Left out
    when AIS101, AIS105 or AIS111 reports the same workload: they name the consequences and carry
    the fixes (and take this rule's Checkov equivalents).

    ## Why is this bad?
    Every protection then comes from defaults that favour compatibility: root, all default
    capabilities, writable root filesystem, privilege escalation. For a model server this is the
    configuration in which a malicious model file gets the most out of the container.

    ## Example
    ```yaml
    spec:
      containers:
        - {name: server, image: acme/server:1}
    ```

    ## Fix
    Start from the restricted profile: `runAsNonRoot`, `allowPrivilegeEscalation: false`,
    `readOnlyRootFilesystem`, `capabilities.drop: [ALL]`, `seccompProfile: RuntimeDefault`.
    """
    for pod in pod_specs(resource):
        if pod.security_context is None and not any(c.security_context for c in pod.containers()):
            yield Hit(pod.entry, "neither the pod nor its containers set a securityContext")


@rule(
    id="AIS118",
    title="hostPath mounted writable",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
)
def writable_host_path(resource, ctx):
    """## What it does
    Flags container mounts of `hostPath` volumes without `readOnly: true`.

    ## Why is this bad?
    A writable node path lets the container plant files the node or other pods trust: model
    caches shared between pods (poisoned weights for every later load), kubelet or log paths,
    binaries on the node. AIS108 flags hostPath at all; this is the part that turns a read into
    persistence.

    ## Example
    ```yaml
    volumeMounts:
      - {name: cache, mountPath: /cache}
    volumes:
      - {name: cache, hostPath: {path: /mnt/cache}}
    ```

    ## Fix
    Mount it `readOnly: true`, or replace the hostPath with a PersistentVolumeClaim. The official
    GPU node agents are exempt (see AIS103).
    """
    if is_gpu_node_agent(resource):
        return
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        host = {
            as_str(v.get("name"))
            for v in (volumes.items if isinstance(volumes, Sequence) else [])
            if isinstance(v, Mapping) and "hostPath" in v
        }
        for container in pod.containers():
            mounts = container.node.get("volumeMounts")
            for mount in mounts.items if isinstance(mounts, Sequence) else []:
                if isinstance(mount, Mapping) and as_str(mount.get("name")) in host:
                    read_only = mount.get("readOnly")
                    if not (isinstance(read_only, Scalar) and read_only.value is True):
                        yield Hit(
                            mount.entry("mountPath") or mount.head,
                            f"container `{container.name}` can write the node path mounted at "
                            f"{as_str(mount.get('mountPath'))}",
                        )
