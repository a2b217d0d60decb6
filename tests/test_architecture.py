"""The layering of docs/architecture.md, checked on the source: which part may import which, no
import cycles, and the rule pack found through its entry point, never imported by the engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"aiiac_ls": ROOT / "server" / "aiiac_ls", "aiiac_rules": ROOT / "rules" / "aiiac_rules"}

# part -> the parts it may import (besides itself); a part is `aiiac_ls.<first name>` or aiiac_rules
MAY_IMPORT = {
    "aiiac_ls.model": {"aiiac_ls.secrets"},
    "aiiac_ls.rules": {"aiiac_ls.model"},
    "aiiac_ls.limits": set(),
    "aiiac_ls.secrets": set(),
    "aiiac_ls.config": {"aiiac_ls.limits", "aiiac_ls.model"},
    "aiiac_ls.formats": {"aiiac_ls.limits", "aiiac_ls.model", "aiiac_ls.secrets"},
    "aiiac_ls.suppress": {"aiiac_ls.model", "aiiac_ls.rules"},
    "aiiac_ls.fixes": {"aiiac_ls.formats", "aiiac_ls.model"},
    "aiiac_ls.engine": {
        "aiiac_ls.config",
        "aiiac_ls.formats",
        "aiiac_ls.limits",
        "aiiac_ls.model",
        "aiiac_ls.policy",
        "aiiac_ls.rules",
        "aiiac_ls.suppress",
    },
    "aiiac_ls.parallel": {"aiiac_ls.engine", "aiiac_ls.model", "aiiac_ls.rules"},
    "aiiac_ls.blast": {"aiiac_ls.config", "aiiac_ls.engine", "aiiac_ls.model", "aiiac_ls.policy", "aiiac_ls.report"},
    "aiiac_ls.workspace": {"aiiac_ls.config", "aiiac_ls.engine", "aiiac_ls.formats", "aiiac_ls.rules"},
    "aiiac_rules": {"aiiac_ls.model", "aiiac_ls.rules", "aiiac_ls.secrets"},
}
# the front ends and the pieces only they use may import anything but each other's insides
FRONT_ENDS = {"aiiac_ls.cli", "aiiac_ls.lsp", "aiiac_ls.__main__"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            name = ".".join([package, *path.relative_to(folder).with_suffix("").parts])
            found[name.removesuffix(".__init__")] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (annotations only, never imported)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                pending.extend(child.orelse)
                continue
            pending.append(child)


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports when it runs, at the top or inside functions."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def _part(module: str) -> str:
    return "aiiac_rules" if module.startswith("aiiac_rules") else ".".join(module.split(".")[:2])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles():
    assert _cycles(_imports(_modules())) == []


def test_each_part_imports_only_the_parts_below_it():
    graph = _imports(_modules())
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if _part(module) in MAY_IMPORT
        and _part(target) != _part(module)
        and _part(target) not in MAY_IMPORT[_part(module)]
    )
    assert wrong == []
    front = sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if _part(target) in FRONT_ENDS and _part(module) not in FRONT_ENDS
    )
    assert front == []  # nothing below the front ends imports them


def test_the_engine_finds_the_rule_pack_through_its_entry_point():
    """Loading the engine, the language server and the CLI imports no rule; the first use of
    the rules loads the pack named by the `aiiac_ls.rule_packs` entry point."""
    code = (
        "import sys, aiiac_ls.engine, aiiac_ls.lsp.server, aiiac_ls.cli\n"
        "assert not [m for m in sys.modules if m.startswith('aiiac_rules')], 'imported early'\n"
        "from aiiac_ls.rules import all_rules, rule_packs\n"
        "print([pack.name for pack in rule_packs()], len(all_rules()) > 100)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['aiiac'] True"
