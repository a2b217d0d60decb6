"""Workload hardening (AIS1xx): the container boundary around a model server."""

from __future__ import annotations

from aiiac_ls.model.findings import AppendItem, Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_bool, as_int, as_str
from aiiac_ls.rules import rule

from .workloads import MOVING_TAGS, WORKLOAD_RULE_KINDS, is_gpu_node_agent, pod_specs, tag_of

K8S = "kubernetes"


def _set_true_fix(title: str, container, key: str, value=True) -> Fix:
    return Fix(title, (SetPath(container.node, ("securityContext", key), value),))


@rule(
    id="AIS101",
    unsafe_fix="an image built to run as root fails to start with runAsNonRoot: true",
    title="Container may run as root",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_23"], "trivy": ["KSV012"], "kube-linter": ["run-as-non-root"]},
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"],
    fixable=True,
)
def run_as_non_root(resource, ctx):
    """## What it does
    Flags containers that are not forced to run as a non-root user: neither the container nor
    the pod sets `runAsNonRoot: true` or a non-zero `runAsUser`.

    ## Why is this bad?
    Model-server images (TF Serving, Triton, vLLM, TorchServe) run as root unless told otherwise.
    A remote-code bug in a model loader (pickle deserialisation in a `.pt` checkpoint, a custom
    Python backend) then executes as root inside the container: it can rewrite the model files
    the server loads (weight poisoning), read every mounted credential, and has the privileges
    that most container-escape exploits need to reach the GPU node and its other tenants.

    ## Example
    ```yaml
    containers:
      - name: triton
        image: nvcr.io/nvidia/tritonserver:24.05-py3
    ```

    Use instead:
    ```yaml
    containers:
      - name: triton
        image: nvcr.io/nvidia/tritonserver:24.05-py3
        securityContext:
          runAsNonRoot: true
    ```

    ## Fix
    Set `securityContext.runAsNonRoot: true` on the container (the quick fix does this), or on
    the pod for all of its containers, and make sure the image has a non-root `USER`.
    """
    for pod in pod_specs(resource):
        pod_non_root = pod.setting("runAsNonRoot")
        pod_user = pod.setting("runAsUser")
        pod_reported = False
        for container in pod.containers(include_ephemeral=False):
            own = container.setting("runAsNonRoot")
            own_user = container.setting("runAsUser")
            non_root = own if own is not None else pod_non_root
            user = own_user if own_user is not None else pod_user
            if non_root is not None and as_bool(non_root.value) is True:
                continue
            uid = as_int(user.value) if user is not None else None
            if uid is not None and uid > 0:
                continue
            if uid == 0:
                continue  # AIS102 reports the explicit root UID
            if own is not None:  # runAsNonRoot: false on the container
                yield Hit(
                    own,
                    f"container `{container.name}` sets runAsNonRoot: false",
                    Fix("Set runAsNonRoot: true", (ReplaceValue(own.value, True),)),
                )
            elif pod_non_root is not None:  # runAsNonRoot: false on the pod, not overridden
                if not pod_reported:
                    pod_reported = True
                    yield Hit(
                        pod_non_root,
                        "pod sets runAsNonRoot: false",
                        Fix("Set runAsNonRoot: true", (ReplaceValue(pod_non_root.value, True),)),
                    )
            else:
                yield Hit(
                    container.lacking("securityContext"),
                    f"container `{container.name}` may run as root (runAsNonRoot is not set)",
                    _set_true_fix("Add securityContext.runAsNonRoot: true", container, "runAsNonRoot"),
                )


