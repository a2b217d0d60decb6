"""Generate docs/rules/*.md and the README rule table from the rule registry.

    python -m aiiac_ls.docs_gen [--check]

`--check` exits 1 when the committed files differ from what the registry generates (the test
suite runs it, so documentation cannot drift from the rules).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .rules import all_rules

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


_ENGINE_REPORTED = {
    "AIS003": "module calls",
    "AIS004": "kustomizations",
    "AIS005": "charts",
    "AIS006": "Argo CD and Flux releases",
    "AIS007": "module calls",
}


def rule_table() -> str:
    rows = ["| ID | Title | Severity | Applies to | Fix |", "|---|---|---|---|---|"]
    for rule in all_rules():
        kinds = ", ".join(sorted(rule.applies_to)) if rule.applies_to else "any resource"
        if rule.applies_to is not None and not rule.applies_to:  # reported by the engine itself
            kinds = _ENGINE_REPORTED.get(rule.id, "suppression comments")
        if len(kinds) > 70:
            kinds = kinds[:67] + "..."
        rows.append(
            f"| [{rule.id}](docs/rules/{rule.id}.md) | {rule.title} | {rule.severity} | {kinds} "
            f"| {'yes' if rule.fixable else ''} |"
        )
    return "\n".join(rows)


def expected_files() -> dict[Path, str]:
    files = {ROOT / "docs" / "rules" / f"{rule.id}.md": rule.markdown() for rule in all_rules()}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    files[ROOT / "README.md"] = readme[:start] + "\n" + rule_table() + "\n" + readme[end:]
    return files


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for path, text in expected_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print("out of date (run `make docs`): " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
