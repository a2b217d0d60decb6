"""Terraform module calls the engine could not look inside (AIS003), or whose source can change
under the caller (AIS007). The engine reports them while it resolves module sources; they are
registered as rules so they can be explained, selected, ignored and re-scored."""

from __future__ import annotations

from aiiac_ls.rules import rule


@rule(id="AIS003", title="Module not installed", severity="low", applies_to=(), source=None)
def module_not_installed(resource, ctx):
    """## What it does
    Flags a `module` call whose code aiiac-ls cannot find: a registry or git source that
    `terraform init` has not installed (no entry in `.terraform/modules/modules.json`, or its
    folder is gone), and that no `[terraform] module-dirs` folder holds.

    ## Why is this bad?
    The resources the module creates (the model bucket of `terraform-aws-modules/s3-bucket`, the
    GPU node groups of `terraform-aws-modules/eks`, an IRSA role) are not checked at all. A scan
    that says nothing about them is not a clean bill of health. aiiac-ls never downloads modules.

    ## Example
    ```hcl
    module "model_store" {
      source  = "terraform-aws-modules/s3-bucket/aws"
      version = "4.1.2"
    }
    ```

    ## Fix
    Run `terraform init` (or `tofu init`) in the root module before scanning, or point
    `[terraform] module-dirs` at a folder holding the module's code (named
    `terraform-aws-s3-bucket`, `s3-bucket` or `terraform-aws-modules/s3-bucket/aws`).
    """
    return ()


@rule(
    id="AIS007",
    title="Module source not pinned",
    severity="medium",
    applies_to=(),
    source=None,
    equivalents={"checkov": ["CKV_TF_1", "CKV_TF_2"]},
    references=[
        "https://developer.hashicorp.com/terraform/language/modules/sources#selecting-a-revision",
        "https://developer.hashicorp.com/terraform/language/modules/syntax#version",
    ],
)
def module_not_pinned(resource, ctx):
    """## What it does
    Flags `module` calls you wrote whose code can change without a change to yours: a git source
    without `?ref=` a 40-character commit hash (a branch or a tag moves), and a registry source
    without `version`. Local paths are not flagged, nor calls inside installed modules.

    ## Why is this bad?
    The next `terraform init` fetches whatever the source points to then. A compromised or
    careless upstream change to the module that builds your GPU node groups, model buckets or
    IAM roles is applied with your credentials, unreviewed; a tag can be re-pointed at any time.

    ## Example
    ```hcl
    module "gpu_nodes" {
      source = "git::https://github.com/acme/terraform-gpu-nodes.git?ref=main"
    }
    ```

    ## Fix
    Pin git sources to the reviewed commit (`?ref=<sha>`) and give registry modules an exact
    `version` (with `.terraform.lock.hcl` committed for providers).
    """
    return ()
