"""One uniform view of the things rules inspect: Kubernetes objects and Terraform blocks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .nodes import Entry, Mapping, Node, Sequence, Span


@dataclass(eq=False)
class CallSite:
    """How a Terraform module instance was called. A finding inside it goes where the user can
    change it: the caller's input that decided it, or this call's block when the module's code
    (installed, not the user's) or one of its variable defaults decided it."""

    address: str  # module.model_store, module.gpu["a100"]
    head: Span  # the module block's header, in the caller's file
    block: Mapping  # the module block as evaluated in the caller (a fix adds an input to it)
    module_dir: str  # display path of the module's folder
    installed: bool  # from `terraform init` or a module folder: never edited
    defaults: dict[Span, str]  # a variable default's expression -> the variable's name
    parent: CallSite | None = None  # the call site of the caller, when it is itself a module
    # resource types the module chose not to create (`count = 0`, an empty `for_each`) -> that
    # count or for_each value: a finding about a missing companion follows what decided it
    skipped: dict[str, Node] = field(default_factory=dict)

    def contains(self, file: str) -> bool:
        """Whether `file` (a display path) is one of the module's own files."""
        return os.path.dirname(file) == self.module_dir.rstrip(os.sep)

    def chain(self) -> list[CallSite]:
        """This call site and its callers', innermost first."""
        sites: list[CallSite] = []
        site: CallSite | None = self
        while site is not None and len(sites) < 64:
            sites.append(site)
            site = site.parent
        return sites


@dataclass(eq=False)
class Resource:
    """A Kubernetes object or a Terraform resource/data/provider block.

    `kind` is the Kubernetes Kind (``Deployment``) or the Terraform type (``aws_s3_bucket``);
    `address` is what reports print: ``Deployment/ns/name`` or ``module.m.aws_s3_bucket.models``.
    `body` is the positioned value tree: the whole object for Kubernetes, the evaluated block
    body for Terraform.
    """

    source: str  # "kubernetes" | "terraform"
    kind: str
    name: str
    address: str
    file: str
    body: Mapping
    span: Span
    head: Span
    namespace: str | None = None
    block_type: str = ""  # Terraform: resource | data | provider
    module: str = ""  # Terraform module path of the instance ("" for a root module)
    labels: dict[str, str] = field(default_factory=dict)
    # the body was rebuilt in another schema's spelling (a kubernetes_* Terraform resource seen as
    # the Kubernetes object): only value replacements can be written back as fixes
    translated: bool = False
    plan: bool = False  # from a Terraform plan JSON: its values are not text to edit, no fixes
    # IAM policy documents, decoded when the resource is loaded (formats/providers.py): its
    # policies (a `policy` attribute, a role's inline policies, a rendered policy document) and
    # a role's trust policy
    policies: tuple[Mapping, ...] = ()
    trust_policy: Mapping | None = None
    site: CallSite | None = None  # Terraform: how its module instance was called (None: a root module)
    built_by: str | None = None  # the kustomization (folder, as displayed) whose build produced it
    # read, as it stands, from YAML text in which `secrets.could_hold_credential` finds nothing:
    # the credential check need not walk its strings (a third of the rules' time on a large scan)
    credential_free: bool = False
    # Helm: a string the chart built from several pieces -> (start, end, the values node that wrote
    # those characters, or None for template text), by id of the string's node
    pieces: dict[int, tuple[tuple[int, int, Node | None], ...]] = field(default_factory=dict)
    # what the rule pack derives from the resource alone (its pod specs, the model stores it
    # names), computed once per resource object (the editor keeps unchanged resources across
    # keystrokes); `memo` is not part of the resource's value
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def ancestors(self, target: Node) -> list[tuple[Entry | None, Node]]:
        """The chain of (entry, node) from the body down to `target` (inclusive), or []."""
        path: list[tuple[Entry | None, Node]] = []

        def visit(node: Node, entry: Entry | None, depth: int) -> bool:
            if depth > 64:
                return False
            path.append((entry, node))
            if node is target:
                return True
            if isinstance(node, Mapping):
                for child in node.entries.values():
                    if visit(child.value, child, depth + 1):
                        return True
            elif isinstance(node, Sequence):
                for item in node.items:
                    if visit(item, None, depth + 1):
                        return True
            path.pop()
            return False

        return path if visit(self.body, None, 0) else []

    def walk(self) -> Iterator[Node]:
        return self.body.walk()


def k8s_address(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
