"""The rule framework: metadata, documentation and a pure check, declared in one place.

A rule is a function decorated with `@rule(...)`. Its docstring is its documentation, in the
style of ruff's rule pages (`## What it does`, `## Why is this bad?`, `## Example`, `## Fix`);
hover, `--explain` and the generated docs all read it. The check receives one resource and the
read-only context and yields `Hit`s; it never sees text, files or the LSP.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .model.findings import SEVERITIES, Hit
from .model.nodes import Scalar
from .model.resources import Resource

DOCS_URL = "https://github.com/aiiac-ls/aiiac-ls/blob/main/docs/rules/{id}.md"
_ID = re.compile(r"^AIS\d{3}$")
# any rule id, ours (AIS101) or a custom rule's (ORG001, REGO-MAIN): suppressions, expectations
RULE_ID_PATTERN = r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*"
EQUIVALENT_TOOLS = ("checkov", "trivy", "kics", "kube-linter", "tfsec")
T = TypeVar("T")
EVERYTHING = "*"  # a check read the whole scope (RuleContext.reads)
FACTS = "facts"  # a check read the scan-wide facts


def base_address(address: str) -> str:
    """`module.m.aws_s3_bucket.b[0]` -> `module.m.aws_s3_bucket.b`: references carry no instance key."""
    return address.split("[", 1)[0]


class RuleContext:
    """What a check may read besides its resource: its neighbours and scan-wide facts.

    Rules ask the context and never scan the scope: every look-up is an index built once, on
    first use, for the whole analysis, so a rule that consults its neighbours costs O(1) per
    resource and an analysis stays linear in the size of the scope. Look-ups the rule pack needs
    beyond these (companions of a bucket, workloads by ServiceAccount) are built with `index`."""

    def __init__(self, scope: list[Resource], facts: object, settings: object):
        self._scope = scope
        self._facts = facts
        self.settings = settings  # aiiac_ls.config.Config
        # what the running check has read of its neighbours: resource kinds, or EVERYTHING (an
        # editor reuses a check's hits while its resource and all it read are unchanged)
        self.reads: set[str] | None = None
        self._index_reads: dict[Callable, set[str]] = {}
        self._by_kind: dict[str, list[Resource]] | None = None
        self._by_namespace: dict[tuple[str, str | None], list[Resource]] | None = None
        self._by_name: dict[tuple[str, str | None, str], Resource] | None = None
        self._referrers: dict[str, list[Resource]] | None = None
        self._by_address: dict[str, list[Resource]] | None = None
        self._indexes: dict[Callable, object] = {}

    @property
    def scope(self) -> list[Resource]:
        """Every resource of the scope: same Terraform module instance, or all Kubernetes objects
        of the scan. Prefer the look-ups below (reading the scope depends on all of it)."""
        self._read(EVERYTHING)
        return self._scope

    @property
    def facts(self) -> Any:
        """The scan-wide facts of the rule pack (`Facts`): which buckets hold models, which
        ServiceAccounts cloud identities trust."""
        self._read(FACTS)
        return self._facts

    def _read(self, *kinds: str) -> None:
        if self.reads is not None:
            self.reads.update(kinds)

    def kinds(self) -> dict[str, list[Resource]]:
        """The scope by kind (what `of_kind` reads), for the engine to compare analyses."""
        self.of_kind()
        assert self._by_kind is not None
        return self._by_kind

    def of_kind(self, *kinds: str) -> list[Resource]:
        """The resources of these kinds (Kubernetes Kinds or Terraform types), in scope order
        (the index's own list for one kind: read it, never change it)."""
        self._read(*kinds)
        if self._by_kind is None:
            self._by_kind = {}
            for resource in self._scope:
                self._by_kind.setdefault(resource.kind, []).append(resource)
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], [])
        return [resource for kind in kinds for resource in self._by_kind.get(kind, ())]

    def in_namespace(self, namespace: str | None, *kinds: str) -> list[Resource]:
        """The Kubernetes objects of these kinds in `namespace` (None: no namespace written)."""
        self._read(*kinds)
        if self._by_namespace is None:
            self._by_namespace = {}
            for resource in self._scope:
                self._by_namespace.setdefault((resource.kind, resource.namespace), []).append(resource)
        return [resource for kind in kinds for resource in self._by_namespace.get((kind, namespace), ())]

    def named(self, kind: str, name: str | None, namespace: str | None = None) -> Resource | None:
        """The resource of `kind` with this name (and namespace); the last one if repeated, as
        applying the files would leave it."""
        self._read(kind)
        if self._by_name is None:
            self._by_name = {}
            for resource in self._scope:
                self._by_name[(resource.kind, resource.namespace, resource.name)] = resource
        return self._by_name.get((kind, namespace, name)) if name is not None else None

    def at(self, address: str) -> list[Resource]:
        """Terraform: the instances of the resource at `address` (an instance key is ignored)."""
        self._read(EVERYTHING)  # any kind may live at an address
        if self._by_address is None:
            self._by_address = {}
            for resource in self._scope:
                self._by_address.setdefault(base_address(resource.address), []).append(resource)
        return self._by_address.get(base_address(address), [])

    def referrers(self, address: str, *kinds: str) -> list[Resource]:
        """Terraform: the resources (of these kinds, or any) with a value read from `address`
        (`aws_s3_bucket.models`, without an instance key). The reference graph is built once."""
        self._read(*(kinds or (EVERYTHING,)))
        if self._referrers is None:
            self._referrers = {}
            for resource in self._scope:
                for target in {node.ref for node in resource.body.walk() if node.ref}:
                    self._referrers.setdefault(target, []).append(resource)
        found = self._referrers.get(base_address(address), [])
        return [resource for resource in found if resource.kind in kinds] if kinds else found

    def index(self, build: Callable[[RuleContext], T]) -> T:
        """`build(self)`, built once per analysis and shared by every rule that asks for it; a
        check that asks has read what the build read."""
        built = self._indexes.get(build, _NOT_BUILT)
        if built is _NOT_BUILT:
            outer, self.reads = self.reads, set()
            try:
                built = self._indexes[build] = build(self)
            finally:
                self._index_reads[build], self.reads = self.reads, outer
        if self.reads is not None:  # (inline: asked by a dozen rules of every workload)
            self.reads.update(self._index_reads[build])
        return built  # type: ignore[return-value]


