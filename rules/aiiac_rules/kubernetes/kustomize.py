"""Kustomize resources the engine does not fetch (AIS004). The engine reports it while it builds
kustomizations; it is registered as a rule so it can be explained, selected, ignored and
re-scored."""

from __future__ import annotations

from aiiac_ls.rules import rule


@rule(id="AIS004", title="Remote kustomize resource not checked", severity="low", applies_to=(), source=None)
def remote_kustomize_resource(resource, ctx):
    """## What it does
    Flags an entry of a kustomization's `resources` or `components` that is a URL or a git
    address (`https://github.com/org/repo//config?ref=v1`, `github.com/org/repo`), and a
    `helmCharts` entry whose chart is not in the repository.

    ## Why is this bad?
    aiiac-ls never fetches anything: the objects such an entry adds to the build (an operator's
    Deployment, its RBAC, a model server's chart) are not checked, and neither are the patches
    the overlay applies to them. The build that is checked is not the one that ships.

    ## Example
    ```yaml
    resources:
      - https://github.com/kubernetes-sigs/jobset/releases/download/v0.8.0/manifests.yaml
    ```

    ## Fix
    Vendor the remote manifests into the repository (and refer to them by path), or accept the
    gap with a suppression comment giving the reason.
    """
    return ()
