"""Exposure (AIS2xx, Kubernetes): model endpoints reachable from outside the cluster."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, RemoveKey, ReplaceValue
from aiiac_ls.model.nodes import Mapping, Sequence, as_int, as_str
from aiiac_ls.rules import rule

from ..serving import port_label

_INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
# fields that are only valid on externally reachable Services
_EXTERNAL_ONLY_FIELDS = (
    "externalTrafficPolicy",
    "loadBalancerSourceRanges",
    "loadBalancerIP",
    "loadBalancerClass",
    "allocateLoadBalancerNodePorts",
    "healthCheckNodePort",
)


def _is_internal_load_balancer(resource, annotations=None) -> bool:
    annotations = annotations if annotations is not None else resource.body.find("metadata.annotations")
    if not isinstance(annotations, Mapping):
        return False
    for key, expected in _INTERNAL_LB_ANNOTATIONS.items():
        value = as_str(annotations.get(key))
        if value is not None and value.strip().lower() == expected:
            return True
    return False


def _restricted_source_ranges(spec: Mapping) -> bool:
    ranges = spec.get("loadBalancerSourceRanges")
    if not isinstance(ranges, Sequence) or not ranges.items:
        return False
    return not any(as_str(item) in ("0.0.0.0/0", "::/0") for item in ranges.items)


@rule(
    id="AIS201",
    unsafe_fix="clients outside the cluster lose access to the Service",
    title="Service exposes pods outside the cluster",
    severity="medium",
    applies_to={"Service", "NIMService"},
    source="kubernetes",
    equivalents={"kube-linter": ["exposed-services"]},
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
        "https://docs.nvidia.com/nim-operator/latest/service.html",
    ],
    fixable=True,
)
def external_service(resource, ctx):
    """## What it does
    Flags Services of type `LoadBalancer` or `NodePort`. The finding is **high** severity when
    the Service carries a model-serving port (8500/8501 TF Serving, 8000-8002 Triton,
    8080-8082 TorchServe/KServe, 8265 Ray dashboard, 11434 Ollama, 7860 Gradio, 8888 Jupyter,
    5000 MLflow, plus `model-ports` from the configuration). Internal load balancers (by their
    cloud annotation) and load balancers restricted by `loadBalancerSourceRanges` are not flagged.

    ## Why is this bad?
    Inference servers ship without authentication: anyone who reaches the port can run the model
    at your GPU cost, extract it through repeated queries, or use management APIs (TorchServe
    8081, Triton's model control, the Ray dashboard's job submission, Ollama's `/api/pull`) to
    load their own model or execute code. A `LoadBalancer` puts that port on the internet; a
    `NodePort` opens it on every node.

    ## Example
    ```yaml
    kind: Service
    spec:
      type: LoadBalancer
      ports:
        - port: 8000
    ```

    ## Fix
    Use `type: ClusterIP` (quick fix; it also removes `nodePort` and load-balancer-only fields)
    and publish the model through an Ingress or gateway that authenticates callers, or make the
    load balancer internal.

    NVIDIA NIM Operator's `NIMService` makes its Service from `spec.expose.service` (`type`,
    `port`, default 8000, `annotations`): the same check applies there.
    """
    if resource.kind == "NIMService":
        yield from _nim_service(resource, ctx)
        return
    spec = resource.body.mapping("spec")
    if spec is None:
        return
    type_entry = spec.entry("type")
    service_type = as_str(type_entry.value) if type_entry else None
    if service_type not in ("LoadBalancer", "NodePort"):
        return
    if service_type == "LoadBalancer" and (_is_internal_load_balancer(resource) or _restricted_source_ranges(spec)):
        return
    exposed: list[str] = []
    edits: list = [ReplaceValue(type_entry.value, "ClusterIP")]
    ports = spec.get("ports")
    for port in ports.items if isinstance(ports, Sequence) else []:
        if not isinstance(port, Mapping):
            continue
        for key in ("port", "targetPort"):
            number = as_int(port.get(key))
            label = port_label(number, ctx.settings.model_ports) if number is not None else None
            if label and f"{number} ({label})" not in exposed:
                exposed.append(f"{number} ({label})")
        if "nodePort" in port:
            edits.append(RemoveKey(port, "nodePort"))
    for field in _EXTERNAL_ONLY_FIELDS:
        if field in spec:
            edits.append(RemoveKey(spec, field))
    where = "to the internet" if service_type == "LoadBalancer" else "on every node"
    if exposed:
        message = f"{service_type} Service exposes model-serving port {', '.join(exposed)} {where}"
        severity = "high"
    else:
        message = f"{service_type} Service exposes its pods {where}"
        severity = None
    yield Hit(type_entry, message, Fix(f"Change {service_type} to ClusterIP", tuple(edits)), severity=severity)


def _nim_service(resource, ctx):
    """AIS201 for a NIMService's `spec.expose.service`."""
    service = resource.body.find("spec.expose.service")
    if not isinstance(service, Mapping):
        return
    type_entry = service.entry("type")
    service_type = as_str(type_entry.value) if type_entry else None
    if type_entry is None or service_type not in ("LoadBalancer", "NodePort"):
        return
    annotations = service.get("annotations")
    if service_type == "LoadBalancer" and _is_internal_load_balancer(resource, annotations):
        return
    port = as_int(service.get("port")) or 8000
    label = port_label(port, ctx.settings.model_ports) or "NIM"
    where = "to the internet" if service_type == "LoadBalancer" else "on every node"
    yield Hit(
        type_entry,
        f"NIMService exposes its {service_type} Service with model-serving port {port} ({label}) {where}",
        Fix(f"Change {service_type} to ClusterIP", (ReplaceValue(type_entry.value, "ClusterIP"),)),
        severity="high",
    )


