"""Shared helpers: run the engine on fixture folders and read inline expectations."""

from __future__ import annotations

from pathlib import Path

from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def expectations(folder: Path) -> set[tuple[str, str, int, int | None]]:
    """(file, rule, 1-based line, 1-based column or None) for every `# expect:` annotation."""
    from aiiac_ls.expectations import expectations as read

    return read(str(folder))


def run(paths, select=None, **config) -> Analysis:  # noqa: F821
    settings = Config(select=tuple(select or ()), **config)
    return Engine(settings).analyse_paths([str(p) for p in paths])

