"""Baselines: accept today's findings, fail only on new ones.

A baseline file lists fingerprints (`report.fingerprints`: rule, resource, file and the
normalised line, never a line number), so it keeps matching while unrelated edits move code
around. Matching counts: two baselined findings with one fingerprint cover two findings.
"""

from __future__ import annotations

import json
from collections import Counter

from .. import __version__
from ..model.findings import Finding
from . import fingerprints

FORMAT_VERSION = 1


class BaselineError(Exception):
    pass


def baseline_json(findings: list[Finding], sources: dict) -> str:
    entries = [
        {
            "fingerprint": print_,
            "rule": finding.rule,
            "file": finding.file,
            "line": finding.span.start_line + 1,
            "resource": finding.resource,
            "message": finding.message,
        }
        for finding, print_ in zip(findings, fingerprints(findings, sources), strict=True)
    ]
    return (
        json.dumps(
            {"aiiac-baseline": FORMAT_VERSION, "tool-version": __version__, "findings": entries},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def load_baseline(path: str) -> Counter:
    """The fingerprints of a baseline file, with their counts."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("aiiac-baseline") != FORMAT_VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise BaselineError(
            f"baseline {path} is not an aiiac-ls baseline (version {FORMAT_VERSION}); write one with --write-baseline"
        )
    return Counter(entry.get("fingerprint") for entry in data["findings"] if isinstance(entry, dict))


def split_new(findings: list[Finding], sources: dict, baseline: Counter) -> tuple[list[Finding], list[Finding]]:
    """(new, baselined): each baseline entry absorbs one matching finding."""
    remaining = Counter(baseline)
    new, known = [], []
    for finding, print_ in zip(findings, fingerprints(findings, sources), strict=True):
        if remaining[print_] > 0:
            remaining[print_] -= 1
            known.append(finding)
        else:
            new.append(finding)
    return new, known
