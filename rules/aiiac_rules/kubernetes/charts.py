"""Helm charts whose dependencies are not vendored (AIS005). The engine reports it while it
renders charts; it is registered as a rule so it can be explained, selected, ignored and
re-scored."""

from __future__ import annotations

from aiiac_ls.rules import rule


@rule(id="AIS005", title="Chart dependencies not vendored", severity="low", applies_to=(), source=None)
def chart_dependencies_not_vendored(resource, ctx):
    """## What it does
    Flags a chart whose `Chart.yaml` (or `requirements.yaml`) declares dependencies that are not
    in its `charts/` folder: an umbrella chart checked out without `helm dependency build`.

    ## Why is this bad?
    The subcharts (a database, a model server, a shared `common` library) are not rendered, so
    the objects they deploy are not checked; aiiac-ls never downloads charts. The parent chart is
    still rendered, with what the missing charts would define left empty, so its own objects are
    checked.

    ## Example
    ```yaml
    dependencies:
      - name: postgresql
        version: 15.x.x
        repository: oci://registry-1.docker.io/bitnamicharts
    ```

    ## Fix
    Run `helm dependency build` before scanning (the `.tgz` files in `charts/` are read in
    memory), or vendor the charts.
    """
    return ()


@rule(id="AIS006", title="GitOps release of a chart not in the repository", severity="low", applies_to=(), source=None)
def remote_chart_release(resource, ctx):
    """## What it does
    Flags an Argo CD `Application` or Flux `HelmRelease` that deploys a chart from a Helm or OCI
    repository, or from another git repository: a chart aiiac-ls cannot render, because it never
    fetches anything.

    ## Why is this bad?
    What the release deploys (a model server, an operator, its RBAC) and the values the
    release gives it are not checked. A chart in this repository would be rendered with the
    release's values, and its findings reported on the release's lines.

    ## Example
    ```yaml
    spec:
      source:
        repoURL: https://helm.ngc.nvidia.com/nvidia
        chart: gpu-operator
    ```

    ## Fix
    Vendor the chart into the repository (and point the release at its path), or scan the
    chart's repository with the release's values as a values file.
    """
    return ()
