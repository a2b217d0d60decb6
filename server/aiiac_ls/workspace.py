"""The editor's view of a repository: open buffers over the disk, and what to re-analyse.

An edit re-analyses its *unit*: for a `.tf` / `.tfvars` file, the Terraform module (the files of
its folder, so a `variables.tf` edit re-checks every resource of the module); for Kubernetes YAML,
the manifests of its folder (ServiceAccounts and Services there are context for the workloads).
Parses are cached by text, so only the edited file is parsed again. Nothing here knows the LSP.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from .config import Config, ConfigError, ConfigTree, find_config, load_config_file
from .engine import Analysis, Engine, ParseCache, classify
from .formats.helm.chart import outermost_chart_root
from .formats.source import MAX_FILE_BYTES, FileSystem, SourceError, SourceFile, check_size, read_source
from .formats.terraform import local_module_sources
from .rules import Facts


@dataclass(frozen=True)
class Unit:
    kind: str  # "terraform" | "yaml" | "helm"
    directory: str  # absolute; for a chart, the chart's root


def unit_of(path: str) -> Unit | None:
    kind = classify(path)
    if kind in ("tf", "tfvars"):
        return Unit("terraform", os.path.dirname(os.path.abspath(path)))
    if kind == "yaml":
        return Unit("yaml", os.path.dirname(os.path.abspath(path)))
    if kind == "helm":  # a values.yaml edit re-renders and re-checks every template of its chart
        root = outermost_chart_root(path)
        return Unit("helm", root) if root else None
    return None


class EditorFileSystem(FileSystem):
    """The disk with the editor's open buffers laid over it: what every loader reads in the
    editor, within the same size limit as the files on disk."""

    def __init__(self, workspace: Workspace, max_bytes: int = MAX_FILE_BYTES):
        super().__init__(max_bytes)
        self.workspace = workspace

    def read(self, path: str, shown: str) -> SourceFile:
        return self.workspace.read(path, shown, self.max_bytes)

    def buffer(self, path: str) -> str | None:
        return self.workspace.text(path)


class Workspace:
    """The editor's state: the open documents, and per analysis unit its parse cache (kept warm
    while a document of the unit is open, released when the last one closes) and its facts (kept:
    the other folders are judged with them). `analyse` is the one analysis call; the language
    server keeps only the last result of each unit and the scheduling."""

    def __init__(self, settings: dict | None = None):
        self._buffers: dict[str, str] = {}  # absolute path -> text of an open document
        self._lock = threading.Lock()
        self.caches: dict[Unit, ParseCache] = {}  # per unit with open documents
        self.settings = settings or {}  # from the editor (workspace/configuration)
        self.config_errors: dict[str, ConfigError] = {}  # config file -> its error
        # each unit's contribution to the scan-wide facts, so a folder is judged knowing the rest
        # of the workspace (a KServe storageUri in k8s/, the IRSA trust in infra/), as --check does
        self.unit_facts: dict[Unit, Facts | None] = {}
        # Terraform folder -> the folders it calls as local modules (real paths), from the index
        # and every analysis: a module folder is analysed through its callers, as `--check` does
        self.local_calls: dict[str, set[str]] = {}
        # kustomization folder -> the files its build reads: a base or patch is analysed through
        # the overlays that build it, and its edits re-check them
        self.kustomize_reach: dict[str, set[str]] = {}

    # ---- buffers ------------------------------------------------------------------------------

    def open(self, path: str, text: str) -> None:
        with self._lock:
            self._buffers[os.path.abspath(path)] = text

    def close(self, path: str) -> None:
        with self._lock:
            self._buffers.pop(os.path.abspath(path), None)

    def is_open(self, path: str) -> bool:
        return os.path.abspath(path) in self._buffers

    def text(self, path: str) -> str | None:
        return self._buffers.get(os.path.abspath(path))

    def read(self, path: str, shown: str, max_bytes: int = MAX_FILE_BYTES) -> SourceFile:
        """The reader the engine uses: the editor's buffer when the file is open, else the disk.
        An open buffer obeys the same size limit as the file on disk."""
        text = self._buffers.get(os.path.abspath(path))
        if text is not None:
            check_size(
                len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > max_bytes else len(text), max_bytes
            )
            return SourceFile(shown, text)
        return read_source(path, shown, max_bytes)

    # ---- units ----------------------------------------------------------------------------------

    def unit_files(self, unit: Unit) -> list[str]:
        if unit.kind == "helm":  # the engine renders the whole chart from any of its files
            return [os.path.join(unit.directory, "Chart.yaml")]
        names: set[str] = set()
        try:
            names.update(os.listdir(unit.directory))
        except OSError:
            pass
        with self._lock:
            names.update(os.path.basename(p) for p in self._buffers if os.path.dirname(p) == unit.directory)
        files = []
        for name in sorted(names):
            path = os.path.join(unit.directory, name)
            kind = classify(path)
            if unit.kind == "terraform" and kind in ("tf", "tfvars"):
                if kind == "tfvars" and not (name == "terraform.tfvars" or name.endswith(".auto.tfvars")):
                    if not self.is_open(path):
                        continue
                files.append(path)
            elif unit.kind == "yaml" and kind == "yaml":
                files.append(path)
        return [p for p in files if self.is_open(p) or os.path.isfile(p)]

    def open_paths(self, unit: Unit) -> list[str]:
        with self._lock:
            return [p for p in self._buffers if unit_of(p) == unit]

    def open_units(self) -> set[Unit]:
        with self._lock:
            paths = list(self._buffers)
        return {u for u in map(unit_of, paths) if u is not None}

    # ---- configuration ----------------------------------------------------------------------------

    def config_for(self, directory: str) -> Config:
        """The project's config file wins for the repository; editor settings fill the rest."""
        found = find_config(directory)
        config = Config()
        if found:
            try:
                config = load_config_file(found)
                self.config_errors.pop(found, None)
            except ConfigError as exc:
                self.config_errors[found] = exc
        return apply_editor_settings(config, self.settings, from_file=found is not None)

    # ---- analysis -------------------------------------------------------------------------------

    def filesystem(self, config: Config) -> EditorFileSystem:
        """What the engine reads: the open buffers over the disk, within the configured limit."""
        return EditorFileSystem(self, config.limits.max_file_bytes)

    def cache_for(self, unit: Unit) -> ParseCache:
        """The unit's parse cache (parses, evaluations, last good renders, rule results)."""
        if unit not in self.caches:
            self.caches[unit] = ParseCache()
        return self.caches[unit]

    def forget(self, unit: Unit) -> None:
        """Release what is kept for analysing `unit` as the user types (its last document
        closed); its facts stay, for the other folders."""
        self.caches.pop(unit, None)

    def analyse(self, unit: Unit, cache: ParseCache | None = None) -> Analysis:
        """`cache`: the unit's own (kept warm for open documents) unless another is given.
        `analysis.facts_changed` tells whether this unit now says something new to the others.
        A Terraform folder that other folders of the workspace call as a local module is analysed
        with them, through their calls (their inputs, not its defaults)."""
        config = self.config_for(unit.directory)
        engine = Engine(
            config, absolute_paths=True, cache=cache or self.cache_for(unit), filesystem=self.filesystem(config)
        )
        analysis = Analysis()
        files = [p for p in self.unit_files(unit) if not engine.config.excluded(p)]
        if unit.kind == "terraform":
            self._note_local_calls(unit.directory, files)
            for caller in self.callers_of(unit.directory):
                files += [p for p in self.unit_files(Unit("terraform", caller)) if not engine.config.excluded(p)]
        elif unit.kind == "yaml":
            for overlay in self.overlays_of(files):
                files += [p for p in self.unit_files(Unit("yaml", overlay)) if p not in files]
        engine.analyse_files(files, analysis, var_files=engine.config.var_files, context_facts=self.context_facts(unit))
        self.kustomize_reach.update(analysis.kustomize_reach)
        analysis.facts_changed = self.unit_facts.get(unit) != analysis.facts
        self.unit_facts[unit] = analysis.facts
        return analysis

    def check(self, folders: list[str]) -> Analysis:
        """What `aiiac-ls --check` says of `folders` (one analysis, every file under its nearest
        configuration), read through the open buffers and with the editor's settings: the
        workspace scan, whose findings therefore equal the command line's."""
        try:
            common = os.path.commonpath([os.path.abspath(folder) for folder in folders])
        except ValueError:  # pragma: no cover - folders on different Windows drives
            common = os.path.abspath(folders[0])
        config = self.config_for(common)
        engine = Engine(
            config,
            absolute_paths=True,
            filesystem=self.filesystem(config),
            configs=ConfigTree(config, resolve=self.config_for),
        )
        return engine.analyse_paths(folders)

    def index(self, unit: Unit) -> bool:
        """Collect a unit's facts without running rules (at start-up, for every unit of the
        workspace); True when they differ from what was known."""
        config = self.config_for(unit.directory)
        engine = Engine(config, absolute_paths=True, filesystem=self.filesystem(config))
        files = [p for p in self.unit_files(unit) if not engine.config.excluded(p)]
        if unit.kind == "terraform":
            self._note_local_calls(unit.directory, files)
        loaded = Analysis()
        facts = engine.collect_facts(files, engine.config.var_files, loaded)
        self.kustomize_reach.update(loaded.kustomize_reach)
        changed = self.unit_facts.get(unit) != facts
        self.unit_facts[unit] = facts
        return changed

    def _note_local_calls(self, directory: str, files: list[str]) -> None:
        """Which folders the `.tf` files of `directory` call as local modules, as they are now."""
        called: set[str] = set()
        for path in files:
            if not path.endswith(".tf"):
                continue
            try:
                text = self.read(path, path).text
            except SourceError:
                continue
            for source in local_module_sources(text):
                called.add(os.path.realpath(os.path.join(directory, source)))
        called.discard(os.path.realpath(directory))
        self.local_calls[directory] = called

    def overlays_of(self, files: list[str]) -> list[str]:
        """The kustomization folders of the workspace whose builds read one of `files` (a base,
        a patch, a component), other than the files' own folder."""
        wanted = {os.path.abspath(path) for path in files}
        folders = {os.path.dirname(path) for path in wanted}
        return sorted(
            directory
            for directory, reached in self.kustomize_reach.items()
            if directory not in folders and not wanted.isdisjoint(reached)
        )

    def callers_of(self, directory: str) -> list[str]:
        """The Terraform folders of the workspace that call `directory` as a local module,
        directly or through other modules (nearest first, at most 32)."""
        found: list[str] = []
        pending = [os.path.realpath(directory)]
        while pending and len(found) < 32:
            target = pending.pop(0)
            for caller, called in sorted(self.local_calls.items()):
                if target in called and caller not in found and os.path.realpath(caller) != os.path.realpath(directory):
                    found.append(caller)
                    pending.append(os.path.realpath(caller))
        return found

    def context_facts(self, unit: Unit) -> Facts | None:
        """Every other unit's facts, merged (None when nothing else is known)."""
        others = [
            facts
            for other, facts in sorted(self.unit_facts.items(), key=lambda item: (item[0].directory, item[0].kind))
            if other != unit and facts is not None
        ]
        if not others:
            return None
        merged = others[0]
        for facts in others[1:]:
            merged = merged.merged(facts)
        return merged

    def units_under(self, folder: str) -> list[Unit]:
        """The analysis units of every file `--check` would read below `folder`."""
        from .engine import discover

        problems: list = []
        files = discover([folder], self.config_for(folder), problems)
        return sorted({u for u in map(unit_of, files) if u is not None}, key=lambda u: (u.directory, u.kind))


_SETTING_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "severity": "severity",
    "modelPorts": "model_ports",
    "model-ports": "model_ports",
    "modelBuckets": "model_buckets",
    "model-buckets": "model_buckets",
    "valuesFiles": "values_files",
    "values-files": "values_files",
    "exclude": "exclude",
}


def apply_editor_settings(config: Config, settings: dict, from_file: bool) -> Config:
    """Editor settings apply where the repository's own config file does not speak."""
    result = config.merged()
    for key, value in (settings or {}).items():
        field = _SETTING_KEYS.get(key)
        if field is None or value in (None, "", [], {}):
            continue
        current = getattr(result, field)
        if from_file and current not in ((), {}, frozenset(), None):
            continue  # the file wins for the repository
        if field == "model_ports":
            value = frozenset(int(v) for v in value)
        elif field == "severity":
            value = {str(k).upper(): str(v) for k, v in dict(value).items()}
        elif field in ("select", "ignore"):
            value = tuple(str(v).upper() for v in value)
        else:
            value = tuple(value)
        setattr(result, field, value)
    return result
