"""The built-in objects templates see besides `.Values`: `.Files` (confined to the chart),
`.Capabilities` (the Kubernetes version and API versions) and `.Chart`."""

from __future__ import annotations

import os

from .loading import Chart

DEFAULT_KUBE_VERSION = "v1.31.0"
DEFAULT_API_VERSIONS = [
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "networking.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "storage.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "admissionregistration.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "node.k8s.io/v1",
    "certificates.k8s.io/v1",
]


class Files:
    """`.Files`, confined to the chart: `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`."""

    def __init__(self, files: dict[str, bytes]):
        self._files = {k: v for k, v in files.items() if not k.startswith("templates/")}

    def _path(self, name) -> str | None:
        name = str(name or "").replace("\\", "/")
        normal = os.path.normpath(name).replace(os.sep, "/")
        if name.startswith("/") or normal.startswith("..") or normal == ".":
            return None  # outside the chart: nothing, as Helm
        return normal

    def __len__(self) -> int:  # an empty Glob result is false in `if`, like Go's empty map
        return len(self._files)

    def items(self) -> list[tuple[str, str]]:
        """(path, content) in path order: what `range` over a Files map gives."""
        return [(path, data.decode("utf-8", "replace")) for path, data in sorted(self._files.items())]

    def __str__(self) -> str:  # fmt.Sprint of a Files map
        return "map[" + " ".join(f"{path}:{list(data)}" for path, data in sorted(self._files.items())) + "]"

    def Get(self, name) -> str:
        path = self._path(name)
        data = self._files.get(path) if path else None
        return data.decode("utf-8", "replace") if data is not None else ""

    def GetBytes(self, name) -> str:
        return self.Get(name)

    def Lines(self, name) -> list[str]:
        text = self.Get(name)
        if text.endswith("\n"):  # as Helm: one trailing newline is not an empty last line
            text = text[:-1]
        return text.split("\n") if text else []

    def Glob(self, pattern) -> Files:
        import fnmatch

        selected = Files({})
        selected._files = {k: v for k, v in self._files.items() if fnmatch.fnmatch(k, str(pattern))}
        return selected

    def AsConfig(self) -> str:
        from .gotypes import to_yaml

        return to_yaml({os.path.basename(k): v.decode("utf-8", "replace") for k, v in sorted(self._files.items())})

    def AsSecrets(self) -> str:
        import base64

        from .gotypes import to_yaml

        return to_yaml({os.path.basename(k): base64.b64encode(v).decode() for k, v in sorted(self._files.items())})


class APIVersions(list):
    def Has(self, version) -> bool:
        return str(version) in self


def capabilities(kube_version: str = DEFAULT_KUBE_VERSION, api_versions=DEFAULT_API_VERSIONS) -> dict:
    major, minor = kube_version.lstrip("v").split(".")[:2]
    return {
        "KubeVersion": {"Version": kube_version, "Major": major, "Minor": minor, "GitVersion": kube_version},
        "APIVersions": APIVersions(api_versions),
        "HelmVersion": {"Version": "v3.16.0"},
    }


def _chart_object(chart: Chart) -> dict:
    meta = chart.metadata
    names = {"apiVersion": "APIVersion", "appVersion": "AppVersion", "kubeVersion": "KubeVersion"}
    result = {names.get(k, k[:1].upper() + k[1:]): v for k, v in meta.items() if not k.startswith("_")}
    result["IsRoot"] = chart.parent is None
    return result