def api_group(resource: Resource) -> str:
    """The API group of a Kubernetes object (`serving.knative.dev`; "" for the core group)."""
    api_version = resource.body.get("apiVersion")
    text = api_version.value if isinstance(api_version, Scalar) and isinstance(api_version.value, str) else ""
    return text.rpartition("/")[0]


def bare_kind(kind: str) -> str:
    """`Service` of `serving.knative.dev/Service` (a kind named with its API group)."""
    return kind.rpartition("/")[2]


_NOT_BUILT = object()
Check = Callable[[Resource, RuleContext], Iterable[Hit]]


@dataclass
class Rule:
    id: str
    title: str
    severity: str
    # resource kinds; None means every resource of `source`. A kind that several API groups use
    # may be named with the group meant (`serving.knative.dev/Service`): a core Service is not it
    applies_to: frozenset[str] | None
    source: str | None  # "kubernetes" | "terraform" | None for both
    check: Check
    docs: str
    equivalents: dict[str, list[str]]
    references: tuple[str, ...] = ()
    fixable: bool = False
    # why its fix can stop a working system (empty: the fix is safe): `--fix` applies it only with
    # `--unsafe-fixes`, the editor marks it and leaves it out of fix-all
    unsafe_fix: str = ""
    name: str = ""
    finds_secrets: bool = False  # its hits are credentials: run for masking even when switched off
    origin: str = ""  # custom rules: the policy file that defines it
    # rules whose findings say the same and more: this rule's finding on a resource is left out
    # when one of theirs is reported on it, and those findings take this rule's equivalents
    redundant_with: tuple[str, ...] = ()
    # framework -> the controls it helps meet (`owasp-llm`: LLM03, `atlas`, `cis-k8s`,
    # `nist-800-53`); set by the rule pack, selectable as `owasp-llm:LLM03`
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def compliance_tags(self) -> list[str]:
        """`framework:control` for each control (SARIF tags, selectors)."""
        return [f"{framework}:{control}" for framework, controls in self.compliance.items() for control in controls]

    @property
    def custom(self) -> bool:
        return bool(self.origin)

    def section(self, heading: str) -> str:
        match = re.search(rf"^## {re.escape(heading)}\s*\n(.*?)(?=^## |\Z)", self.docs, re.S | re.M)
        return match.group(1).strip() if match else ""

    @property
    def rationale(self) -> str:
        return self.section("Why is this bad?")

    @property
    def remediation(self) -> str:
        return self.section("Fix")

    @property
    def summary(self) -> str:
        return self.section("What it does")

    @property
    def url(self) -> str:
        if self.origin:
            from pathlib import Path

            return Path(self.origin).resolve().as_uri()
        return DOCS_URL.format(id=self.id)

    def applies(self, resource: Resource, kind: str | None = None) -> bool:
        """Whether it checks `resource`, taken as a `kind` object when given (`rule_kind`)."""
        if self.source is not None and resource.source != self.source:
            return False
        if self.applies_to is None:
            return True
        kind = kind or resource.kind
        return kind in self.applies_to or f"{api_group(resource)}/{kind}" in self.applies_to

    def markdown(self) -> str:
        """The full documentation page."""
        lines = [
            f"# {self.id}: {self.title}",
            "",
            f"Severity: **{self.severity}** · Applies to: {', '.join(sorted(self.applies_to or ['all']))}"
            + (" · Fix available" if self.fixable else ""),
            "",
            self.docs.strip(),
            "",
        ]
        if self.fixable:
            safety = (
                f"The fix is **unsafe**: {self.unsafe_fix}. `--fix` applies it only with `--unsafe-fixes`; "
                "the editor offers it marked (unsafe) and leaves it out of fix-all."
                if self.unsafe_fix
                else "The fix is **safe**: it does not stop a workload or cut off access. `--fix` applies it."
            )
            lines += ["## Fix safety", "", safety, ""]
        equivalents = [f"- {tool}: {', '.join(ids)}" for tool, ids in self.equivalents.items() if ids]
        if equivalents:
            lines += ["## Equivalent checks", "", *equivalents, ""]
        if self.compliance:
            lines += [
                "## Compliance",
                "",
                *[f"- {framework}: {', '.join(controls)}" for framework, controls in self.compliance.items()],
                "",
            ]
        if self.references:
            lines += ["## References", "", *[f"- <{ref}>" for ref in self.references], ""]
        return "\n".join(lines)


