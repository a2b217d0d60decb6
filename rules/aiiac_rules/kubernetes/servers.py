"""How model servers are told to run (AIS150-AIS161): their flags and environment.

No generic scanner reads these: a model server's command line decides whether anyone can load a
model into it, run code shipped with a model, or call it without a key. Each rule reads the
containers of every workload (`pod_specs`) and lands on the flag or variable to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue
from aiiac_ls.model.nodes import Mapping, Node, Scalar, Sequence, as_str
from aiiac_ls.rules import rule

from .context import _pod_labels
from .exposure import _is_internal_load_balancer
from .runtime import _uses_gpu
from .workloads import WORKLOAD_RULE_KINDS, Container, PodSpec, is_gpu_node_agent, pod_specs

K8S = "kubernetes"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Flag:
    """A command-line flag as written: `node` is the argument that holds it (or its value)."""

    name: str
    value: str | None
    node: Node


def flags(container: Container) -> Iterator[Flag]:
    """Every `--flag`, `--flag=value` and `--flag value` of the container's command and args,
    including those inside a shell string (`sh -c "vllm serve ... --api-key $KEY"`). Read once
    per container (some ten rules ask)."""
    found = container.memo.get("flags")
    if found is None:
        found = container.memo["flags"] = tuple(_read_flags(container))
    return iter(found)


def _read_flags(container: Container) -> Iterator[Flag]:
    words: list[tuple[str, Node]] = []
    for key in ("command", "args"):
        node = container.node.get(key)
        for item in node.items if isinstance(node, Sequence) else []:
            if isinstance(item, Scalar) and isinstance(item.value, str):
                for word in item.value.split():
                    words.append((word.strip("'\""), item))
    for index, (word, node) in enumerate(words):
        if not word.startswith("--"):
            continue
        name, equals, written = word.partition("=")
        value: str | None = written
        if not equals:  # `--flag value`, or a switch followed by the next flag
            following = words[index + 1][0] if index + 1 < len(words) else None
            value = following if following is not None and not following.startswith("-") else None
            if value is not None and following is not None:
                node = words[index + 1][1]  # reported where the value is written
        yield Flag(name, value, node)


def flag(container: Container, *names: str) -> Flag | None:
    return next((found for found in flags(container) if found.name in names), None)


def env(container: Container) -> dict[str, tuple[str | None, Node]]:
    """Environment variables written as values: name -> (value, the node to report)."""
    found: dict[str, tuple[str | None, Node]] = {}
    items = container.node.get("env")
    for item in items.items if isinstance(items, Sequence) else []:
        if isinstance(item, Mapping) and as_str(item.get("name")):
            value = item.get("value")
            found[as_str(item.get("name")) or ""] = (
                str(value.value) if isinstance(value, Scalar) and value.value is not None else None,
                value if value is not None and value.span else item,
            )
    return found


def _command(container: Container) -> str:
    return f"{container.image} {container.command_line()}".lower()


def _is_vllm(container: Container) -> bool:
    """A vLLM server: its image (not a benchmark run from it), or its command line."""
    command = container.command_line()
    by_image = "vllm" in container.image.lower() and "bench" not in command
    return by_image or bool(re.search(r"vllm\s+serve|vllm\.entrypoints", command))


def _is_tgi(container: Container) -> bool:
    return "text-generation-inference" in container.image or "text-generation-launcher" in container.command_line()


class _ExternalServices:
    """LoadBalancer (not internal) and NodePort Services by namespace: what reaches a pod from
    outside the cluster. Built once per analysis."""

    def __init__(self, ctx):
        self.by_namespace: dict[str | None, list] = {}
        for service in ctx.of_kind("Service"):
            kind = as_str(service.body.find("spec.type"))
            if kind == "NodePort" or (kind == "LoadBalancer" and not _is_internal_load_balancer(service)):
                self.by_namespace.setdefault(service.namespace, []).append(service)

    def exposing(self, pod: PodSpec) -> str | None:
        """The address of an external Service that selects the pod, if any."""
        labels = _pod_labels(pod.resource)
        for service in self.by_namespace.get(pod.resource.namespace, []):
            selector = service.body.find("spec.selector")
            if (
                isinstance(selector, Mapping)
                and selector.entries
                and all(labels.get(key) == str(getattr(value, "value", None)) for key, value in selector.items())
            ):
                return service.address
        return None


@rule(
    id="AIS150",
    title="Triton model control open to every client",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_management.html",
        "https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/customization_guide/inference_protocols.html#limit-endpoint-access-beta",
    ],
)
def triton_model_control(resource, ctx):
    """## What it does
    Flags Triton servers started with `--model-control-mode=explicit` or `poll` that do not
    restrict the model-repository API with `--http-restricted-api` /
    `--grpc-restricted-protocol` (`model-repository:<header>=<value>`).

    ## Why is this bad?
    In explicit mode anyone who reaches the inference port can load, unload and (with a model
    repository they can write, or `--model-load` of a file override) replace models: the
    repository API runs with the server's GPU and the Python backend executes model code. The
    restricted-API flags require a header secret for those endpoints while inference stays open.

    ## Example
    ```yaml
    args: ["tritonserver", "--model-repository=s3://models", "--model-control-mode=explicit"]
    ```

    ## Fix
    Add `--http-restricted-api=model-repository:admin-key=<secret>` and
    `--grpc-restricted-protocol=model-repository:admin-key=<secret>` (from a Secret), or use
    `--model-control-mode=none`.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            mode = flag(container, "--model-control-mode")
            if mode is None or (mode.value or "").lower() not in ("explicit", "poll"):
                continue
            restricted = [
                found
                for found in flags(container)
                if found.name in ("--http-restricted-api", "--grpc-restricted-protocol")
                and "model-repository" in (found.value or "")
            ]
            if not restricted:
                yield Hit(
                    mode.node,
                    f"Triton `{container.name}` runs --model-control-mode={mode.value} without a restricted "
                    "model-repository API: any client can load and unload models",
                )


