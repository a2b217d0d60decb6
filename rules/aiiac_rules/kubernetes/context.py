"""Rules that read more than one object, or the settings: quotas, network policies, registries."""

from __future__ import annotations

import re

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_str
from aiiac_ls.rules import rule

from .runtime import _uses_gpu
from .workloads import WORKLOAD_KINDS, WORKLOAD_RULE_KINDS, pod_specs

K8S = "kubernetes"


@rule(
    id="AIS124",
    title="GPU namespace without ResourceQuota",
    severity="low",
    applies_to={"Namespace"},
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/policy/resource-quotas/#resource-quota-for-extended-resources"],
)
def gpu_namespace_quota(resource, ctx):
    """## What it does
    Flags a Namespace defined in the scanned files that runs GPU workloads (defined there too) but
    has no ResourceQuota or LimitRange in the same files.

    ## Why is this bad?
    Without a quota on `requests.nvidia.com/gpu`, any workload in the namespace (a stolen
    service-account token, a runaway training job, a cryptominer) can claim every GPU the cluster
    has: the cost and the outage land on every other model server.

    ## Example
    ```yaml
    kind: Namespace
    metadata: {name: llm}
    ```

    Use instead:
    ```yaml
    kind: ResourceQuota
    metadata: {name: gpus, namespace: llm}
    spec:
      hard: {requests.nvidia.com/gpu: "8"}
    ```

    ## Fix
    Add a ResourceQuota with `requests.nvidia.com/gpu` (and CPU/memory) for the namespace.
    """
    name = resource.name
    if ctx.in_namespace(name, "ResourceQuota", "LimitRange"):
        return
    for workload in ctx.in_namespace(name, *WORKLOAD_KINDS):
        if any(_uses_gpu(pod) for pod in pod_specs(workload)):
            yield Hit(
                resource.head, f"namespace `{name}` runs GPU workloads ({workload.address}) without a ResourceQuota"
            )
            return