_REGISTRY: dict[str, Rule] = {}
_CUSTOM: dict[str, Rule] = {}  # the user's Rego and YAML rules, as last loaded (policy/)


def rule(
    id: str,
    title: str,
    severity: str,
    applies_to: Iterable[str] | None = None,
    source: str | None = None,
    equivalents: dict[str, list[str]] | None = None,
    references: Iterable[str] = (),
    fixable: bool = False,
    finds_secrets: bool = False,
    unsafe_fix: str = "",
    redundant_with: Iterable[str] = (),
) -> Callable[[Check], Rule]:
    """Declare a rule; the decorated function is its check and its docstring its documentation."""
    if not _ID.match(id):
        raise ValueError(f"rule id {id!r} must look like AIS123")
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: severity must be one of {SEVERITIES}")
    unknown_tools = set(equivalents or {}) - set(EQUIVALENT_TOOLS)
    if unknown_tools:
        raise ValueError(f"{id}: unknown equivalent tools {sorted(unknown_tools)}")

    def register(check: Check) -> Rule:
        if id in _REGISTRY:
            raise ValueError(f"duplicate rule id {id}")
        docs = inspect.cleandoc(check.__doc__ or "")
        for heading in ("What it does", "Why is this bad?", "Fix"):
            if f"## {heading}" not in docs:
                raise ValueError(f"{id}: documentation lacks a '## {heading}' section")
        created = Rule(
            id=id,
            title=title,
            severity=severity,
            applies_to=frozenset(applies_to) if applies_to is not None else None,
            source=source,
            check=check,
            docs=docs,
            equivalents={tool: list((equivalents or {}).get(tool, [])) for tool in EQUIVALENT_TOOLS},
            references=tuple(references),
            fixable=fixable,
            unsafe_fix=unsafe_fix,
            redundant_with=tuple(redundant_with),
            name=check.__name__,
            finds_secrets=finds_secrets,
        )
        _REGISTRY[id] = created
        return created

    return register


class Facts(Protocol):
    """What a rule pack knows across the whole scan (which buckets hold models, which
    ServiceAccounts cloud identities trust), collected from every resource before the rules run.
    The engine only merges facts (the editor adds what other folders say), compares them (to
    re-check other folders), and sends them between processes (they must pickle)."""

    def merged(self, later: Any) -> Any:
        """These facts, then `later`'s: what one scan of both sets of resources would collect."""
        ...


