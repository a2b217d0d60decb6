"""Configuration: `[tool.aiiac]` in pyproject.toml or `.aiiac.toml`, found upward from the scan.

Unknown keys are errors that name the key: a misspelt `ignore` must not silently do nothing.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .limits import DEFAULT_LIMITS, KEYS, Limits
from .model.findings import SEVERITIES

CONFIG_FILES = (".aiiac.toml", "pyproject.toml")
KNOWN_KEYS = (
    "extend",
    "terraform",
    "select",
    "ignore",
    "severity",
    "exclude",
    "model-ports",
    "model-buckets",
    "values-files",
    "var-files",
    "kube-version",
    "allowed-registries",
    "limits",
    "policies",
)
DEFAULT_EXCLUDES = (".git", ".terraform", "node_modules", ".venv", "venv", "__pycache__", ".tox")


class ConfigError(Exception):
    """A configuration problem; `path`, `line` and `column` (1-based) say where when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


@dataclass
class Config:
    select: tuple[str, ...] = ()  # rule ID prefixes; empty = all
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    model_ports: frozenset[int] = frozenset()
    model_buckets: tuple[str, ...] = ()
    values_files: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()
    module_dirs: tuple[str, ...] = ()  # [terraform] module-dirs: folders holding registry/git modules, absolute
    kube_version: str | None = None  # what charts see in .Capabilities.KubeVersion
    allowed_registries: tuple[str, ...] = ()  # image prefixes AIS132 accepts (empty: the rule is off)
    limits: Limits = DEFAULT_LIMITS  # bounds on hostile input (limits.py)
    policies: tuple[str, ...] = ()  # custom rule files and folders (.rego, *.rules.yaml), absolute
    builtin_rules: bool = True  # False: only the custom rules (`--test-policies`)
    path: str | None = None  # where it was read from
    root: str = "."  # folder that relative `exclude` globs and `var-files` are relative to
    # `exclude` globs of the configurations this one extends, each with the folder it is relative to
    inherited_excludes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def rule_enabled(self, rule_id: str) -> bool:
        if not self.builtin_rules and rule_id.startswith("AIS"):
            return False
        if self.select and not any(rule_id.startswith(prefix) for prefix in self.select):
            return False
        return not any(rule_id.startswith(prefix) for prefix in self.ignore)

    def severity_for(self, rule_id: str, default: str) -> str:
        return self.severity.get(rule_id, default)

    def excluded(self, path: str) -> bool:
        """True for paths matching an `exclude` glob (relative to the folder of the configuration
        that wrote it: this one's, or an extended one's)."""
        name = os.path.basename(path)
        for root, patterns in ((self.root, self.exclude), *self.inherited_excludes):
            relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
            for pattern in patterns:
                if (
                    fnmatch.fnmatch(relative, pattern)
                    or fnmatch.fnmatch(name, pattern)
                    or fnmatch.fnmatch(relative, pattern.rstrip("/") + "/*")
                ):
                    return True
        return False

    def merged(self, select=None, ignore=None) -> Config:
        """A copy with command-line `--select` / `--ignore` applied (they win over the file)."""
        copy = Config(**{k: v for k, v in self.__dict__.items()})
        if select:
            copy.select = tuple(select)
        if ignore:
            copy.ignore = tuple(copy.ignore) + tuple(ignore)
        return copy