def _selects(selector: Mapping | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    wanted = selector.mapping("matchLabels")
    if wanted is not None and any(labels.get(k) != as_str(v) for k, v in wanted.items()):
        return False
    expressions = selector.get("matchExpressions")
    for expression in expressions.items if isinstance(expressions, Sequence) else []:
        if not isinstance(expression, Mapping):
            continue
        key, operator = as_str(expression.get("key")) or "", as_str(expression.get("operator"))
        listed = expression.get("values")
        values = [as_str(v) for v in listed.items] if isinstance(listed, Sequence) else []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class _PolicyIndex:
    """NetworkPolicies by namespace and by one `matchLabels` pair of their pod selector, so
    finding the policies that select a workload looks only at plausible candidates (a policy per
    app is common: scanning them all for every workload would be quadratic). Built once."""

    def __init__(self, ctx):
        self.namespaces: set[str | None] = set()
        self.by_label: dict[tuple[str | None, str, str], list] = {}
        self.unkeyed: dict[str | None, list] = {}  # empty or expression-only selectors: always checked
        for policy in ctx.of_kind("NetworkPolicy"):
            self.namespaces.add(policy.namespace)
            spec = policy.body.mapping("spec")
            selector = spec.mapping("podSelector") if spec is not None else None
            wanted = selector.mapping("matchLabels") if selector is not None else None
            pair = next(((k, as_str(v)) for k, v in wanted.items()), None) if wanted is not None else None
            if pair is None or pair[1] is None:
                self.unkeyed.setdefault(policy.namespace, []).append(policy)
            else:
                self.by_label.setdefault((policy.namespace, pair[0], pair[1]), []).append(policy)

    def selecting(self, namespace: str | None, labels: dict[str, str]) -> list:
        """The policies of `namespace` whose pod selector selects pods with `labels`."""
        candidates = list(self.unkeyed.get(namespace, ()))
        for key, value in labels.items():
            candidates += self.by_label.get((namespace, key, value), ())
        selecting = []
        for policy in candidates:
            spec = policy.body.mapping("spec")
            if spec is not None and _selects(spec.mapping("podSelector"), labels) and policy not in selecting:
                selecting.append(policy)
        return selecting


def _pod_labels(resource) -> dict[str, str]:
    """The labels of the pods a workload makes (found once per resource; do not change them)."""
    found = resource.memo.get("pod labels")
    if found is None:
        found = resource.memo["pod labels"] = _written_pod_labels(resource)
    return found


def _written_pod_labels(resource) -> dict[str, str]:
    for path in ("spec.template.metadata.labels", "metadata.labels"):
        labels = resource.body.find(path)
        if isinstance(labels, Mapping):
            return {k: str(v.value) for k, v in labels.items() if isinstance(v, Scalar)}
    return {}


@rule(
    id="AIS213",
    title="Workload outside every NetworkPolicy",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies"],
)
def not_selected_by_network_policy(resource, ctx):
    """## What it does
    Flags a workload whose pods no NetworkPolicy selects, when the scanned files define
    NetworkPolicies for its namespace (so the namespace means to be isolated).

    ## Why is this bad?
    Pods no policy selects accept traffic from every pod in the cluster and can send anywhere:
    the model server that was meant to sit behind the gateway is reachable from a compromised
    notebook next door, and can exfiltrate weights directly.

    ## Example
    ```yaml
    kind: NetworkPolicy
    spec:
      podSelector: {matchLabels: {app: gateway}}
    ```

    ## Fix
    Add a policy for the model server's labels (or a namespace-wide default-deny with explicit
    allows).
    """
    policies = ctx.index(_PolicyIndex)
    if resource.namespace not in policies.namespaces or not any(True for _ in pod_specs(resource)):
        return
    if policies.selecting(resource.namespace, _pod_labels(resource)):
        return
    yield Hit(
        resource.head,
        f"no NetworkPolicy in namespace `{resource.namespace or 'default'}` selects the pods of {resource.address}",
    )


@rule(
    id="AIS132",
    title="Image from a registry outside the allow-list",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=["https://kubernetes.io/docs/concepts/containers/images/"],
)
def registry_allow_list(resource, ctx):
    """## What it does
    When `allowed-registries` is configured (e.g. `["123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "nvcr.io/nvidia"]`), flags images from any other registry or path. Without the setting it
    reports nothing.

    ## Why is this bad?
    Model-serving images are large and pulled often, which makes typo-squatted and compromised
    public images an easy way into GPU nodes. An allow-list keeps serving images to the mirrors
    and vendor registries the team vets and scans.

    ## Example
    ```yaml
    image: docker.io/someone/vllm-fast:latest
    ```

    ## Fix
    Mirror the image into an allowed registry, or extend the allow-list deliberately.
    """
    allowed = getattr(ctx.settings, "allowed_registries", ())
    if not allowed:
        return
    for pod in pod_specs(resource, partial=True):
        for container in pod.containers():
            image = container.node.entry("image")
            text = as_str(image.value) if image else None
            if text is None:
                continue
            full = (
                text
                if "." in text.split("/")[0] or ":" in text.split("/")[0] or text.split("/")[0] == "localhost"
                else f"docker.io/{text if '/' in text else 'library/' + text}"
            )
            if not any(full == prefix or full.startswith(prefix.rstrip("/") + "/") for prefix in allowed):
                yield Hit(image, f"image `{text}` is not from an allowed registry")


_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY)", re.I)
# not a credential: a reference to another variable, empty
_REFERENCE = re.compile(r"^(\$\(.*\)|\$\{.*\}|)$")
# a credential's stand-in: still a literal in the manifest, but low severity
_PLACEHOLDER = re.compile(
    r"^(<.*>|changeme|change-me|change_me|dummy|example|placeholder|secret|password|xxx+|\*+)$", re.I
)
# names that hold a Secret's name, a file or a switch, not the credential itself
_NOT_THE_SECRET = re.compile(
    r"(_SECRET_NAME|_SECRET_REF|_SECRET_KEY_REF|_SECRETS_NAME|_FILE|_PATH|_DIR|_ENABLED|_ENABLE)$|^(ENABLE|USE|DISABLE)_",
    re.I,
)


