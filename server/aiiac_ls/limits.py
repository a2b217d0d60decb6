"""Bounds on the work one hostile or broken file can cause, set in `[tool.aiiac.limits]`.

Each limit, when hit, turns into a problem on the file that hit it ("file too large", "alias
bomb?", "more than N range iterations") and the rest of the scan goes on. The defaults leave
room for the largest real inputs measured (a 25k-line CRD is ~60k YAML nodes; the biggest corpus
chart renders in 0.3 s) and stop an alias bomb or an endless `range` within a second or so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 10.0  # a file larger than this is reported, not read
    yaml_max_nodes: int = 400_000  # per document, after alias expansion
    yaml_max_depth: int = 200  # nesting of mappings and sequences
    template_max_depth: int = 64  # nested include / template / tpl calls
    template_max_iterations: int = 100_000  # `range` iterations per chart render
    template_max_output_mb: float = 8.0  # rendered text per template file
    template_timeout_seconds: float = 10.0  # per chart render
    chart_max_files: int = 5000  # files read from one chart folder or archive
    chart_max_mb: float = 64.0  # bytes read from one chart
    chart_max_file_mb: float = 16.0  # one file inside a chart (real CRD charts run to several MiB)
    rego_timeout_seconds: float = 30.0  # Rego evaluation of one analysis (a runaway policy is stopped)

    @property
    def max_file_bytes(self) -> int:
        return round(self.max_file_mb * MIB)


DEFAULT_LIMITS = Limits()

# the TOML key of each limit: `max_file_mb` is written `max-file-mb`
KEYS = {f.name.replace("_", "-"): f.name for f in fields(Limits)}