class _NoFacts:
    """The facts when no installed rule pack collects any."""

    def merged(self, later: Any) -> Any:
        return later

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NoFacts)

    def __hash__(self) -> int:
        return 0


@dataclass(frozen=True)
class RulePack:
    """A set of rules, found through the `aiiac_ls.rule_packs` entry point: loading the entry
    point imports the pack, whose `@rule` functions register themselves. One pack may also
    collect the scan-wide facts its rules read (`ctx.facts`); the bundled pack does."""

    name: str
    collect_facts: Callable[[list[Resource], Any], Facts] | None = None
    # for an object of a kind no rule names, the kind whose rules check it (the bundled pack
    # checks a custom resource that holds a pod template as a workload); None: no rules
    rule_kind: Callable[[Resource], str | None] | None = None


RULE_PACK_GROUP = "aiiac_ls.rule_packs"
_PACKS: list[RulePack] = []


def rule_packs() -> list[RulePack]:
    """The installed rule packs (`[project.entry-points."aiiac_ls.rule_packs"]`), loaded once."""
    if not _PACKS:
        from importlib.metadata import entry_points

        found = sorted(entry_points(group=RULE_PACK_GROUP), key=lambda point: point.name)
        if not found:
            raise RuntimeError(f"no rule pack is installed (entry point group `{RULE_PACK_GROUP}`): reinstall aiiac-ls")
        for point in found:
            pack = point.load()
            if not isinstance(pack, RulePack):
                raise RuntimeError(f"entry point {point.name} = {point.value} is not a RulePack")
            _PACKS.append(pack)
    return _PACKS


def collect_facts(resources: list[Resource], settings: Any) -> Facts:
    """The scan-wide facts of `resources`, from the first rule pack that collects facts."""
    for pack in rule_packs():
        if pack.collect_facts is not None:
            return pack.collect_facts(resources, settings)
    return _NoFacts()


def rule_kind(resource: Resource) -> str | None:
    """The kind whose rules check `resource`, when no rule names its own (`RulePack.rule_kind`)."""
    for pack in rule_packs():
        if pack.rule_kind is not None:
            found = pack.rule_kind(resource)
            if found:
                return found
    return None


# the frameworks rules are mapped to (`Rule.compliance`), by selector prefix (`owasp-llm:LLM03`)
COMPLIANCE_FRAMEWORKS = {
    "owasp-llm": "OWASP Top 10 for LLM Applications 2025",
    "atlas": "MITRE ATLAS",
    "cis-k8s": "CIS Kubernetes Benchmark v1.9",
    "nist-800-53": "NIST SP 800-53 rev. 5",
}


def registered_rules() -> list[Rule]:
    """The rules registered so far, without loading the rule packs (for a pack, while it loads)."""
    return list(_REGISTRY.values())


def selector_rules(selector: str) -> frozenset[str] | None:
    """The rules a `framework:control` selector names (`owasp-llm:LLM03`, `cis-k8s:5.2` for every
    5.2.x, `atlas:AML.T0010` with its sub-techniques); None for a plain rule-ID prefix."""
    if ":" not in selector:
        return None
    framework, _, control = selector.partition(":")
    framework, control = framework.strip().lower(), control.strip().upper()
    return frozenset(
        rule.id
        for rule in all_rules()
        for found in rule.compliance.get(framework, ())
        if found.upper() == control or found.upper().startswith(control + ".")
    )


def expand_selectors(items: Iterable[str]) -> tuple[str, ...]:
    """Selectors with each `framework:control` replaced by the IDs of its rules (one that names
    none stays, and matches nothing)."""
    expanded: list[str] = []
    for item in items:
        found = selector_rules(item)
        expanded.extend(sorted(found) if found else [item])
    return tuple(expanded)


def all_rules() -> list[Rule]:
    """Every registered rule of the installed rule packs."""
    rule_packs()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def get_rule(rule_id: str) -> Rule | None:
    rule_packs()  # loaded once; no sorted list built for a look-up
    return _REGISTRY.get(rule_id.upper()) or _CUSTOM.get(rule_id.upper())


def register_custom(rule: Rule) -> None:
    """Make a custom rule known to hovers, `--explain` and suppression checks."""
    _CUSTOM[rule.id] = rule
