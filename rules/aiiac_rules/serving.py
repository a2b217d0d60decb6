"""Domain knowledge about model serving shared by rules: well-known ports, artifact URIs."""

from __future__ import annotations

import re

# Ports that model servers and ML tools listen on by default.
MODEL_PORTS: dict[int, str] = {
    8500: "TF Serving gRPC",
    8501: "TF Serving REST",
    8000: "Triton HTTP / vLLM",
    8001: "Triton gRPC",
    8002: "Triton metrics",
    8080: "TorchServe / KServe inference",
    8081: "TorchServe management",
    8082: "TorchServe metrics",
    8265: "Ray dashboard",
    11434: "Ollama",
    7860: "Gradio",
    8888: "Jupyter",
    5000: "MLflow",
}


def port_label(port: int, extra_ports: frozenset[int] = frozenset()) -> str | None:
    """What listens on `port` if it is a model-serving port, else None."""
    if port in MODEL_PORTS:
        return MODEL_PORTS[port]
    if port in extra_ports:
        return "configured model port"
    return None


_OBJECT_URI = re.compile(r"^(s3|gs)://([^/]+)/?(.*)$")


def split_object_uri(uri: str) -> tuple[str, str, str] | None:
    """('s3'|'gs', bucket, key prefix) of an object-store URI."""
    match = _OBJECT_URI.match(uri.strip())
    if not match:
        return None
    return match.group(1), match.group(2), match.group(3)


MODEL_NAME_HINT = re.compile(r"model|weight|artifact|checkpoint|ckpt", re.I)


def exposed_ports(first: int, last: int, extra_ports: frozenset[int] = frozenset()) -> list[str]:
    """SSH and the model-serving ports in a port range, described for a message."""
    found = ["22 (SSH)"] if first <= 22 <= last else []
    found += [
        f"{port} ({port_label(port, extra_ports)})"
        for port in sorted(set(MODEL_PORTS) | set(extra_ports))
        if first <= port <= last
    ]
    return found


def port_ranges(node) -> list[str]:
    """The known ports of a port-or-list value as text: strings (`"8000"`, `"8000-8002"`, `"*"`)
    and numbers (`ports = [8000]`, `destination_port_range = 22`) alike."""
    from aiiac_ls.model.nodes import Scalar, as_list

    return [
        str(item.value)
        for item in as_list(node)
        if isinstance(item, Scalar) and isinstance(item.value, (str, int)) and not isinstance(item.value, bool)
    ]


def exposed_in_ranges(ranges: list[str], extra_ports: frozenset[int] = frozenset()) -> list[str]:
    """The same for port ranges written as text (`"8000"`, `"8000-8002"`, `"*"`), as GCP
    firewalls and Azure NSG rules write them."""
    found: list[str] = []
    for text in ranges:
        if text == "*":
            return ["all ports"]
        low, _, high = str(text).partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            found += exposed_ports(int(low), int(high or low), extra_ports)
    return found