@rule(
    id="AIS703",
    finds_secrets=True,
    title="Secret-named variable set to a literal",
    severity="high",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"kube-linter": ["env-var-secret"]},
    references=["https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables"],
)
def secret_env_literal(resource, ctx):
    """## What it does
    Flags container environment variables whose name says they hold a secret (`*_PASSWORD`,
    `*_TOKEN`, `*_SECRET`, `*_API_KEY`...) but whose value is written in the manifest.

    ## Why is this bad?
    The value is then in git, in every rendered chart and readable by anyone who can `get` the
    pod. AIS701 recognises known credential formats; this rule catches the rest (database
    passwords of the feature store, internal API keys of the model gateway).

    ## Example
    ```yaml
    env:
      - name: MLFLOW_TRACKING_PASSWORD
        value: hunter2
    ```

    ## Fix
    Use `valueFrom.secretKeyRef` (or a mounted Secret) and rotate the exposed value.
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            env = container.node.get("env")
            for item in env.items if isinstance(env, Sequence) else []:
                if not isinstance(item, Mapping):
                    continue
                name, value = as_str(item.get("name")) or "", item.get("value")
                if (
                    not _SECRET_NAME.search(name)
                    or _NOT_THE_SECRET.search(name)
                    or not isinstance(value, Scalar)
                    or not isinstance(value.value, str)
                ):
                    continue
                text = value.value.strip()
                if _REFERENCE.match(text) or text.startswith("/") or text.lower() in ("true", "false", "yes", "no"):
                    continue  # another variable, a file path, a switch
                placeholder = _PLACEHOLDER.match(text) is not None
                yield Hit(
                    value,
                    f"`{name}` of container `{container.name}` is set to a literal value"
                    + (" (a placeholder: the real value must not end up here)" if placeholder else ""),
                    severity="low" if placeholder else None,
                    redact=True,
                )


@rule(
    id="AIS214",
    title="Model server egress unrestricted",
    severity="medium",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic"
    ],
)
def unrestricted_egress(resource, ctx):
    """## What it does
    Flags a workload that NetworkPolicies in the scanned files select for ingress, but none for
    egress (no `Egress` policy type), so its outbound traffic is unrestricted.

    ## Why is this bad?
    Ingress-only isolation stops others reaching the model server, not the server reaching out:
    a compromised server (or a malicious model's loader code) can upload weights and prompts
    anywhere, or call the cloud metadata service for credentials.

    ## Example
    ```yaml
    kind: NetworkPolicy
    spec:
      podSelector: {matchLabels: {app: vllm}}
      policyTypes: [Ingress]
    ```

    ## Fix
    Add an egress policy allowing DNS, the object store or model registry, and the telemetry
    endpoints the server needs.
    """
    policies = ctx.index(_PolicyIndex)
    if resource.namespace not in policies.namespaces or not any(True for _ in pod_specs(resource)):
        return
    selecting = policies.selecting(resource.namespace, _pod_labels(resource))
    if not selecting:
        return  # AIS213 reports workloads no policy selects

    def restricts_egress(policy) -> bool:
        spec = policy.body.mapping("spec")
        types = (
            [as_str(t) for t in spec.get("policyTypes").items] if isinstance(spec.get("policyTypes"), Sequence) else []
        )
        return "Egress" in types or "egress" in spec

    if not any(restricts_egress(p) for p in selecting):
        yield Hit(resource.head, f"NetworkPolicies select {resource.address} for ingress only; its egress is open")


def _is_model_server(pod) -> bool:
    """Pods that run a model server (by image or command line; a KServe model): the pods whose
    identity matters most. A GPU or a model-serving port alone does not make one (nvidia-smi,
    a benchmark client, a Gradio UI)."""
    return bool(pod.model_servers())


@rule(
    id="AIS311",
    title="Model server uses the default ServiceAccount",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_41"]},
    references=["https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"],
)
def default_service_account(resource, ctx):
    """## What it does
    Flags model servers that run as the namespace's `default` ServiceAccount. A model server is a
    container that runs one (Triton, vLLM, TGI, TorchServe, TF Serving, KServe, MLServer, Ollama,
    SGLang, llama.cpp, LMDeploy, OpenVINO, NIM: by image or command line) or a KServe model; a
    GPU or a port alone does not make one (nvidia-smi, a benchmark client, a Gradio UI).

    ## Why is this bad?
    Every pod without its own ServiceAccount shares `default`: any RBAC or cloud role granted to
    it for one workload is granted to all of them, and the model server's identity cannot be
    scoped to its own model bucket prefix (IRSA, Workload Identity).

    ## Example
    ```yaml
    spec:
      containers:
        - {name: triton, ports: [{containerPort: 8000}]}
    ```

    ## Fix
    Create a ServiceAccount per model server (`serviceAccountName`), with only the roles and the
    cloud identity that server needs.
    """
    for pod in pod_specs(resource):
        account = as_str(pod.spec.get("serviceAccountName")) or as_str(pod.spec.get("serviceAccount"))
        if account in (None, "default") and _is_model_server(pod):
            yield Hit(
                pod.spec.entry("serviceAccountName") or pod.entry, "model server runs as the `default` ServiceAccount"
            )
