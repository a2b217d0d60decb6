"""One uniform view of the things rules inspect: Kubernetes objects and Terraform blocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .nodes import Entry, Mapping, Node, Sequence, Span


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
