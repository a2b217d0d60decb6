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
_EXTERNAL_ONLY_FIELDS = ("externalTrafficPolicy", "loadBalancerSourceRanges", "loadBalancerIP",
                         "loadBalancerClass", "allocateLoadBalancerNodePorts", "healthCheckNodePort")


def _is_internal_load_balancer(resource) -> bool:
    annotations = resource.body.find("metadata.annotations")
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
    id="AIS201", resource_only=True, title="Service exposes pods outside the cluster", severity="medium", applies_to={"Service"},
    source="kubernetes",
    equivalents={"kube-linter": ["exposed-services"]},
    references=["https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"],
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
    """
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

