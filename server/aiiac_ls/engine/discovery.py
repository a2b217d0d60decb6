"""Which files a scan reads and what each one is: Terraform, a plan, YAML, or a file of a Helm
chart (read through its chart). Symlinks inside a scanned folder are reported, not followed."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from ..config import DEFAULT_EXCLUDES, Config
from ..model.findings import Problem

YAML_SUFFIXES = (".yaml", ".yml")
TF_SUFFIXES = (".tf",)
TFVARS_SUFFIXES = (".tfvars",)


def display_path(path: str) -> str:
    """Relative to the working directory when below it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:
        return absolute
    return absolute if relative.startswith("..") else relative


def classify(path: str) -> str | None:
    """yaml | helm | tf | tfvars | plan | None (not ours). `helm`: a file of a chart (templates, values
    files, Chart.yaml, subcharts, data files the templates read): analysed through the chart's
    rendering; a chart's `crds/` stay plain YAML."""
    name = os.path.basename(path)
    if name.endswith(TF_SUFFIXES):
        return "tf"
    if name.endswith(".tfplan.json") or name in ("tfplan.json", "plan.json"):
        return "plan"  # `terraform show -json` output (any .json named on the command line is tried too)
    if name.endswith(TFVARS_SUFFIXES):
        return "tfvars"
    if name == "Kustomization":
        return "yaml"
    if name.endswith(YAML_SUFFIXES) or name.endswith(".tpl") or name.endswith(".tgz"):
        root = chart_root(path)
        if root is not None:
            relative = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
            if "/" not in relative or relative.startswith(("templates/", "charts/", "files/", "ci/")):
                # templates, values, subcharts, and the chart's data (`files/`, `ci/` values, other
                # top-level YAML): only what the templates render is analysed. Other folders (a repo
                # with its chart at the root) keep their manifests.
                return "helm"
        return "yaml" if name.endswith(YAML_SUFFIXES) else None
    return None


def chart_root(path: str) -> str | None:
    """The chart folder (with Chart.yaml) that `path` belongs to, if any."""
    directory = os.path.dirname(os.path.abspath(path))
    for _ in range(8):
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return None


def discover(
    paths: Iterable[str], config: Config, problems: list[Problem], display: Callable[[str], str] = display_path
) -> list[str]:
    """Files to analyse under `paths` (explicit files are always analysed), in a stable order.

    Symlinks inside a scanned folder are not followed (a loop, or a link to /etc, must not widen
    the scan); each one that would have been read is reported as skipped, with where it points."""
    found: list[str] = []
    seen: set[str] = set()
    roots = [os.path.realpath(path) for path in paths]

    def skip_link(link: str, folder: bool) -> None:
        target = os.path.realpath(link)
        inside = any(target == root or target.startswith(root + os.sep) for root in roots)
        what = "symlinked folder" if folder else "symlink"
        where = "inside the scan, read at its own path" if inside else "outside the scanned folders"
        problems.append(Problem(display(link), f"{what} to {display(target)} ({where}); not followed", kind="skipped"))

    for path in paths:
        if not os.path.exists(path):
            problems.append(Problem(display(path), "no such file or directory"))
            continue
        if os.path.isfile(path):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
            continue
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs[:] = sorted(
                d for d in dirs if d not in DEFAULT_EXCLUDES and not config.excluded(os.path.join(root, d))
            )
            for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                dirs.remove(name)
                skip_link(os.path.join(root, name), folder=True)
            for name in sorted(files):
                full = os.path.join(root, name)
                if classify(full) is None or config.excluded(full):
                    continue
                if os.path.islink(full):
                    if classify(full) != "helm":  # a chart's own files: the chart reader decides
                        skip_link(full, folder=False)
                    continue
                real = os.path.realpath(full)
                if real not in seen:
                    seen.add(real)
                    found.append(full)
    return found