def _string_list(key: str, value, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: `{key}` must be a list of strings")
    return tuple(value)


def parse_config(data: dict, source: str, root: str, base: Config | None = None) -> Config:
    """`data` read from `source`; keys it does not set keep `base`'s values (`extend`)."""
    unknown = [key for key in data if key not in KNOWN_KEYS]
    if unknown:
        raise ConfigError(f"{source}: unknown key `{unknown[0]}` (known keys: {', '.join(KNOWN_KEYS)})")
    if base is None:
        config = Config(path=source, root=root)
    else:
        config = dataclasses.replace(
            base,
            severity=dict(base.severity),
            path=source,
            root=root,
            exclude=(),
            inherited_excludes=(*base.inherited_excludes, (base.root, base.exclude))
            if base.exclude
            else base.inherited_excludes,
        )
    if "select" in data:
        config.select = tuple(item.upper() for item in _string_list("select", data["select"], source))
    if "ignore" in data:
        config.ignore = tuple(item.upper() for item in _string_list("ignore", data["ignore"], source))
    if "severity" in data:
        table = data["severity"]
        if not isinstance(table, dict):
            raise ConfigError(f'{source}: `severity` must be a table of RULE = "level"')
        for rule_id, level in table.items():
            if level not in SEVERITIES:
                raise ConfigError(f"{source}: severity of {rule_id} must be one of {', '.join(SEVERITIES)}")
            config.severity[rule_id.upper()] = level
    if "exclude" in data:
        config.exclude = _string_list("exclude", data["exclude"], source)
    if "model-ports" in data:
        ports = data["model-ports"]
        if not isinstance(ports, list) or not all(isinstance(p, int) and 0 < p < 65536 for p in ports):
            raise ConfigError(f"{source}: `model-ports` must be a list of port numbers")
        config.model_ports = frozenset(ports)
    if "model-buckets" in data:
        config.model_buckets = _string_list("model-buckets", data["model-buckets"], source)
    if "values-files" in data:
        config.values_files = _string_list("values-files", data["values-files"], source)
    if "allowed-registries" in data:
        config.allowed_registries = _string_list("allowed-registries", data["allowed-registries"], source)
    if "kube-version" in data:
        version = data["kube-version"]
        if not isinstance(version, str) or not re.fullmatch(r"v?\d+\.\d+(\.\d+)?", version):
            raise ConfigError(f'{source}: `kube-version` must look like "v1.31.0"')
        config.kube_version = version if version.startswith("v") else "v" + version
    if "limits" in data:
        config.limits = parse_limits(data["limits"], source)
    if "policies" in data:
        config.policies = tuple(os.path.join(root, f) for f in _string_list("policies", data["policies"], source))
    if "var-files" in data:
        config.var_files = tuple(os.path.join(root, f) for f in _string_list("var-files", data["var-files"], source))
    if "terraform" in data:
        table = data["terraform"]
        if not isinstance(table, dict) or any(key != "module-dirs" for key in table):
            raise ConfigError(f"{source}: `[terraform]` knows one key: `module-dirs`")
        folders = _string_list("terraform.module-dirs", table.get("module-dirs", []), source)
        config.module_dirs = tuple(os.path.join(root, folder) for folder in folders)
    return config


def load_config_file(path: str, _extending: tuple[str, ...] = ()) -> Config:
    """One configuration file, with the one it names in `extend` (relative to it) underneath."""
    if os.path.abspath(path) in _extending:
        chain = " -> ".join([*_extending, os.path.abspath(path)])
        raise ConfigError(f"{_extending[0]}: `extend` goes round in a circle: {chain}", _extending[0])
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+), column (\d+)", str(exc))
        raise ConfigError(
            f"{path}: invalid TOML: {exc}",
            path,
            int(where.group(1)) if where else None,
            int(where.group(2)) if where else None,
        ) from None
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("aiiac", {})
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.aiiac] must be a table", path)
    base = None
    try:
        if "extend" in data:
            extend = data["extend"]
            if not isinstance(extend, str) or not extend:
                raise ConfigError(f'{path}: `extend` must be the path of another configuration, e.g. "../.aiiac.toml"')
            target = os.path.join(root, os.path.expanduser(extend))
            if not os.path.isfile(target):
                raise ConfigError(f"{path}: `extend`: no file {target}")
            base = load_config_file(target, (*_extending, os.path.abspath(path)))
        return parse_config({k: v for k, v in data.items() if k != "extend"}, path, root, base)
    except ConfigError as exc:
        if exc.path is None or exc.path == path:
            exc.path = path
            exc.line = exc.line or _key_line(path, str(exc))
        raise


def _key_line(path: str, message: str) -> int | None:
    """The 1-based line of the key a message names (`unknown key `x``), for editors."""
    key = re.search(r"`([^`]+)`", message)
    if not key:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if re.match(rf"\s*\"?{re.escape(key.group(1))}\"?\s*=", line):
                    return number
    except OSError:
        return None
    return None


