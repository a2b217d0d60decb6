"""Loading a chart: its files from a folder or a .tgz (within the limits), Chart.yaml and
values.yaml, and its subcharts (`charts/`, dependencies, aliases, conditions read later)."""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from ...limits import DEFAULT_LIMITS, MIB, Limits
from ...model.nodes import Mapping, Node, Sequence, Span
from ..source import FileSystem, SourceError, SourceFile, decode
from ..yaml import parse_yaml


@dataclass
class ChartProblem:
    path: str  # display path of the file
    message: str
    span: Span | None = None
    kind: str = "error"


@dataclass
class ChartSource:
    """The files of one chart (a folder, or a .tgz read in memory)."""

    root: str  # display root (folder path, or path of the .tgz)
    files: dict[str, bytes]  # chart-relative path -> content

    def text(self, relative: str, display) -> SourceFile | None:
        data = self.files.get(relative)
        if data is None:
            return None
        return SourceFile(display(relative), decode(display(relative), data))


@dataclass
class Chart:
    source: ChartSource
    metadata: dict
    name: str
    display: Callable[[str], str]  # relative path -> display path
    values: Node | None = None  # the chart's own values.yaml
    subcharts: list[Chart] = field(default_factory=list)
    alias: str | None = None
    parent: Chart | None = None
    sources: list[SourceFile] = field(default_factory=list)  # Chart.yaml and values.yaml as read
    missing: list[str] = field(default_factory=list)  # declared dependencies not found
    missing_span: Span | None = None  # where the first of them is declared (Chart.yaml)
    unrendered: list[str] = field(default_factory=list)  # templates that need them (not rendered)
    disabled: bool = False  # a subchart its condition or tags switch off

    @property
    def is_library(self) -> bool:
        return self.metadata.get("type") == "library"


def _read_folder(root: str, limits: Limits, skipped: list[tuple[str, str]], filesystem: FileSystem) -> dict[str, bytes]:
    """The chart's files (not `charts/`, read as subcharts). Every file left out is named in
    `skipped` (path, reason): a template that silently vanished would hide its findings."""
    files: dict[str, bytes] = {}
    total = 0
    real_root = os.path.realpath(root)
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not (os.path.relpath(os.path.join(folder, d), root) == "charts")
        )
        for name in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            dirs.remove(name)
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            skipped.append((relative, "a symlinked folder; not followed"))
        for name in sorted(names):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                target = os.path.realpath(path)
                if not (target + os.sep).startswith(real_root + os.sep) or not os.path.isfile(target):
                    skipped.append((relative, "a symlink to outside the chart; not read"))
                    continue
            if not os.path.isfile(path):
                continue
            reason = _too_big(os.path.getsize(path), len(files), total, limits)
            if reason:
                skipped.append((relative, f"{reason}; not read"))
                continue
            files[relative] = filesystem.read_bytes(path)
            total += len(files[relative])
    return files


def _too_big(size: int, count: int, total: int, limits: Limits) -> str | None:
    if size > limits.chart_max_file_mb * MIB:
        return f"larger than {limits.chart_max_file_mb:g} MiB (limit `chart-max-file-mb`)"
    if count >= limits.chart_max_files:
        return f"the chart has more than {limits.chart_max_files} files (limit `chart-max-files`)"
    if total + size > limits.chart_max_mb * MIB:
        return f"the chart is larger than {limits.chart_max_mb:g} MiB (limit `chart-max-mb`)"
    return None