@rule(
    id="AIS151",
    title="Remote model code trusted without a pinned revision",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://docs.vllm.ai/en/latest/configuration/engine_args.html",
        "https://huggingface.co/docs/text-generation-inference/reference/launcher#trustremotecode",
        "https://huggingface.co/docs/transformers/main/en/custom_models#using-a-model-with-custom-code",
    ],
)
def trust_remote_code(resource, ctx):
    """## What it does
    Flags vLLM (`--trust-remote-code`) and Text Generation Inference (`--trust-remote-code`,
    `TRUST_REMOTE_CODE=true`) servers that run a model's own Python code without pinning the
    model to a commit (`--revision` / `--code-revision`, TGI's `--revision` / `REVISION`, as a
    40-character commit hash).

    ## Why is this bad?
    With remote code trusted, the server imports and runs the Python files of the model
    repository at start-up. Unpinned, whoever can push to that repository (its owner, anyone who
    takes over the account or the organisation) runs code in your GPU pods at the next restart,
    with their ServiceAccount and cloud identity.

    ## Example
    ```yaml
    args: ["--model", "acme/custom-llm", "--trust-remote-code"]
    ```

    ## Fix
    Pin the model to the reviewed commit: `--revision <40-char sha>` (and `--code-revision` when
    the code lives elsewhere), or drop `--trust-remote-code`.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            if not (_is_vllm(container) or _is_tgi(container)):
                continue
            variables = env(container)
            trusted = flag(container, "--trust-remote-code")
            where: Node | None = trusted.node if trusted is not None else None
            if where is None and (variables.get("TRUST_REMOTE_CODE", (None,))[0] or "").lower() in _TRUE:
                where = variables["TRUST_REMOTE_CODE"][1]
            if where is None:
                continue
            pins = [found.value or "" for found in flags(container) if found.name in ("--revision", "--code-revision")]
            pins += [value or "" for name, (value, _) in variables.items() if name in ("REVISION", "CODE_REVISION")]
            if not any(_COMMIT.match(pin) for pin in pins):
                yield Hit(
                    where,
                    f"`{container.name}` runs the model's own code (trust-remote-code) without pinning it to a commit",
                )


@rule(
    id="AIS152",
    title="vLLM development endpoints enabled",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://docs.vllm.ai/en/latest/usage/security.html"],
)
def vllm_dev_mode(resource, ctx):
    """## What it does
    Flags containers that set `VLLM_SERVER_DEV_MODE=1`.

    ## Why is this bad?
    Development mode adds unauthenticated control endpoints to the OpenAI-compatible server
    (`/reset_prefix_cache`, `/sleep`, `/wake_up`, `/collective_rpc` and others): any client that
    reaches the port can stall the engine or call into its workers. vLLM's security guide says
    never to enable it in production.

    ## Example
    ```yaml
    env:
      - {name: VLLM_SERVER_DEV_MODE, value: "1"}
    ```

    ## Fix
    Remove the variable (or set it to `0`).
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            value, node = env(container).get("VLLM_SERVER_DEV_MODE", (None, None))
            if node is not None and (value or "").lower() in _TRUE:
                yield Hit(node, f"`{container.name}` enables vLLM's unauthenticated development endpoints")


