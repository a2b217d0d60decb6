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


def record_splits(monkeypatch) -> list[bool]:
    """For each two-process attempt of `--check -j 2` from now on, whether the worker's analysis
    was used (False: it was tried and the scan fell back to one process)."""
    from aiiac_ls import parallel

    made: list[bool] = []
    real = parallel.analyse_split

    def spy(*args):
        result = real(*args)
        made.append(result is not None)
        return result

    monkeypatch.setattr(parallel, "analyse_split", spy)
    return made
