"""Secrets (AIS7xx): credentials written into the configuration itself."""

from __future__ import annotations

from aiiac_ls.model.findings import Hit
from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_str
from aiiac_ls.rules import rule
from aiiac_ls.secrets import credential_in


def _string_scalars(node, found: list[tuple[str, Scalar]], key: str = "", depth: int = 0) -> list[tuple[str, Scalar]]:
    """(the key, or the environment variable's name, it is written under; the scalar) of every
    string in `node`, in the order written. Filled in place: a generator per node cost as much as
    the checks."""
    if depth > 64:
        return found
    if isinstance(node, Mapping):
        for child_key, entry in node.entries.items():
            child = entry.value
            name = child_key
            if child_key == "value":  # Kubernetes env entries: {name: AWS_SECRET_ACCESS_KEY, value: ...}
                name = as_str(node.get("name")) or child_key
            if isinstance(child, Scalar):
                if depth < 64 and isinstance(child.value, str):
                    found.append((name, child))
            else:
                _string_scalars(child, found, name, depth + 1)
    elif isinstance(node, Sequence):
        for item in node.items:
            _string_scalars(item, found, key, depth + 1)
    elif isinstance(node, Scalar) and isinstance(node.value, str):
        found.append((key, node))
    return found


@rule(
    id="AIS701",
    finds_secrets=True,
    title="Credential written in configuration",
    severity="critical",
    source=None,
    equivalents={"checkov": ["CKV_SECRET_2"], "kube-linter": ["env-var-secret"]},
    references=[
        "https://huggingface.co/docs/hub/security-tokens",
        "https://kubernetes.io/docs/concepts/configuration/secret/",
    ],
)
def literal_credential(resource, ctx):
    """## What it does
    Flags literal model-hub and cloud credentials in configuration values: Hugging Face tokens
    (`hf_...`), OpenAI and Anthropic keys (`sk-...`), AWS access key IDs (`AKIA...`) and secret
    keys, GitHub, Google and Replicate tokens, in container `env`, arguments, ConfigMaps, Secret
    manifests and Terraform attributes. The value is masked in every output.

    ## Why is this bad?
    A token in a manifest or `.tf` file is in git history, CI logs, rendered Helm output and
    every clone. A Hugging Face write token lets its holder replace the model your servers pull
    (weight poisoning) or read your private models; an OpenAI key is spent at your cost; an AWS
    key usually reaches the model-artifact bucket directly.

    ## Example
    ```yaml
    env:
      - name: HF_TOKEN
        value: hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789
    ```

    Use instead:
    ```yaml
    env:
      - name: HF_TOKEN
        valueFrom:
          secretKeyRef: {name: hf-token, key: token}
    ```

    ## Fix
    Revoke the credential first: it is already leaked. Then load it from a Secret
    (`valueFrom.secretKeyRef`), an external secret store, or workload identity (IRSA / GKE
    Workload Identity) instead of static cloud keys.
    """
    if resource.credential_free:  # read from YAML text that holds nothing the walk could find
        return
    seen: set = set()
    for key, scalar in _string_scalars(resource.body, []):
        if scalar.span is None or scalar.span in seen:
            continue
        found = credential_in(key, scalar.value)
        if found is None:
            continue
        seen.add(scalar.span)
        label, masked = found
        where = f" in `{key}`" if key else ""
        yield Hit(scalar, f"{label} written in plain text{where} ({masked})", redact=True)