@rule(
    id="AIS102",
    title="Container runs as UID 0",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_23"], "trivy": ["KSV105"], "kube-linter": ["run-as-non-root"]},
    references=["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
)
def run_as_uid_zero(resource, ctx):
    """## What it does
    Flags `runAsUser: 0` on a container, or on a pod whose containers do not override it.

    ## Why is this bad?
    An explicit UID 0 defeats `runAsNonRoot` and the image's own non-root `USER`. Anyone who
    gets code execution in the model server (a malicious model file, an inference-time exploit)
    is root in the container, can tamper with model weights and caches on shared volumes, and
    starts a container escape with every capability the runtime grants root.

    ## Example
    ```yaml
    securityContext:
      runAsUser: 0
    ```

    ## Fix
    Use a non-zero UID that owns the model directory (for example `runAsUser: 1000` with
    `fsGroup: 1000`), or remove the setting and rely on the image's non-root user.
    """
    for pod in pod_specs(resource):
        pod_user = pod.setting("runAsUser")
        pod_user_inherited = False
        for container in pod.containers(include_ephemeral=False):
            own = container.setting("runAsUser")
            if own is not None:
                if as_int(own.value) == 0:
                    yield Hit(own, f"container `{container.name}` runs as UID 0 (root)")
            elif pod_user is not None and as_int(pod_user.value) == 0:
                pod_user_inherited = True
        if pod_user_inherited and pod_user is not None:
            yield Hit(pod_user, "pod runs its containers as UID 0 (root)")


@rule(
    id="AIS103",
    unsafe_fix="device plugins, GPU/TPU drivers and accelerator runtimes need privileged mode; removing it stops them",
    title="Privileged container",
    severity="critical",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_16"], "trivy": ["KSV017"], "kube-linter": ["privileged-container"]},
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"],
    fixable=True,
)
def privileged_container(resource, ctx):
    """## What it does
    Flags containers with `securityContext.privileged: true`.

    ## Why is this bad?
    A privileged container sees every device of the node, including all GPUs, and can load
    kernel modules or mount the host filesystem: a compromised inference server becomes the
    node, with the weights, tokens and data of every other model scheduled there. GPU access
    does not need it: the NVIDIA device plugin exposes `nvidia.com/gpu` to unprivileged pods.

    ## Example
    ```yaml
    securityContext:
      privileged: true
    ```

    ## Fix
    Remove `privileged: true` (the quick fix sets it to `false`) and request GPUs through
    `resources.limits["nvidia.com/gpu"]`.

    Exempt: the official NVIDIA / AMD GPU node agents (device plugin, GPU operator driver and
    toolkit, DCGM exporter, feature discovery), recognised as DaemonSets whose every container
    runs one of their images; they need the host by design. Other privileged DaemonSets should
    carry a suppression with the reason.
    """
    if is_gpu_node_agent(resource):
        return
    for pod in pod_specs(resource):
        for container in pod.containers():
            setting = container.setting("privileged")
            if setting is not None and as_bool(setting.value) is True:
                yield Hit(
                    setting,
                    f"container `{container.name}` is privileged",
                    Fix("Set privileged: false", (ReplaceValue(setting.value, False),)),
                )


@rule(
    id="AIS104",
    title="Privilege escalation allowed",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_20"], "trivy": ["KSV001"], "kube-linter": ["privilege-escalation-container"]},
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"],
    fixable=True,
)
def privilege_escalation(resource, ctx):
    """## What it does
    Flags containers that do not set `allowPrivilegeEscalation: false`.

    ## Why is this bad?
    Without it, a process in the model server can gain more privileges than its parent through
    setuid binaries or file capabilities shipped in large ML base images (CUDA, conda). An
    attacker who lands in a non-root inference worker can then climb back to root and reach the
    model files and credentials the non-root user was meant to be kept from.

    ## Example
    ```yaml
    securityContext:
      runAsNonRoot: true
    ```

    Use instead:
    ```yaml
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
    ```

    ## Fix
    Set `securityContext.allowPrivilegeEscalation: false` on every container (quick fix).
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            setting = container.setting("allowPrivilegeEscalation")
            if setting is None:
                yield Hit(
                    container.lacking("securityContext"),
                    f"container `{container.name}` does not set allowPrivilegeEscalation: false",
                    _set_true_fix(
                        "Add securityContext.allowPrivilegeEscalation: false",
                        container,
                        "allowPrivilegeEscalation",
                        False,
                    ),
                )
            elif as_bool(setting.value) is True:
                yield Hit(
                    setting,
                    f"container `{container.name}` allows privilege escalation",
                    Fix("Set allowPrivilegeEscalation: false", (ReplaceValue(setting.value, False),)),
                )


@rule(
    id="AIS105",
    unsafe_fix="a server that writes outside its mounted volumes (caches, /tmp, pid files) fails on a read-only root",
    title="Root filesystem is writable",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_22"], "trivy": ["KSV014"], "kube-linter": ["no-read-only-root-fs"]},
    references=["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
    fixable=True,
)
def read_only_root_filesystem(resource, ctx):
    """## What it does
    Flags containers that do not set `readOnlyRootFilesystem: true`.

    ## Why is this bad?
    A writable root filesystem lets an attacker in the serving container persist tooling, swap
    the server's Python packages or patch the model repository baked into the image so that
    every later request is served by a backdoored model. Serving needs only a few writable
    paths (`/tmp`, a cache), which are better given as `emptyDir` volumes.

    ## Example
    ```yaml
    securityContext:
      allowPrivilegeEscalation: false
    ```

    Use instead:
    ```yaml
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
    ```

    ## Fix
    Set `securityContext.readOnlyRootFilesystem: true` (quick fix) and mount an `emptyDir` at
    the paths the server writes to (`/tmp`, `~/.cache/huggingface`).
    """
    for pod in pod_specs(resource):
        for container in pod.containers(include_ephemeral=False):
            setting = container.setting("readOnlyRootFilesystem")
            if setting is None:
                yield Hit(
                    container.lacking("securityContext"),
                    f"container `{container.name}` has a writable root filesystem",
                    _set_true_fix(
                        "Add securityContext.readOnlyRootFilesystem: true", container, "readOnlyRootFilesystem"
                    ),
                )
            elif as_bool(setting.value) is False:
                yield Hit(
                    setting,
                    f"container `{container.name}` sets readOnlyRootFilesystem: false",
                    Fix("Set readOnlyRootFilesystem: true", (ReplaceValue(setting.value, True),)),
                )


@rule(
    id="AIS106",
    unsafe_fix="a process that needs a capability (binding a low port, changing file ownership) fails without it",
    title="Capabilities are not dropped",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={
        "checkov": ["CKV_K8S_37", "CKV_K8S_28"],
        "trivy": ["KSV003"],
        "kube-linter": ["drop-net-raw-capability"],
    },
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"],
    fixable=True,
)
def drop_all_capabilities(resource, ctx):
    """## What it does
    Flags containers whose `securityContext.capabilities.drop` does not contain `ALL`.

    ## Why is this bad?
    Container runtimes grant a default set of Linux capabilities (NET_RAW, CHOWN, SETUID...).
    An inference server needs none of them; an attacker who exploits it can use NET_RAW to spoof
    traffic to neighbouring model endpoints or the cloud metadata service, and the others to
    take over files on shared model volumes.

    ## Example
    ```yaml
    securityContext:
      capabilities:
        drop: ["NET_RAW"]
    ```

    Use instead:
    ```yaml
    securityContext:
      capabilities:
        drop: ["ALL"]
    ```

    ## Fix
    Set `capabilities.drop: ["ALL"]` (quick fix) and add back, under `add`, only a capability
    the server is shown to need.
    """
    for pod in pod_specs(resource):
        for container in pod.containers(include_ephemeral=False):
            context = container.security_context
            capabilities = context.mapping("capabilities") if context else None
            drop_entry = capabilities.entry("drop") if capabilities else None
            if drop_entry is None:
                yield Hit(
                    container.lacking("securityContext"),
                    f"container `{container.name}` does not drop ALL capabilities",
                    Fix(
                        'Add securityContext.capabilities.drop: ["ALL"]',
                        (SetPath(container.node, ("securityContext", "capabilities", "drop"), ["ALL"]),),
                    ),
                )
                continue
            dropped = drop_entry.value
            items = dropped.items if isinstance(dropped, Sequence) else []
            if not isinstance(dropped, Sequence) or not any(
                isinstance(item, Scalar) and str(item.value).upper() == "ALL" for item in items
            ):
                yield Hit(
                    drop_entry,
                    f"container `{container.name}` does not drop ALL capabilities",
                    Fix("Drop ALL capabilities", (ReplaceValue(dropped, ["ALL"]),)),
                )


_HOST_NAMESPACES = {
    "hostNetwork": "shares the node's network namespace (reaches the metadata service and node-local ports)",
    "hostPID": "shares the node's process namespace (sees and can signal every process on the GPU node)",
    "hostIPC": "shares the node's IPC namespace (reads other pods' shared memory, including tensors in /dev/shm)",
}


@rule(
    id="AIS107",
    unsafe_fix="a pod that relies on the node's network, PID or IPC namespace stops working without it",
    title="Pod shares a host namespace",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={
        "checkov": ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"],
        "trivy": ["KSV008", "KSV009", "KSV010"],
        "kube-linter": ["host-network", "host-pid", "host-ipc"],
    },
    references=["https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"],
    fixable=True,
)
def host_namespaces(resource, ctx):
    """## What it does
    Flags pods with `hostNetwork`, `hostPID` or `hostIPC` set to `true`.

    ## Why is this bad?
    Host namespaces remove the isolation between the model server and the GPU node. With
    `hostNetwork` the pod reaches the node's metadata endpoint (and its cloud credentials) and
    binds ports on the node itself, bypassing Services and NetworkPolicies. `hostPID` exposes
    every process on the node, other tenants' inference workers included. `hostIPC` is often set
    to get a large `/dev/shm` for PyTorch data loaders; it also shares other pods' shared-memory
    segments, where tensors and prompts live.

    ## Example
    ```yaml
    spec:
      hostIPC: true
    ```

    ## Fix
    Remove the setting (the quick fix sets it to `false`). For shared memory, mount an
    `emptyDir` with `medium: Memory` and a `sizeLimit` at `/dev/shm` (the quick fix for `hostIPC`
    does this, with `8Gi` to adjust). The official GPU node agents are exempt (see AIS103).
    """
    if is_gpu_node_agent(resource):
        return
    for pod in pod_specs(resource):
        for key, consequence in _HOST_NAMESPACES.items():
            entry = pod.spec.entry(key)
            if entry is not None and as_bool(entry.value) is True:
                fix = Fix(f"Set {key}: false", (ReplaceValue(entry.value, False),))
                if key == "hostIPC":
                    fix = _private_shm_fix(pod, entry, fix) or fix
                yield Hit(entry, f"pod sets {key}: true: it {consequence}", fix, equivalents=_HOST_EQUIVALENTS[key])


_HOST_EQUIVALENTS = {
    "hostNetwork": {"checkov": ["CKV_K8S_19"], "trivy": ["KSV009"], "kube-linter": ["host-network"]},
    "hostPID": {"checkov": ["CKV_K8S_17"], "trivy": ["KSV010"], "kube-linter": ["host-pid"]},
    "hostIPC": {"checkov": ["CKV_K8S_18"], "trivy": ["KSV008"], "kube-linter": ["host-ipc"]},
}


SHM_VOLUME = {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}
SHM_MOUNT = {"name": "dshm", "mountPath": "/dev/shm"}


def _private_shm_fix(pod, entry, plain: Fix) -> Fix | None:
    """hostIPC is usually there for a big /dev/shm: give the pod its own instead, a memory-backed
    emptyDir mounted at /dev/shm in every main container. None when the pod already has a `dshm`
    volume or a /dev/shm mount; the plain `hostIPC: false` fix is offered then, and where this one
    cannot be written (containers produced by a Helm action)."""
    volumes = pod.spec.get("volumes")
    names = (
        {as_str(v.get("name")) for v in volumes.items if isinstance(v, Mapping)}
        if isinstance(volumes, Sequence)
        else set()
    )
    if "dshm" in names:
        return None
    edits: list = [ReplaceValue(entry.value, False)]
    for container in pod.main_containers():
        mounts = container.node.get("volumeMounts")
        if isinstance(mounts, Sequence):
            if any(isinstance(m, Mapping) and as_str(m.get("mountPath")) == "/dev/shm" for m in mounts.items):
                return None
            edits.append(AppendItem(mounts, SHM_MOUNT))
        elif mounts is None:
            edits.append(SetPath(container.node, ("volumeMounts",), [SHM_MOUNT]))
        else:
            return None
    if isinstance(volumes, Sequence):
        edits.append(AppendItem(volumes, SHM_VOLUME))
    elif volumes is None:
        edits.append(SetPath(pod.spec, ("volumes",), [SHM_VOLUME]))
    else:
        return None
    return Fix("Set hostIPC: false and mount a memory-backed emptyDir (8Gi) at /dev/shm", tuple(edits), plain)


@rule(
    id="AIS108",
    title="hostPath volume",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"trivy": ["KSV023"], "kube-linter": ["sensitive-host-mounts"]},
    references=["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
)
def host_path_volume(resource, ctx):
    """## What it does
    Flags pod volumes of type `hostPath`.

    ## Why is this bad?
    A `hostPath` mount gives the model server a window onto the node's filesystem. Model caches
    on the node (`/mnt/models`, `/var/lib/huggingface`) mounted this way are shared by every pod
    that mounts them: one compromised server can poison the weights another loads, and a mount
    of `/`, `/var/run` or the container runtime socket is a full node takeover.

    ## Example
    ```yaml
    volumes:
      - name: model-cache
        hostPath:
          path: /mnt/models
    ```

    ## Fix
    Use a PersistentVolumeClaim (read-only where the server only reads), an `emptyDir`, or an
    init container that downloads the model. If a node-local cache is essential, mount it
    `readOnly: true` and suppress with the reason. The official GPU node agents (the device
    plugin's `/var/lib/kubelet/device-plugins`) are exempt (see AIS103).
    """
    if is_gpu_node_agent(resource):
        return
    for pod in pod_specs(resource):
        volumes = pod.spec.get("volumes")
        if not isinstance(volumes, Sequence):
            continue
        for volume in volumes.items:
            if not isinstance(volume, Mapping):
                continue
            host_path = volume.entry("hostPath")
            if host_path is None:
                continue
            path_node = host_path.value.get("path") if isinstance(host_path.value, Mapping) else None
            path = getattr(path_node, "value", "?")
            name = getattr(volume.get("name"), "value", "unnamed")
            yield Hit(host_path, f"volume `{name}` mounts the node's `{path}` (hostPath)")


@rule(
    id="AIS109",
    unsafe_fix="a pod that calls the Kubernetes API with its ServiceAccount loses access",
    title="Service account token is mounted",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_38"], "trivy": ["KSV036"]},
    references=["https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"],
    fixable=True,
)
def automount_service_account_token(resource, ctx):
    """## What it does
    Flags pods that do not set `automountServiceAccountToken: false`, unless the service account
    they use (defined in the same files) already disables automounting.

    ## Why is this bad?
    Model servers almost never call the Kubernetes API, yet by default every pod gets a token
    for it. An attacker with code execution in the server uses that token to list Secrets
    (model-hub tokens, cloud keys), read ConfigMaps, or, with a carelessly bound role, start pods
    on GPU nodes for cryptomining.

    ## Example
    ```yaml
    spec:
      containers: [...]
    ```

    Use instead:
    ```yaml
    spec:
      automountServiceAccountToken: false
      containers: [...]
    ```

    ## Fix
    Set `automountServiceAccountToken: false` in the pod spec (quick fix), or on the
    ServiceAccount. Pods that need the API (operators, Ray head nodes) keep it and should use a
    dedicated, minimal role.
    """
    bound = ctx.index(_bound_service_accounts)
    for pod in pod_specs(resource):
        account_node = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
        account_name = getattr(account_node, "value", None) or "default"
        if (resource.namespace, account_name) in bound or (None, account_name) in bound:
            continue  # its ServiceAccount is bound to a role: the pod uses the API (an operator, a Ray head)
        setting = pod.spec.entry("automountServiceAccountToken")
        if setting is not None:
            if as_bool(setting.value) is True:
                yield Hit(
                    setting,
                    "pod mounts a Kubernetes API token (automountServiceAccountToken: true)",
                    Fix("Set automountServiceAccountToken: false", (ReplaceValue(setting.value, False),)),
                )
            continue
        account = ctx.named("ServiceAccount", account_name, resource.namespace)
        if account is not None and as_bool(account.body.get("automountServiceAccountToken")) is False:
            continue
        yield Hit(
            pod.entry,
            "pod mounts a Kubernetes API token it likely does not need",
            Fix(
                "Add automountServiceAccountToken: false",
                (SetPath(pod.spec, ("automountServiceAccountToken",), False),),
            ),
        )


def _bound_service_accounts(ctx) -> set[tuple[str | None, str]]:
    """(namespace, name) of every ServiceAccount a RoleBinding or ClusterRoleBinding of the scan
    names as a subject (a RoleBinding's namespace when the subject gives none)."""
    bound: set[tuple[str | None, str]] = set()
    for binding in ctx.of_kind("RoleBinding", "ClusterRoleBinding"):
        subjects = binding.body.get("subjects")
        for subject in subjects.items if isinstance(subjects, Sequence) else []:
            if isinstance(subject, Mapping) and as_str(subject.get("kind")) == "ServiceAccount":
                name = as_str(subject.get("name"))
                if name:
                    bound.add((as_str(subject.get("namespace")) or binding.namespace, name))
    return bound


@rule(
    id="AIS110",
    title="Image is not pinned to a version",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_14"], "trivy": ["KSV013"], "kube-linter": ["latest-tag"]},
    references=["https://kubernetes.io/docs/concepts/containers/images/#image-names"],
)
def image_tag(resource, ctx):
    """## What it does
    Flags container images with no tag or a moving tag (`latest`, `nightly`, `main`, `master`,
    `dev`, `edge`, `canary`...), and no digest.

    ## Why is this bad?
    A floating tag means the model server that runs is whatever the registry serves at pull
    time: a compromised or typo-squatted upstream image (inference runtimes are large and
    pulled often) silently replaces the reviewed one, and a rollback cannot bring the old
    server back. The same model then gives different results across replicas.

    ## Example
    ```yaml
    image: vllm/vllm-openai:latest
    ```

    Use instead:
    ```yaml
    image: vllm/vllm-openai:v0.6.3@sha256:<digest>
    ```

    ## Fix
    Pin a released version tag, ideally with its `@sha256:` digest.
    """
    for pod in pod_specs(resource, partial=True):
        for container in pod.containers():
            entry = container.node.entry("image")
            if entry is None or not isinstance(entry.value, Scalar) or not isinstance(entry.value.value, str):
                continue
            image = entry.value.value.strip()
            if "@" in image:
                continue
            tag = tag_of(image)
            if not tag:
                yield Hit(entry, f"image `{image}` has no tag (pulls `latest`)")
            elif tag.lower() in MOVING_TAGS:
                raw = entry.value.value
                start = raw.rfind(f":{tag}") + 1
                yield Hit(entry, f"image `{image}` uses the floating `{tag}` tag", part=(start, start + len(tag)))