@rule(
    id="AIS203",
    title="Service with externalIPs",
    severity="high",
    applies_to={"Service"},
    source="kubernetes",
    equivalents={"kube-linter": ["exposed-services"]},
    references=[
        "https://kubernetes.io/docs/concepts/services-networking/service/#external-ips",
        "https://github.com/kubernetes/kubernetes/issues/97076",
    ],
)
def external_ips(resource, ctx):
    """## What it does
    Flags Services that set `spec.externalIPs`.

    ## Why is this bad?
    Traffic to those addresses is routed to the model server from outside the cluster, without a
    load balancer's access controls; and any user who can create a Service with externalIPs can
    intercept traffic meant for another address (CVE-2020-8554), such as a model registry or the
    object store the servers load weights from.

    ## Example
    ```yaml
    spec:
      externalIPs: ["203.0.113.10"]
    ```

    ## Fix
    Remove `externalIPs`; publish through a LoadBalancer with source ranges or an authenticated
    ingress, and deny externalIPs cluster-wide with an admission policy.
    """
    spec = resource.body.mapping("spec")
    entry = spec.entry("externalIPs") if spec else None
    if entry is not None and isinstance(entry.value, Sequence) and entry.value.items:
        yield Hit(
            entry,
            "Service accepts traffic on external IPs "
            + ", ".join(str(getattr(i, "value", "?")) for i in entry.value.items),
        )


def _annotations(resource) -> Mapping | None:
    annotations = resource.body.find("metadata.annotations")
    return annotations if isinstance(annotations, Mapping) else None


@rule(
    id="AIS204",
    title="Ingress without TLS",
    severity="medium",
    applies_to={"Ingress"},
    source="kubernetes",
    references=["https://kubernetes.io/docs/concepts/services-networking/ingress/#tls"],
)
def ingress_tls(resource, ctx):
    """## What it does
    Flags Ingresses without a `spec.tls` section.

    ## Why is this bad?
    Prompts, completions, uploaded documents and the bearer tokens that authenticate inference
    clients then travel in clear text between the client and the ingress, readable and
    modifiable by anyone on the path.

    ## Example
    ```yaml
    kind: Ingress
    spec:
      rules: [...]
    ```

    ## Fix
    Add `spec.tls` with the hosts and a certificate Secret (for example from cert-manager).
    """
    spec = resource.body.mapping("spec")
    tls = spec.get("tls") if spec else None
    if not isinstance(tls, Sequence) or not tls.items:
        yield Hit(resource.body.entry("spec") or resource.head, "Ingress serves its hosts without TLS")


_AUTH_ANNOTATIONS = (
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/auth-signin",
    "traefik.ingress.kubernetes.io/router.middlewares",
    "alb.ingress.kubernetes.io/auth-type",
    "konghq.com/plugins",
    "haproxy-ingress.github.io/auth-url",
    "ingress.kubernetes.io/auth-type",
)


def _backend_ports(spec: Mapping):
    """(service name, port node) of every backend an Ingress routes to."""
    backends = []
    default = spec.mapping("defaultBackend")
    if default is not None:
        backends.append(default)
    for rule_node in spec.blocks("rules"):
        paths = rule_node.find("http.paths")
        for path in paths.items if isinstance(paths, Sequence) else []:
            backend = path.mapping("backend") if isinstance(path, Mapping) else None
            if backend is not None:
                backends.append(backend)
    for backend in backends:
        service = backend.mapping("service")
        if service is not None:
            yield as_str(service.get("name")), service.find("port.number"), service
        elif backend.get("serviceName") is not None:  # networking.k8s.io/v1beta1
            yield as_str(backend.get("serviceName")), backend.get("servicePort"), backend