def _read_tgz(path: str, limits: Limits, skipped: list[tuple[str, str]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/", 1)
            if not member.isfile() or len(parts) < 2 or parts[1].startswith("charts/"):
                continue
            if ".." in parts[1].split("/") or parts[1].startswith("/"):
                skipped.append((member.name, "a path leaving the archive; not read"))
                continue
            reason = _too_big(member.size, len(files), total, limits)
            if reason:
                skipped.append((parts[1], f"{reason}; not read"))
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                files[parts[1]] = handle.read(member.size)
                total += member.size
    return files


def _yaml_plain(source: SourceFile | None, limits: Limits = DEFAULT_LIMITS) -> tuple[Node | None, list[ChartProblem]]:
    if source is None:
        return None, []
    documents, errors = parse_yaml(source, limits)
    problems = [ChartProblem(source.path, e.message, e.span, "syntax") for e in errors]
    return (documents[0].root if documents else None), problems


def load_chart(
    root: str,
    display,
    problems: list[ChartProblem],
    dependency_dirs: tuple[str, ...] = (),
    parent: Chart | None = None,
    depth: int = 0,
    filesystem: FileSystem | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Chart | None:
    """The chart in `root` (a folder or a .tgz) with its subcharts, its files read through
    `filesystem` (the disk, or in the editor the open buffers over it)."""
    filesystem = filesystem or FileSystem()
    is_tgz = root.endswith((".tgz", ".tar.gz"))
    try:
        skipped: list[tuple[str, str]] = []
        files = _read_tgz(root, limits, skipped) if is_tgz else _read_folder(root, limits, skipped, filesystem)
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        problems.append(ChartProblem(display(root), f"cannot read chart: {exc}"))
        return None
    for relative, reason in skipped:
        shown_path = display(f"{root}!/{relative}") if is_tgz else display(os.path.join(root, relative))
        problems.append(ChartProblem(shown_path, f"chart file {reason}", None, "skipped"))
    source = ChartSource(root, files)

    def shown(relative: str) -> str:
        return display(f"{root}!/{relative}") if is_tgz else display(os.path.join(root, relative))

    try:
        chart_yaml = source.text("Chart.yaml", shown)
        values_yaml = source.text("values.yaml", shown)
    except SourceError as exc:
        problems.append(ChartProblem(display(root), exc.message, exc.span))
        return None
    metadata_node, found = _yaml_plain(chart_yaml, limits)
    problems.extend(found)
    metadata = metadata_node.plain() if isinstance(metadata_node, Mapping) else {}
    values, found = _yaml_plain(values_yaml, limits)
    problems.extend(found)
    chart = Chart(
        source,
        metadata if isinstance(metadata, dict) else {},
        str(metadata.get("name", "chart")),
        shown,
        values if isinstance(values, Mapping) else None,
        parent=parent,
    )
    chart.sources = [s for s in (chart_yaml, values_yaml) if s is not None]
    if depth > 8:
        return chart
    # subcharts: folders and archives under charts/, then declared dependencies
    available: dict[str, str] = {}
    charts_dir = os.path.join(root, "charts") if not is_tgz else None
    if charts_dir and os.path.isdir(charts_dir):
        for entry in sorted(os.listdir(charts_dir)):
            folder = os.path.join(charts_dir, entry)
            if os.path.isfile(os.path.join(folder, "Chart.yaml")) or entry.endswith(".tgz"):
                name = re.sub(r"-\d+\.\d+\.\d+.*\.tgz$", "", entry) if entry.endswith(".tgz") else entry
                available[name] = folder
    for directory in dependency_dirs:
        for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if entry not in available and os.path.isfile(os.path.join(directory, entry, "Chart.yaml")):
                available[entry] = os.path.join(directory, entry)
    dependencies = metadata.get("dependencies") or []
    if not dependencies and str(metadata.get("apiVersion", "v1")) == "v1":  # v1 charts: requirements.yaml
        requirements, found = _yaml_plain(source.text("requirements.yaml", shown), limits)
        problems.extend(found)
        if isinstance(requirements, Mapping):
            dependencies = requirements.plain().get("dependencies") or []
    declared = {str(d.get("name")) for d in dependencies if isinstance(d, dict)}
    for dependency in dependencies:
        if not isinstance(dependency, dict):
            continue
        name = str(dependency.get("name"))
        path = available.get(name)
        if path is None:  # reported once per chart (AIS005), where it is declared
            chart.missing.append(name)
            if chart.missing_span is None:
                chart.missing_span = _dependency_span(metadata_node, name) or (
                    Span(chart_yaml.path, 0, 0, 0, 0) if chart_yaml else None
                )
            continue
        sub = load_chart(path, display, problems, dependency_dirs, chart, depth + 1, filesystem, limits)
        if sub is not None:
            sub.alias = dependency.get("alias") or name
            sub.metadata["_condition"] = dependency.get("condition")
            sub.metadata["_tags"] = dependency.get("tags") or []
            sub.metadata["_imports"] = dependency.get("import-values") or []
            chart.subcharts.append(sub)
    for name, path in available.items():  # undeclared subcharts in charts/ are always used
        if name not in declared and path.startswith(charts_dir or "\0"):
            sub = load_chart(path, display, problems, dependency_dirs, chart, depth + 1, filesystem, limits)
            if sub is not None:
                sub.alias = sub.name
                chart.subcharts.append(sub)
    return chart


def _dependency_span(metadata: Node | None, name: str) -> Span | None:
    if not isinstance(metadata, Mapping):
        return None
    dependencies = metadata.get("dependencies")
    for item in dependencies.items if isinstance(dependencies, Sequence) else []:
        found = item.get("name") if isinstance(item, Mapping) else None
        if found is not None and getattr(found, "value", None) == name:
            return found.span
    return None


def outermost_chart_root(path: str) -> str | None:
    """The chart a file belongs to; a subchart in `charts/` belongs to its parent chart."""
    directory = os.path.dirname(os.path.abspath(path))
    root = None
    for _ in range(32):
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            root = directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    while root is not None:
        charts_dir = os.path.dirname(root)
        owner = os.path.dirname(charts_dir)
        if os.path.basename(charts_dir) == "charts" and os.path.isfile(os.path.join(owner, "Chart.yaml")):
            root = owner
        else:
            break
    return root
