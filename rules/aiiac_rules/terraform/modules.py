"""Terraform module calls the engine could not look inside (AIS003). The engine reports it while
it resolves module sources; it is registered as a rule so it can be explained, selected,
ignored and re-scored."""

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