@rule(
    id="AIS205",
    title="Model server published without authentication",
    severity="high",
    applies_to={"Ingress"},
    source="kubernetes",
    references=["https://kubernetes.github.io/ingress-nginx/examples/auth/oauth-external-auth/"],
)
def unauthenticated_model_ingress(resource, ctx):
    """## What it does
    Flags Ingresses that route to a model-serving port (directly, or through a Service defined in
    the same files that carries one) and have no authentication annotation (ingress-nginx
    `auth-url` / `auth-type`, Traefik middlewares, ALB `auth-type`, Kong plugins, HAProxy
    `auth-url`).

    ## Why is this bad?
    Inference servers have no authentication of their own. Published without it, the model is
    free GPU time for anyone who finds the host name, and its management and metrics endpoints
    (model loading, Ray job submission, Triton's repository API) become remote-code-execution
    and model-theft paths.

    ## Example
    ```yaml
    kind: Ingress
    spec:
      rules:
        - http:
            paths:
              - backend: {service: {name: triton, port: {number: 8000}}}
    ```

    ## Fix
    Put an authenticating proxy in front (oauth2-proxy with `nginx.ingress.kubernetes.io/auth-url`,
    an API gateway with keys), or keep the server internal.
    """
    annotations = _annotations(resource)
    if annotations is not None and any(key in annotations for key in _AUTH_ANNOTATIONS):
        return
    spec = resource.body.mapping("spec")
    if spec is None:
        return
    extra = ctx.settings.model_ports
    for name, port, where in _backend_ports(spec):
        number = as_int(port)
        label = port_label(number, extra) if number is not None else None
        if label is None:
            service = ctx.named("Service", name, resource.namespace)
            ports = service.body.find("spec.ports") if service is not None else None
            for item in ports.items if isinstance(ports, Sequence) else []:
                for key in ("port", "targetPort"):
                    candidate = as_int(item.get(key)) if isinstance(item, Mapping) else None
                    if candidate is not None and port_label(candidate, extra):
                        number, label = candidate, port_label(candidate, extra)
        if label:
            yield Hit(
                port if port is not None and port.span else where,
                f"routes to model-serving port {number} ({label}) of `{name}` without authentication",
            )


_SNIPPETS = (
    "nginx.ingress.kubernetes.io/configuration-snippet",
    "nginx.ingress.kubernetes.io/server-snippet",
    "nginx.ingress.kubernetes.io/auth-snippet",
    "nginx.ingress.kubernetes.io/stream-snippet",
    "nginx.ingress.kubernetes.io/mirror-target",
)


@rule(
    id="AIS206",
    title="ingress-nginx snippet annotation",
    severity="high",
    applies_to={"Ingress"},
    source="kubernetes",
    references=[
        "https://github.com/kubernetes/ingress-nginx/issues/7837",
        "https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/",
    ],
)
def nginx_snippet(resource, ctx):
    """## What it does
    Flags ingress-nginx snippet annotations (`configuration-snippet`, `server-snippet`,
    `auth-snippet`, `stream-snippet`, `mirror-target`).

    ## Why is this bad?
    Snippets inject raw NGINX configuration into the shared ingress controller, which can read
    every Secret in the cluster (CVE-2021-25742, and the 2025 "IngressNightmare" chain): one
    Ingress for a demo model server becomes a way to steal every model-hub token and TLS key, or
    to silently mirror inference traffic elsewhere.

    ## Example
    ```yaml
    annotations:
      nginx.ingress.kubernetes.io/configuration-snippet: |
        more_set_headers "X-Model: llama";
    ```

    ## Fix
    Use the dedicated annotations (headers, CORS, rate limits) instead, and keep
    `allow-snippet-annotations: false` on the controller.
    """
    annotations = _annotations(resource)
    if annotations is None:
        return
    for key in _SNIPPETS:
        entry = annotations.entry(key)
        if entry is not None:
            yield Hit(entry.key_span or resource.head, f"annotation `{key}` injects raw NGINX configuration")


@rule(
    id="AIS211",
    title="NetworkPolicy admits the whole internet",
    severity="medium",
    applies_to={"NetworkPolicy"},
    source="kubernetes",
    references=["https://kubernetes.io/docs/concepts/services-networking/network-policies/"],
)
def network_policy_world(resource, ctx):
    """## What it does
    Flags NetworkPolicy ingress or egress rules whose `ipBlock.cidr` is `0.0.0.0/0` or `::/0`
    without exceptions.

    ## Why is this bad?
    The policy then documents isolation it does not give: ingress from anywhere reaches the model
    server, and egress to anywhere lets a compromised server send weights, prompts and
    credentials out of the cluster.

    ## Example
    ```yaml
    ingress:
      - from:
          - ipBlock: {cidr: 0.0.0.0/0}
    ```

    ## Fix
    Allow the ingress controller's namespace or pods, and the CIDRs of the object store and model
    registry for egress; list `except` ranges such as the metadata service when a wide block is
    unavoidable.
    """
    spec = resource.body.mapping("spec")
    if spec is None:
        return
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for rule_node in spec.blocks(direction):
            for peer in rule_node.blocks(peers_key):
                block = peer.mapping("ipBlock")
                cidr = block.get("cidr") if block else None
                if as_str(cidr) in ("0.0.0.0/0", "::/0") and not block.get("except"):
                    yield Hit(cidr, f"{direction} {'from' if direction == 'ingress' else 'to'} {as_str(cidr)}")