@rule(
    id="AIS153",
    title="vLLM served outside the cluster without an API key",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
        "https://docs.vllm.ai/en/latest/usage/security.html",
    ],
)
def vllm_without_api_key(resource, ctx):
    """## What it does
    Flags vLLM servers without `--api-key` (or `VLLM_API_KEY`) that a LoadBalancer or NodePort
    Service in the same files selects (internal load balancers excepted).

    ## Why is this bad?
    The OpenAI-compatible server accepts every request when no key is set: anyone who reaches
    the Service runs the model at your GPU cost, and can read what the server logs or caches.

    ## Example
    ```yaml
    args: ["--model", "meta-llama/Llama-3.1-8B-Instruct"]
    # and a Service of type LoadBalancer selecting the pod
    ```

    ## Fix
    Set `--api-key` from a Secret (`VLLM_API_KEY`), or put an authenticating gateway in front and
    make the Service `ClusterIP`.
    """
    services = ctx.index(_ExternalServices)
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            if not _is_vllm(container) or flag(container, "--api-key") is not None:
                continue
            if "VLLM_API_KEY" in env(container) or _from_secret(container, "VLLM_API_KEY"):
                continue
            exposed = services.exposing(pod)
            if exposed:
                yield Hit(
                    container.node,
                    f"vLLM `{container.name}` has no API key and {exposed} exposes it outside the cluster",
                )


def _from_secret(container: Container, name: str) -> bool:
    items = container.node.get("env")
    return any(
        isinstance(item, Mapping) and as_str(item.get("name")) == name and item.get("valueFrom") is not None
        for item in (items.items if isinstance(items, Sequence) else [])
    )


@rule(
    id="AIS154",
    title="Ollama listening on every interface behind an external Service",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://github.com/ollama/ollama/blob/main/docs/faq.md#how-do-i-configure-ollama-server"],
)
def ollama_exposed(resource, ctx):
    """## What it does
    Flags Ollama containers with `OLLAMA_HOST=0.0.0.0` that a LoadBalancer or NodePort Service
    selects.

    ## Why is this bad?
    Ollama has no authentication: its API pulls any model from the internet (`/api/pull`),
    deletes models, and runs them. Listening on every interface is needed inside a cluster; an
    external Service then hands all of that to the internet (tens of thousands of such servers
    are indexed by search engines).

    ## Example
    ```yaml
    env:
      - {name: OLLAMA_HOST, value: "0.0.0.0"}
    ```

    ## Fix
    Keep the Service `ClusterIP` and publish Ollama through an authenticating proxy.
    """
    services = ctx.index(_ExternalServices)
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            value, node = env(container).get("OLLAMA_HOST", (None, None))
            if node is None or not (value or "").startswith(("0.0.0.0", "::", "[::]")):
                continue
            exposed = services.exposing(pod)
            if exposed:
                yield Hit(node, f"Ollama `{container.name}` listens on every interface and {exposed} exposes it")


