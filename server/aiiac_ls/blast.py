"""Blast radius of a change: `--check --diff REV` compares the working tree with a git revision.

The revision's files are read with `git ls-tree` and `git cat-file` (object reads: no checkout,
no hooks, no filters, no fsmonitor, nothing from the repository runs) into a temporary folder
and analysed by the same engine, under the working tree's paths. Then:

- resources are compared by identity (Terraform address, Kubernetes kind/namespace/name) and a
  digest of their *evaluated* configuration, so a resource changed through a variable, a local,
  a tfvars file or a chart's values.yaml is listed even though its own block did not change;
- findings are compared by fingerprint: new, fixed, unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field

from .config import DEFAULT_EXCLUDES
from .model.findings import Finding
from .model.resources import Resource

MAX_REVISION_BYTES = 512 * 1024 * 1024  # read from one revision at most
GIT_TIMEOUT = 120


class DiffError(Exception):
    pass


@dataclass
class ResourceChange:
    address: str
    file: str
    status: str  # added | removed | modified
    because: list[str] = field(default_factory=list)  # changed files it depends on, when not its own

    @property
    def indirect(self) -> bool:
        return self.status == "modified" and bool(self.because)


@dataclass
class BlastRadius:
    revision: str
    commit: str
    changed_files: list[tuple[str, str]]  # (status, path): added | removed | modified
    resources: list[ResourceChange]
    new: list[Finding]
    fixed: list[Finding]
    unchanged: list[Finding]


def record_digests(scope: list[Resource], digests: dict[str, tuple[str, str, str]]) -> None:
    from .policy.documents import plain_json

    for resource in scope:
        # a Terraform address is unique within its root module's folder; a Kubernetes one in the scan
        place = os.path.dirname(resource.file) if resource.source == "terraform" else ""
        identity = f"{resource.source}:{place}:{resource.address}"
        number = 1
        while identity in digests:  # two charts rendering the same object: tell them apart
            number += 1
            identity = f"{resource.source}:{place}:{resource.address}#{number}"
        text = json.dumps(plain_json(resource.body.plain()), sort_keys=True, default=str)
        digests[identity] = (hashlib.sha256(text.encode()).hexdigest(), resource.file, resource.address)


def _git(root: str, *args: str, data: bytes | None = None) -> bytes:
    command = ["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-C", root, *args]
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=GIT_TIMEOUT, env=environment, check=False
        )
    except FileNotFoundError:
        raise DiffError("--diff needs git on PATH") from None
    except subprocess.TimeoutExpired:
        raise DiffError(f"git {args[0]} took more than {GIT_TIMEOUT} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


def repository_root(path: str) -> str:
    start = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return _git(start or ".", "rev-parse", "--show-toplevel").decode().strip()


def export_revision(root: str, revision: str, under: list[str], target: str) -> tuple[str, dict[str, bytes]]:
    """Write the revision's regular files below `under` (repository-relative folders or files)
    into `target`; return the commit and {relative path: content}."""
    commit = _git(root, "rev-parse", "--verify", "--end-of-options", f"{revision}^{{commit}}").decode().strip()
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0")
    wanted: list[tuple[str, str]] = []
    for line in listing:
        if not line:
            continue
        meta, _, name = line.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        if kind != "blob" or mode not in ("100644", "100755"):  # symlinks and submodules stay out
            continue
        if any(part in DEFAULT_EXCLUDES for part in path.split("/")[:-1]):  # as the scan leaves them out
            continue
        if any(prefix in ("", ".") or path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in under):
            wanted.append((sha, path))
    contents: dict[str, bytes] = {}
    if not wanted:
        return commit, contents
    output = _git(root, "cat-file", "--batch", data="".join(f"{sha}\n" for sha, _ in wanted).encode())
    offset, total = 0, 0
    for _, path in wanted:
        header_end = output.index(b"\n", offset)
        size = int(output[offset:header_end].split()[2])
        body = output[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
        total += size
        if total > MAX_REVISION_BYTES:
            raise DiffError(
                f"revision {revision} holds more than {MAX_REVISION_BYTES >> 20} MiB below the scanned paths"
            )
        destination = os.path.join(target, *path.split("/"))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with open(destination, "wb") as handle:
            handle.write(body)
        contents[path] = body
    return commit, contents


def record_digests_of(engine) -> dict[str, tuple[str, str, str]]:
    """The digests of every resource `engine` analyses from now on, filled as it goes:
    identity -> (digest of the evaluated configuration, file, address)."""
    digests: dict[str, tuple[str, str, str]] = {}
    engine.scope_observers.append(lambda scope: record_digests(scope, digests))
    return digests


def blast_radius(engine_factory, paths: list[str], revision: str, current, current_digests: dict) -> BlastRadius:
    """`current` is the working tree's analysis, `current_digests` its resources' digests
    (`record_digests_of`); `engine_factory()` makes an engine like the one that produced it."""
    from .engine import display_path
    from .report import fingerprints

    root = repository_root(paths[0])
    relative = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in paths]
    if any(p.startswith("../") or p == ".." for p in relative):
        raise DiffError("--diff: every path must be inside one git repository")
    scratch = tempfile.mkdtemp(prefix="aiiac-diff-")
    try:
        commit, old_contents = export_revision(root, revision, relative, scratch)
        engine = engine_factory()
        old_digests = record_digests_of(engine)

        def shown(path: str) -> str:  # a file of the revision, named as in the working tree
            inside = os.path.relpath(os.path.abspath(path), scratch)
            return display_path(os.path.join(root, inside))

        engine.display = shown
        old_paths = [os.path.join(scratch, p) if p not in ("", ".") else scratch for p in relative]
        old_paths = [p for p in old_paths if os.path.exists(p)]
        previous = engine.analyse_paths(old_paths) if old_paths else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    changed = _changed_files(root, relative, old_contents)
    resources = _resource_changes(old_digests, current_digests, changed, root)
    old_prints = Counter(fingerprints(previous.findings, previous.sources)) if previous else Counter()
    new_prints = Counter(fingerprints(current.findings, current.sources))
    new, unchanged = [], []
    for finding in current.findings:
        if old_prints[finding.fingerprint] > 0:
            old_prints[finding.fingerprint] -= 1
            unchanged.append(finding)
        else:
            new.append(finding)
    fixed = []
    for finding in previous.findings if previous else []:
        if new_prints[finding.fingerprint] > 0:
            new_prints[finding.fingerprint] -= 1
        else:
            fixed.append(finding)
    return BlastRadius(revision, commit, changed, resources, new, fixed, unchanged)


def _changed_files(root: str, under: list[str], old: dict[str, bytes]) -> list[tuple[str, str]]:
    from .engine import display_path

    current: dict[str, str] = {}
    for prefix in under:
        start = os.path.join(root, prefix)
        if os.path.isfile(start):
            current[prefix] = start
            continue
        for folder, dirs, names in os.walk(start):
            dirs[:] = [d for d in dirs if d not in DEFAULT_EXCLUDES]  # .git, .terraform, node_modules...
            for name in names:
                full = os.path.join(folder, name)
                if os.path.isfile(full) and not os.path.islink(full):
                    current[os.path.relpath(full, root).replace(os.sep, "/")] = full
    changes = []
    for path in sorted(set(current) | set(old)):
        shown = display_path(os.path.join(root, path))
        if path not in old:
            changes.append(("added", shown))
        elif path not in current:
            changes.append(("removed", shown))
        else:
            try:
                with open(current[path], "rb") as handle:
                    if handle.read() != old[path]:
                        changes.append(("modified", shown))
            except OSError:
                changes.append(("modified", shown))
    return changes


def _resource_changes(old: dict, new: dict, changed: list[tuple[str, str]], root: str) -> list[ResourceChange]:
    from .engine import chart_root

    changed_paths = {path for _, path in changed}
    result = []
    for identity in sorted(set(old) | set(new)):
        if identity not in old:
            result.append(ResourceChange(new[identity][2], new[identity][1], "added"))
        elif identity not in new:
            result.append(ResourceChange(old[identity][2], old[identity][1], "removed"))
        elif old[identity][0] != new[identity][0]:
            file = new[identity][1]
            because = []
            if file not in changed_paths:
                unit = chart_root(file) or os.path.dirname(os.path.abspath(file))
                because = sorted(
                    path for path in changed_paths if os.path.abspath(path).startswith(unit.rstrip(os.sep) + os.sep)
                )
                because = because or ["a module input or shared file"]
            result.append(ResourceChange(new[identity][2], file, "modified", because))
    return result
