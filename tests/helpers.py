"""Shared helpers: run the engine on fixture folders and read inline expectations."""

from __future__ import annotations

import os
import re
from pathlib import Path

from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# `# expect: AIS101` on the finding's line; `@N` adds the 1-based column; `expect+K` means K lines below
EXPECT = re.compile(r"expect([+-]\d+)?:\s*((?:AIS\d{3}(?:@\d+)?\s*,?\s*)+)")


def expectations(folder: Path) -> set[tuple[str, str, int, int | None]]:
    """(file, rule, 1-based line, 1-based column or None) for every annotation in `folder`."""
    found = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in EXPECT.finditer(line):
                offset = int(match.group(1) or 0)
                for item in re.findall(r"AIS\d{3}(?:@\d+)?", match.group(2)):
                    rule, _, col = item.partition("@")
                    found.add((os.path.relpath(path), rule, number + offset, int(col) if col else None))
    return found


def run(paths, select=None, **config) -> Analysis:  # noqa: F821
    settings = Config(select=tuple(select or ()), **config)
    return Engine(settings).analyse_paths([str(p) for p in paths])