@rule(
    id="AIS156",
    title="MLflow server without authentication on every interface",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://mlflow.org/docs/latest/self-hosting/security/basic-http-auth/"],
)
def mlflow_without_auth(resource, ctx):
    """## What it does
    Flags `mlflow server` / `mlflow ui` started with `--host 0.0.0.0` and without
    `--app-name basic-auth`.

    ## Why is this bad?
    The tracking server then answers everyone who reaches the pod: it lists and downloads every
    registered model and artifact, and accepts new model versions, which deployments built on
    the registry then serve.

    ## Example
    ```yaml
    args: ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]
    ```

    ## Fix
    Add `--app-name basic-auth` (with credentials from a Secret) or put an authenticating proxy
    in front and listen on 127.0.0.1.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            if not re.search(r"\bmlflow\s+(server|ui)\b", container.command_line()):
                continue
            host = flag(container, "--host", "-h")
            if host is None or (host.value or "") not in ("0.0.0.0", "::"):
                continue
            app = flag(container, "--app-name")
            if app is None or app.value != "basic-auth":
                yield Hit(host.node, f"MLflow `{container.name}` listens on {host.value} without --app-name basic-auth")


_JUPYTER_OPEN = (
    (re.compile(r"--(ServerApp|NotebookApp)\.(token|password)=(''|\"\"|$)"), "an empty token or password"),
    (re.compile(r"--allow-root\b"), "--allow-root"),
    (re.compile(r"disable_check_xsrf=True", re.I), "XSRF checks off"),
)


@rule(
    id="AIS157",
    title="Jupyter without a token, as root or without XSRF checks",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://jupyter-server.readthedocs.io/en/latest/operators/security.html"],
)
def jupyter_open(resource, ctx):
    """## What it does
    Flags Jupyter servers started with an empty token or password
    (`--ServerApp.token=''`, `--NotebookApp.token=''`), `--allow-root`, or
    `disable_check_xsrf=True`.

    ## Why is this bad?
    A notebook server is a remote shell: without a token anyone who reaches it runs code with
    the pod's credentials (model buckets, the cluster API); as root, with the container's full
    file system; without XSRF checks, any web page a user opens can drive it.

    ## Example
    ```yaml
    args: ["start-notebook.py", "--ServerApp.token=''", "--allow-root"]
    ```

    ## Fix
    Keep the generated token (or a password hash from a Secret), run as the notebook user, and
    leave XSRF checks on.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            command = container.command_line()
            if "jupyter" not in _command(container) and "notebook" not in _command(container):
                continue
            for pattern, what in _JUPYTER_OPEN:
                if pattern.search(command):
                    node = next(
                        (
                            item
                            for key in ("command", "args")
                            for item in (
                                container.node.get(key).items if isinstance(container.node.get(key), Sequence) else []
                            )
                            if isinstance(item, Scalar) and pattern.search(str(item.value))
                        ),
                        container.node,
                    )
                    yield Hit(node, f"Jupyter `{container.name}` runs with {what}")


_RAY_KINDS = {"RayCluster", "RayService", "RayJob"}


