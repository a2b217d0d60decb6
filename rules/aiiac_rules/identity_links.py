"""What ties a Kubernetes ServiceAccount to a cloud identity, read from both layers.

Terraform says which ServiceAccounts a cloud identity trusts: an IAM role's IRSA trust policy
(`system:serviceaccount:<ns>:<sa>` in a `...:sub` condition) or a GKE Workload Identity binding
(`roles/iam.workloadIdentityUser` for `serviceAccount:<project>.svc.id.goog[<ns>/<sa>]`).
Kubernetes says which identity a ServiceAccount asks for (its `eks.amazonaws.com/role-arn` or
`iam.gke.io/gcp-service-account` annotation) and which model servers run as it. Collected once
per scan into `Facts.identity`, so the rules in `terraform/cross_layer.py` can hold one side
against the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiiac_ls.model.nodes import Mapping, Node, Scalar, Sequence, Span, as_list, as_str
from aiiac_ls.model.resources import Resource

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"
_SUBJECT = re.compile(r"^system:serviceaccount:([^:]+):(.+)$")
_GKE_MEMBER = re.compile(r"^serviceAccount:[^\[]+\.svc\.id\.goog\[([^/\]]+)/([^\]]+)\]$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::[^:]*:role/(?:.*/)?([^/]+)$")


@dataclass(frozen=True)
class Place:
    address: str
    span: Span


@dataclass
class IdentityFacts:
    # (cloud, identity) -> (namespace, service account, where the trust is written) it trusts
    trusts: dict[tuple[str, str], list[tuple[str, str, Place]]] = field(default_factory=dict)
    # (cloud, identity) -> where Terraform defines it (the role, the Google service account)
    defined: dict[tuple[str, str], Place] = field(default_factory=dict)
    # (namespace, name) -> where the ServiceAccount is defined
    service_accounts: dict[tuple[str, str], Place] = field(default_factory=dict)
    # (namespace, name) -> [(cloud, identity, where the annotation is)]
    annotations: dict[tuple[str, str], list[tuple[str, str, Place]]] = field(default_factory=dict)
    # (namespace, name) -> model servers running as it
    model_servers: dict[tuple[str, str], list[Place]] = field(default_factory=dict)
    kubernetes_seen: bool = False

    def merged(self, later: IdentityFacts) -> IdentityFacts:
        result = IdentityFacts(kubernetes_seen=self.kubernetes_seen or later.kubernetes_seen)
        for facts in (self, later):
            for table in ("trusts", "annotations", "model_servers"):
                target = getattr(result, table)
                for key, items in getattr(facts, table).items():
                    target.setdefault(key, []).extend(items)
            for table in ("defined", "service_accounts"):
                getattr(result, table).update(getattr(facts, table))
        return result

    def trusted_by(self, namespace: str, name: str) -> list[tuple[str, str, Place]]:
        """(cloud, identity, trust place) of every identity that trusts this ServiceAccount."""
        found = []
        for (cloud, identity), subjects in self.trusts.items():
            for trusted_ns, trusted_sa, place in subjects:
                if _matches(trusted_ns, namespace) and _matches(trusted_sa, name):
                    found.append((cloud, identity, place))
        return found


def _matches(pattern: str, value: str) -> bool:
    """StringLike trusts may use `*` and `?`."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


def _strings(node: Node | None, depth: int = 0):
    if depth > 20 or node is None:
        return
    if isinstance(node, Scalar) and isinstance(node.value, str):
        yield node
    elif isinstance(node, Mapping):
        for child in node.entries.values():
            yield from _strings(child.value, depth + 1)
    elif isinstance(node, Sequence):
        for item in node.items:
            yield from _strings(item, depth + 1)


def collect_identity(resources: list[Resource]) -> IdentityFacts:
    from .kubernetes.context import _is_model_server
    from .kubernetes.workloads import WORKLOAD_KINDS, pod_specs

    facts = IdentityFacts()
    gsa_ids = {r.address: as_str(r.body.get("account_id")) for r in resources if r.kind == "google_service_account"}
    for resource in resources:
        if resource.kind == "aws_iam_role":
            role = as_str(resource.body.get("name")) or resource.name
            facts.defined[("aws", role)] = Place(resource.address, resource.head)
            document = resource.trust_policy
            for statement in as_list(document.get("Statement")) if document is not None else []:
                condition = statement.get("Condition") if isinstance(statement, Mapping) else None
                for value in _strings(condition):
                    match = _SUBJECT.match(value.value)
                    if match:
                        facts.trusts.setdefault(("aws", role), []).append(
                            (match.group(1), match.group(2), Place(resource.address, value.span or resource.head))
                        )
        elif resource.kind == "google_service_account":
            account = as_str(resource.body.get("account_id"))
            if account:
                facts.defined[("gcp", account)] = Place(resource.address, resource.head)
        elif resource.kind in ("google_service_account_iam_member", "google_service_account_iam_binding"):
            if as_str(resource.body.get("role")) != "roles/iam.workloadIdentityUser":
                continue
            target = resource.body.get("service_account_id")
            account = gsa_ids.get(target.ref.split("[")[0]) if target is not None and target.ref else None
            text = as_str(target)
            if account is None and text and "/serviceAccounts/" in text:
                account = text.rsplit("/", 1)[-1].split("@")[0]
            if not account:
                continue
            for member in _strings(resource.body.get("member") or resource.body.get("members")):
                match = _GKE_MEMBER.match(member.value)
                if match:
                    facts.trusts.setdefault(("gcp", account), []).append(
                        (match.group(1), match.group(2), Place(resource.address, member.span or resource.head))
                    )
        elif resource.source == "kubernetes":
            facts.kubernetes_seen = True
            namespace = resource.namespace or "default"
            if resource.kind == "ServiceAccount":
                facts.service_accounts[(namespace, resource.name)] = Place(resource.address, resource.head)
                annotations = resource.body.find("metadata.annotations")
                for key, cloud in ((IRSA_ANNOTATION, "aws"), (GKE_ANNOTATION, "gcp")):
                    value = annotations.get(key) if isinstance(annotations, Mapping) else None
                    text = as_str(value)
                    if not text:
                        continue
                    arn = _ROLE_ARN.match(text) if cloud == "aws" else None
                    identity = arn.group(1) if arn else text.split("@")[0] if cloud == "gcp" else None
                    if identity and value is not None:
                        facts.annotations.setdefault((namespace, resource.name), []).append(
                            (cloud, identity, Place(resource.address, value.span or resource.head))
                        )
            elif resource.kind in WORKLOAD_KINDS:
                for pod in pod_specs(resource):
                    account = as_str(pod.spec.get("serviceAccountName")) or as_str(pod.spec.get("serviceAccount"))
                    if account and _is_model_server(pod):
                        facts.model_servers.setdefault((namespace, account), []).append(
                            Place(resource.address, pod.entry.key_span or resource.head)
                        )
    return facts
