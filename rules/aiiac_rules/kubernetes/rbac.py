"""RBAC (AIS32x): what the service accounts of model servers and operators may do."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import Mapping, as_str, strings
from aiiac_ls.rules import rule

ROLES = frozenset({"Role", "ClusterRole"})
BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def _rules(resource):
    for item in resource.body.blocks("rules"):
        yield (
            item,
            [s.value for s in strings(item.get("verbs"))],
            strings(item.get("verbs")),
            strings(item.get("resources")),
            strings(item.get("apiGroups")),
        )


@rule(
    id="AIS320",
    title="RBAC rule with wildcards",
    severity="high",
    applies_to=ROLES,
    source="kubernetes",
    equivalents={"checkov": ["CKV_K8S_49"]},
    references=["https://kubernetes.io/docs/concepts/security/rbac-good-practices/"],
)
def rbac_wildcards(resource, ctx):
    """## What it does
    Flags Role and ClusterRole rules whose verbs or resources are `*`.

    ## Why is this bad?
    Wildcards grant today's and tomorrow's resources and verbs. An operator's or model server's
    service account with `*` can read every Secret (model-hub and cloud tokens), rewrite
    InferenceServices to load another model, and start pods on GPU nodes.

    ## Example
    ```yaml
    rules:
      - apiGroups: ["*"]
        resources: ["*"]
        verbs: ["*"]
    ```

    ## Fix
    List the resources and verbs the controller needs (its own CRDs, the pods it manages).
    """
    for _, _, verbs, resources, _ in _rules(resource):
        for node in [*verbs, *resources]:
            if node.value == "*":
                what = "verbs" if node in verbs else "resources"
                yield Hit(node, f"{resource.kind} `{resource.name}` grants all {what} (`*`)")


@rule(
    id="AIS321",
    title="RBAC rule reads Secrets",
    severity="high",
    applies_to=ROLES,
    source="kubernetes",
    equivalents={"trivy": ["KSV041"]},
    references=["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets"],
)
def rbac_secrets(resource, ctx):
    """## What it does
    Flags rules that allow `get`, `list` or `watch` on `secrets`.

    ## Why is this bad?
    `list` and `watch` return every Secret's content in the namespace (or the cluster, for a
    ClusterRole): Hugging Face tokens, object-store keys, database passwords of the feature store.
    A model server rarely needs any; a controller needs at most the named Secrets it mounts.

    ## Example
    ```yaml
    rules:
      - apiGroups: [""]
        resources: ["secrets"]
        verbs: ["get", "list"]
    ```

    ## Fix
    Mount the Secrets the workload needs instead, or restrict with `resourceNames`.
    """
    for item, verbs, _, resources, _ in _rules(resource):
        if item.get("resourceNames") is not None:
            continue
        for node in resources:
            if node.value == "secrets" and {"get", "list", "watch", "*"} & set(verbs):
                yield Hit(
                    node,
                    f"{resource.kind} `{resource.name}` can read every Secret "
                    f"({', '.join(v for v in verbs if v in ('get', 'list', 'watch', '*'))})",
                )


@rule(
    id="AIS322",
    title="RBAC rule allows exec into pods",
    severity="high",
    applies_to=ROLES,
    source="kubernetes",
    equivalents={"trivy": ["KSV053"]},
    references=["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation"],
)
def rbac_exec(resource, ctx):
    """## What it does
    Flags rules that allow `create` (or `*`) on `pods/exec` or `pods/attach`.

    ## Why is this bad?
    Exec into a model server is a shell next to the loaded weights and every credential mounted
    into the pod; a service account with this right turns any compromise of its workload into
    access to all model servers in scope.

    ## Example
    ```yaml
    rules:
      - resources: ["pods/exec"]
        verbs: ["create"]
    ```

    ## Fix
    Give exec to people through short-lived, audited roles, not to workload service accounts.
    """
    for _, verbs, _, resources, _ in _rules(resource):
        for node in resources:
            if node.value in ("pods/exec", "pods/attach") and {"create", "*"} & set(verbs):
                yield Hit(node, f"{resource.kind} `{resource.name}` can open a shell in pods ({node.value})")


@rule(
    id="AIS323",
    title="RBAC rule allows privilege escalation",
    severity="critical",
    applies_to=ROLES,
    source="kubernetes",
    references=[
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping"
    ],
)
def rbac_escalation(resource, ctx):
    """## What it does
    Flags rules with the `escalate`, `bind` or `impersonate` verbs.

    ## Why is this bad?
    These verbs exist to bypass RBAC's own escalation checks: `escalate` edits roles beyond the
    holder's rights, `bind` grants any role (cluster-admin included), `impersonate` acts as any
    user or service account. An ML operator holding them is a cluster-admin in waiting.

    ## Example
    ```yaml
    rules:
      - resources: ["clusterroles"]
        verbs: ["bind", "escalate"]
    ```

    ## Fix
    Remove the verbs; controllers that create bindings should bind only pre-defined roles named
    in `resourceNames`.
    """
    for item, _, verbs, _, _ in _rules(resource):
        if item.get("resourceNames") is not None:
            continue
        for node in verbs:
            if node.value in ("escalate", "bind", "impersonate"):
                yield Hit(node, f"{resource.kind} `{resource.name}` allows `{node.value}`")


@rule(
    id="AIS324",
    title="Binding to cluster-admin",
    severity="critical",
    applies_to=BINDINGS,
    source="kubernetes",
    references=["https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles"],
)
def cluster_admin_binding(resource, ctx):
    """## What it does
    Flags RoleBindings and ClusterRoleBindings whose `roleRef` is `cluster-admin`.

    ## Why is this bad?
    Installation guides for ML platforms often bind an operator or a notebook service account to
    cluster-admin "to make it work". Whoever controls that workload then controls the cluster:
    every model, dataset and credential, and every GPU node.

    ## Example
    ```yaml
    roleRef:
      kind: ClusterRole
      name: cluster-admin
    ```

    ## Fix
    Bind a role that lists what the subject needs; for a namespace, `edit` or a custom Role.
    """
    name = resource.body.find("roleRef.name")
    if as_str(name) == "cluster-admin":
        subjects = resource.body.get("subjects")
        who = ", ".join(
            f"{as_str(s.get('kind'))}/{as_str(s.get('name'))}"
            for s in (subjects.items if hasattr(subjects, "items") and isinstance(subjects.items, list) else [])
            if isinstance(s, Mapping)
        )
        yield Hit(name, f"binds cluster-admin to {who or 'its subjects'}")