@rule(
    id="AIS158",
    unsafe_fix="clients outside the cluster (a dashboard bookmark, a job submitter) lose access to the head",
    title="Ray head exposed outside the cluster",
    severity="critical",
    applies_to=_RAY_KINDS,
    source=K8S,
    references=[
        "https://docs.ray.io/en/latest/cluster/kubernetes/user-guides/config.html#serviceType",
        "https://nvd.nist.gov/vuln/detail/CVE-2023-48022",
    ],
    fixable=True,
)
def ray_head_exposed(resource, ctx):
    """## What it does
    Flags KubeRay clusters whose head Service is `LoadBalancer` or `NodePort`
    (`headGroupSpec.serviceType`).

    ## Why is this bad?
    The head serves the dashboard and job API (8265), the Ray client (10001) and the GCS (6379)
    without authentication: anyone who reaches them submits jobs that run arbitrary code on every
    node (ShadowRay, CVE-2023-48022, exploited in the wild to steal models and mine on GPUs).

    ## Example
    ```yaml
    kind: RayCluster
    spec:
      headGroupSpec:
        serviceType: LoadBalancer
    ```

    ## Fix
    Use `serviceType: ClusterIP` (quick fix), reach the dashboard with `kubectl port-forward`, and
    put Ray Serve behind an authenticating ingress.
    """
    spec = resource.body.mapping("spec")
    for path in ("headGroupSpec", "rayClusterConfig.headGroupSpec", "rayClusterSpec.headGroupSpec"):
        head = spec.find(path) if spec is not None else None
        if not isinstance(head, Mapping):
            continue
        entry = head.entry("serviceType")
        kind = as_str(entry.value) if entry else None
        if entry is not None and kind in ("LoadBalancer", "NodePort"):
            yield Hit(
                entry,
                f"the Ray head (dashboard 8265, client 10001, GCS 6379) is a {kind} Service",
                Fix(f"Change serviceType {kind} to ClusterIP", (ReplaceValue(entry.value, "ClusterIP"),)),
            )


@rule(
    id="AIS159",
    title="Every GPU of the node visible to a pod that requests none",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/docker-specialized.html#gpu-enumeration",
        "https://github.com/NVIDIA/k8s-device-plugin#readme",
    ],
)
def visible_devices_all(resource, ctx):
    """## What it does
    Flags containers that set `NVIDIA_VISIBLE_DEVICES=all` in a pod that requests no GPU
    (`nvidia.com/gpu`, or another `*/gpu` resource). The GPU operator's own agents are not
    workloads of this kind and are not flagged when they request nothing.

    ## Why is this bad?
    With the NVIDIA runtime, the variable alone mounts every GPU of the node into the container,
    outside the device plugin's accounting: the pod reads other tenants' GPU memory (models,
    prompts) and competes with the pods the scheduler placed there.

    ## Example
    ```yaml
    env:
      - {name: NVIDIA_VISIBLE_DEVICES, value: all}
    ```

    ## Fix
    Request GPUs through `resources.limits` (`nvidia.com/gpu: 1`) and drop the variable; set
    the device plugin's `DEVICE_LIST_STRATEGY=volume-mounts` with `ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED=false` to refuse it.
    """
    if is_gpu_node_agent(resource):
        return
    for pod in pod_specs(resource):
        if _uses_gpu(pod):
            continue
        for container in pod.containers():
            value, node = env(container).get("NVIDIA_VISIBLE_DEVICES", (None, None))
            if node is not None and (value or "").lower() == "all":
                yield Hit(node, f"`{container.name}` sees every GPU of the node without requesting one")


@rule(
    id="AIS160",
    title="Hugging Face model revision is not a commit",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://huggingface.co/docs/hub/en/security-pickle",
        "https://huggingface.co/docs/huggingface_hub/guides/download#from-specific-version",
    ],
)
def unpinned_revision(resource, ctx):
    """## What it does
    Flags `--revision`, `--code-revision` and `--tokenizer-revision` flags (vLLM, TGI, SGLang) and
    `REVISION` variables whose value is a branch or tag (`main`, `v1.0`) rather than a 40-character
    commit hash.

    ## Why is this bad?
    Branches and tags move: the weights (and, with remote code, the Python) served after the next
    restart are whatever was pushed last, not what was evaluated and approved. A commit hash is
    the only reference the Hub cannot change under you.

    ## Example
    ```yaml
    args: ["--model", "mistralai/Mistral-7B-Instruct-v0.3", "--revision", "main"]
    ```

    ## Fix
    Use the commit you evaluated: `--revision 0417f4babd26db0b5ed07c1d0bc85658ab526ea3`.
    """
    for pod in pod_specs(resource):
        for container in pod.main_containers():
            for found in flags(container):
                if found.name in ("--revision", "--code-revision", "--tokenizer-revision") and found.value:
                    if not _COMMIT.match(found.value) and not found.value.startswith("$"):
                        yield Hit(found.node, f"`{container.name}` serves {found.name} {found.value}, which can move")
            value, node = env(container).get("REVISION", (None, None))
            if node is not None and value and not _COMMIT.match(value) and (_is_tgi(container) or _is_vllm(container)):
                yield Hit(node, f"`{container.name}` serves REVISION={value}, which can move")


