"""Where a module call's code is, never fetched: a local path, what `terraform init` (or
`tofu init`) installed as recorded in `.terraform/modules/modules.json`, or a folder named in
the `[terraform] module-dirs` setting. A call found nowhere is reported (AIS003), not guessed.

The manifest is keyed by the call path from the root module (`eks`, `eks.eks_managed_node_group`),
its `Dir` relative to the root module's folder; `//subdir` sources are already resolved in it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from .source import FileSystem

MANIFEST = os.path.join(".terraform", "modules", "modules.json")
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Resolution:
    """A call's module folder (real path), or why there is none."""

    directory: str | None
    installed: bool = False  # code from `terraform init` or a module folder: not the user's to edit
    missing: str | None = None  # why the code is not there, as "is not installed" (the call gets AIS003)


class ModuleResolver:
    """Resolves module sources for the root modules of one analysis; reads each manifest once."""

    def __init__(self, module_dirs: tuple[str, ...] = (), filesystem: FileSystem | None = None):
        self.module_dirs = module_dirs
        self.filesystem = filesystem or FileSystem()
        self._manifests: dict[str, dict[str, str]] = {}
        self.problems: list[tuple[str, str]] = []  # (path, message): a manifest that cannot be used

    def resolve(self, source: str, key: str, caller_dir: str, caller_installed: bool, root: str) -> Resolution:
        """`source` of the call at manifest `key`, written in a module in `caller_dir`, under the
        root module in `root`."""
        if source.startswith(("./", "../")):
            return Resolution(os.path.realpath(os.path.join(caller_dir, source)), installed=caller_installed)
        if not source:
            return Resolution(None, missing="has a `source` that is not a literal string")
        recorded = self._manifest(root).get(key)
        if recorded is not None:
            directory = os.path.realpath(os.path.join(root, recorded))
            inside = os.path.realpath(root)
            if directory != inside and not directory.startswith(inside + os.sep):
                self._problem(root, f"`{key}` names `{recorded}`, outside the root module; ignored")
            elif os.path.isdir(directory):
                return Resolution(directory, installed=True)
            else:
                return Resolution(None, missing=f"is not in `{recorded}`, where terraform init recorded it")
        for folder in self.module_dirs:
            for candidate in _candidates(source):
                directory = os.path.realpath(os.path.join(folder, candidate))
                if os.path.isdir(directory):
                    return Resolution(directory, installed=True)
        return Resolution(None, missing="is not installed")

    def _manifest(self, root: str) -> dict[str, str]:
        found = self._manifests.get(root)
        if found is None:
            found = self._manifests[root] = self._read_manifest(root)
        return found

    def _read_manifest(self, root: str) -> dict[str, str]:
        path = os.path.join(root, MANIFEST)
        if not self.filesystem.is_file(path):
            return {}
        try:
            data = self.filesystem.read_bytes(path)
            if len(data) > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB")
            document = json.loads(data)
        except (OSError, ValueError) as exc:
            self._problem(root, f"cannot be read ({exc}); run `terraform init` again")
            return {}
        modules = document.get("Modules") if isinstance(document, dict) else None
        if not isinstance(modules, list):
            self._problem(root, "has no `Modules` list; run `terraform init` again")
            return {}
        return {
            entry["Key"]: entry["Dir"]
            for entry in modules
            if isinstance(entry, dict) and isinstance(entry.get("Key"), str) and isinstance(entry.get("Dir"), str)
        }

    def _problem(self, root: str, message: str) -> None:
        problem = (os.path.join(root, MANIFEST), f"module manifest {message}")
        if problem not in self.problems:
            self.problems.append(problem)


_REGISTRY = re.compile(r"^(?:[\w.-]+\.[a-z]{2,}/)?([\w-]+)/([\w-]+)/([\w-]+)$")
_GIT_REPO = re.compile(r"([\w.-]+?)(?:\.git)?/*$")


def _candidates(source: str) -> list[str]:
    """Folder names a module folder may hold `source` under: `ns/name/provider`, the repository
    name (`terraform-<provider>-<name>`, a git URL's last part) and `name`; `//sub` appended."""
    address = source.split("?", 1)[0]
    address = re.sub(r"^[a-z0-9]+::", "", address)  # git::, s3::, hg::
    subdir = ""
    scheme = address.find("://")
    split_at = address.find("//", scheme + 3 if scheme >= 0 else 0)
    if split_at >= 0:
        address, subdir = address[:split_at], address[split_at + 2 :].strip("/")
    names: list[str] = []
    registry = _REGISTRY.match(address)
    if registry is not None:
        namespace, name, provider = registry.groups()
        names = [f"{namespace}/{name}/{provider}", f"terraform-{provider}-{name}", name]
    else:
        repo = _GIT_REPO.search(address.replace(":", "/"))
        if repo is not None:
            names = [repo.group(1)]
    return [os.path.join(name, subdir) if subdir else name for name in names]


_COMMIT_REF = re.compile(r"[?&]ref=[0-9a-f]{40}(&|$)")
_GIT_SOURCE = re.compile(r"^(git::|git@|github\.com/|bitbucket\.org/)|\.git(//|\?|$)")


def unpinned_source(source: str, version: str) -> str | None:
    """Why a module call's `source` can change under its caller (None when it cannot): a git
    source without `?ref=<commit>` (a branch or tag moves), a registry source without `version`
    (the next `terraform init` takes the newest release). Local paths are the caller's own code."""
    if not source or source.startswith(("./", "../", "/")):
        return None
    if _GIT_SOURCE.search(source):
        if _COMMIT_REF.search(source):
            return None
        ref = re.search(r"[?&]ref=([^&]+)", source)
        moving = f"ref `{ref.group(1)}`, a branch or tag" if ref else "no ref: the default branch"
        return f"module source `{source}` is not pinned to a commit ({moving})"
    if _REGISTRY.match(source.split("//")[0]) and not version:
        return f"registry module `{source}` has no `version`: each `terraform init` may take a newer release"
    return None