def find_config(start: str) -> str | None:
    """The nearest `.aiiac.toml`, or pyproject.toml with a [tool.aiiac] table, at or above `start`."""
    directory = os.path.abspath(start)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        for name in CONFIG_FILES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                if name == "pyproject.toml":
                    try:
                        with open(candidate, "rb") as handle:
                            if "aiiac" not in tomllib.load(handle).get("tool", {}):
                                continue
                    except (OSError, tomllib.TOMLDecodeError):
                        continue
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(paths: list[str], explicit: str | None = None) -> Config:
    """The configuration of a run: `explicit`, else the nearest one above the folder holding every
    path, so that the order of the paths changes nothing. Files below a configuration of their
    own use that one (`ConfigTree`); limits and policies are the run's."""
    if explicit:
        return load_config_file(explicit)
    absolute = [os.path.abspath(path) for path in paths or ["."]]
    try:
        common = os.path.commonpath(absolute)
    except ValueError:  # pragma: no cover - paths on different Windows drives
        common = absolute[0]
    found = find_config(common)
    return load_config_file(found) if found else Config()


def parse_limits(table, source: str) -> Limits:
    """`[tool.aiiac.limits]` as Limits; unknown keys and non-positive values are errors."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: `limits` must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = KEYS.get(key)
        if name is None:
            raise ConfigError(f"{source}: unknown key `{key}` in limits (known: {', '.join(KEYS)})")
        integer = isinstance(getattr(DEFAULT_LIMITS, name), int)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value <= 0
            or (integer and not isinstance(value, int))
        ):
            kind = "a positive whole number" if integer else "a positive number"
            raise ConfigError(f"{source}: `{key}` must be {kind}")
        values[name] = value
    return dataclasses.replace(DEFAULT_LIMITS, **values)


class ConfigTree:
    """Each file's configuration, as ruff resolves it: the nearest `.aiiac.toml` (or pyproject.toml
    with `[tool.aiiac]`) above the file, with `extend` for inheritance; files with none above them
    use `default`. `resolve(directory)` replaces the lookup (the editor lays its settings over it).
    A broken file is recorded in `errors` and its files use `default`, so one bad config in a
    monorepo names itself instead of stopping the scan of the rest."""

    def __init__(self, default: Config, select=(), ignore=(), resolve=None, adjust=None):
        self.default = default
        self._select, self._ignore = tuple(select or ()), tuple(ignore or ())
        self._resolve = resolve
        self._adjust = adjust  # what the command line sets on top of every file (values files, kube version)
        self._by_directory: dict[str, Config] = {}
        self._by_file: dict[str, Config] = {}
        self._by_path: dict[str, Config] = {}  # as asked: no stat per finding of a large scan
        self.errors: dict[str, ConfigError] = {}

    def for_path(self, path: str) -> Config:
        found = self._by_path.get(path)
        if found is not None:
            return found
        absolute = os.path.abspath(path)
        directory = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        found = self._by_directory.get(directory)
        if found is None:
            found = self._by_directory[directory] = self._lookup(directory)
        self._by_path[path] = found
        return found

    def distinct(self) -> list[Config]:
        """The configurations files have resolved to so far, each once (the default first)."""
        seen: dict[int, Config] = {id(self.default): self.default}
        for config in self._by_directory.values():
            seen.setdefault(id(config), config)
        return list(seen.values())

    def _lookup(self, directory: str) -> Config:
        if self._resolve is not None:
            return self._resolve(directory)
        path = find_config(directory)
        if path is None or (self.default.path and os.path.abspath(path) == os.path.abspath(self.default.path)):
            return self.default
        if path not in self._by_file:
            try:
                loaded = load_config_file(path).merged(self._select, self._ignore)
                self._by_file[path] = self._adjust(loaded) if self._adjust else loaded
            except ConfigError as exc:
                self.errors[path] = exc
                self._by_file[path] = self.default
        return self._by_file[path]