_PICKLE = re.compile(r"\.(bin|pt|pth|pkl|pickle|ckpt|joblib)$", re.I)


@rule(
    id="AIS161",
    title="Model server loads a pickle-format model file",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://huggingface.co/docs/hub/en/security-pickle",
        "https://docs.python.org/3/library/pickle.html#module-pickle",
        "https://huggingface.co/docs/safetensors/index",
    ],
)
def pickle_model(resource, ctx):
    """## What it does
    Flags model servers whose arguments or environment name a model file in a pickle-based
    format (`.bin`, `.pt`, `.pth`, `.pkl`, `.ckpt`, `.joblib`).

    ## Why is this bad?
    Loading a pickle runs code the file contains: a model file from a compromised bucket or hub
    repository executes in the server with its credentials, before any inference. Safetensors
    (and ONNX, TensorRT plans) hold only tensors.

    ## Example
    ```yaml
    args: ["--model", "/models/llama/pytorch_model.bin"]
    ```

    ## Fix
    Convert the weights to safetensors (`.safetensors`) and load those; where a pickle cannot be
    avoided, verify the file's digest before loading it.
    """
    for pod in pod_specs(resource):
        for container in pod.model_servers():
            for found in flags(container):
                if found.value and _PICKLE.search(found.value):
                    yield Hit(found.node, f"`{container.name}` loads {found.value}, a pickle-format model file")
            for name, (value, node) in env(container).items():
                if value and _PICKLE.search(value) and ("MODEL" in name or "CHECKPOINT" in name):
                    yield Hit(node, f"`{container.name}` loads {value} ({name}), a pickle-format model file")


_TORCHSERVE_OPEN = {
    "management_address": lambda value: "0.0.0.0" in value or "[::]" in value,
    "disable_token_authorization": lambda value: value.strip().lower() == "true",
}


def _properties(text: str) -> dict[str, str]:
    """`key=value` lines of a Java properties text (TorchServe's config.properties)."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def _torchserve_problems(settings: dict[str, str]) -> list[str]:
    problems = [
        f"{key}={settings[key]}"
        for key, is_open in _TORCHSERVE_OPEN.items()
        if key in settings and is_open(settings[key])
    ]
    if settings.get("enable_model_api", "").lower() == "true" and not settings.get("allowed_urls"):
        problems.append("enable_model_api=true without allowed_urls")
    return problems


@rule(
    id="AIS155",
    title="TorchServe management API open",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS | {"ConfigMap"},
    source=K8S,
    references=[
        "https://pytorch.org/serve/configuration.html",
        "https://pytorch.org/serve/token_authorization_api.html",
        "https://pytorch.org/serve/security.html",
    ],
)
def torchserve_management(resource, ctx):
    """## What it does
    Flags TorchServe settings, in a ConfigMap's `config.properties` or as `TS_*` environment
    variables, that open the management API: `management_address` on `0.0.0.0`,
    `disable_token_authorization=true`, and `enable_model_api=true` without `allowed_urls`.

    ## Why is this bad?
    The management API registers models from URLs and scales workers: reachable without a token,
    anyone can make the server download and load a model archive of their choosing, whose handler
    code then runs in the pod (the ShellTorch chain, CVE-2023-43654). `allowed_urls` limits where
    models may come from.

    ## Example
    ```properties
    management_address=http://0.0.0.0:8081
    disable_token_authorization=true
    ```

    ## Fix
    Bind management to `127.0.0.1`, keep token authorization on, and set `allowed_urls` to your
    model store when the model API is enabled.
    """
    if resource.kind == "ConfigMap":
        data = resource.body.mapping("data")
        for entry in data.entries.values() if data is not None else []:
            if not entry.key.endswith(".properties") or not isinstance(entry.value, Scalar):
                continue
            settings = _properties(str(entry.value.value or ""))
            if "inference_address" not in settings and "model_store" not in settings:
                continue  # not TorchServe's (its own keys are not there)
            for problem in _torchserve_problems(settings):
                yield Hit(entry, f"TorchServe `{entry.key}` sets {problem}")
        return
    for pod in pod_specs(resource):
        for container in pod.containers():
            variables = env(container)
            settings = {
                name[3:].lower(): value or "" for name, (value, _) in variables.items() if name.startswith("TS_")
            }
            for problem in _torchserve_problems(settings):
                key = problem.split("=")[0].split(" ")[0]
                node = variables.get(f"TS_{key.upper()}", (None, container.node))[1]
                yield Hit(node, f"TorchServe `{container.name}` sets {problem}")


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
# components fixed for CVE-2024-0132 / CVE-2024-0133 (container escape through a crafted image)
_TOOLKIT_FIXED = {
    "nvcr.io/nvidia/k8s/container-toolkit": ((1, 16, 2), "NVIDIA Container Toolkit"),
    "nvcr.io/nvidia/gpu-operator": ((24, 6, 2), "GPU Operator"),
}


def _older(version: str, fixed: tuple[int, int, int]) -> bool:
    match = _VERSION.match(version.strip())
    if not match:
        return False
    found = (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    return found < fixed


@rule(
    id="AIS162",
    title="NVIDIA GPU stack vulnerable to container escape",
    severity="critical",
    applies_to=WORKLOAD_RULE_KINDS | {"helm_release"},
    source=None,
    references=[
        "https://nvidia.custhelp.com/app/answers/detail/a_id/5582",
        "https://nvd.nist.gov/vuln/detail/CVE-2024-0132",
        "https://www.wiz.io/blog/wiz-research-critical-nvidia-ai-vulnerability",
    ],
)
def nvidia_toolkit_cve(resource, ctx):
    """## What it does
    Flags the NVIDIA Container Toolkit before 1.16.2 and the GPU Operator before 24.6.2: their
    images in a workload (`nvcr.io/nvidia/k8s/container-toolkit`, `nvcr.io/nvidia/gpu-operator`),
    and a Terraform `helm_release` of the `gpu-operator` chart with an older `version`.

    ## Why is this bad?
    CVE-2024-0132 (CVSS 9.0): a container image built to exploit a time-of-check/time-of-use flaw
    in the toolkit escapes to the host when it runs on a GPU node, with access to every other
    tenant's models, data and credentials there. On shared GPU clusters anyone who can choose an
    image (a notebook user, a training job) can do it.

    ## Example
    ```hcl
    resource "helm_release" "gpu_operator" {
      chart   = "gpu-operator"
      version = "v24.3.0"
    }
    ```

    ## Fix
    Upgrade the GPU Operator to 24.6.2 or later (it ships toolkit 1.16.2+), or the toolkit on the
    nodes to 1.16.2 or later.
    """
    if resource.kind == "helm_release":
        chart = as_str(resource.body.get("chart")) or ""
        version = resource.body.entry("version")
        if chart.rstrip("/").rsplit("/", 1)[-1] == "gpu-operator" and version is not None:
            written = as_str(version.value) or ""
            if _older(written, (24, 6, 2)):
                yield Hit(version, f"GPU Operator {written} ships a Container Toolkit before 1.16.2 (CVE-2024-0132)")
        return
    for pod in pod_specs(resource):
        for container in pod.containers():
            image = container.image
            repository, _, tag = image.split("@")[0].rpartition(":")
            for known, (fixed, product) in _TOOLKIT_FIXED.items():
                if repository == known and _older(tag, fixed):
                    entry = container.node.entry("image")
                    yield Hit(
                        entry or container.node,
                        f"{product} {tag} is older than {'.'.join(map(str, fixed))} (CVE-2024-0132 container escape)",
                    )
