"""Managed ML services (AIS5xx, AWS SageMaker)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_str
from aiiac_ls.rules import rule

NOTEBOOK = {"aws_sagemaker_notebook_instance"}


@rule(
    id="AIS501", resource_only=True, title="SageMaker notebook has direct internet access", severity="high", applies_to=NOTEBOOK,
    source="terraform", equivalents={"checkov": ["CKV_AWS_122"]},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/appendix-notebook-and-internet-access.html"],
    fixable=True,
)
def notebook_direct_internet(resource, ctx):
    """## What it does
    Flags SageMaker notebook instances whose `direct_internet_access` is `Enabled` (the default).

    ## Why is this bad?
    Notebooks hold the execution role that reads training data and model artifacts. With direct
    internet access, anything that runs in the notebook (a `pip install` of a typo-squatted
    package, a malicious model from a hub) can send that data out through SageMaker's own network,
    bypassing your VPC's egress controls and logging.

    ## Example
    ```hcl
    resource "aws_sagemaker_notebook_instance" "research" {
      name          = "research"
      role_arn      = aws_iam_role.notebook.arn
      instance_type = "ml.g5.xlarge"
    }
    ```

    ## Fix
    Put the notebook in a private subnet (`subnet_id`, `security_groups`) and set
    `direct_internet_access = "Disabled"`; reach package mirrors and S3 through VPC endpoints. The
    quick fix is offered when `subnet_id` is already set (SageMaker requires it).
    """
    entry = resource.body.entry("direct_internet_access")
    value = as_str(entry.value) if entry is not None else "Enabled"
    if value != "Enabled":
        return
    fix = None
    if resource.body.get("subnet_id") is not None:
        edit = ReplaceValue(entry.value, "Disabled") if entry is not None else \
            SetPath(resource.body, ("direct_internet_access",), "Disabled")
        fix = Fix('Set direct_internet_access = "Disabled"', (edit,))
    where = entry if entry is not None else resource.head
    yield Hit(where, "notebook has direct internet access" + ("" if entry is not None else " (the default)"), fix)


@rule(
    id="AIS502", resource_only=True, title="SageMaker notebook allows root access", severity="medium", applies_to=NOTEBOOK,
    source="terraform", equivalents={"checkov": ["CKV_AWS_307"]},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/nbi-root-access.html"],
    fixable=True,
)
def notebook_root_access(resource, ctx):
    """## What it does
    Flags SageMaker notebook instances whose `root_access` is `Enabled` (the default).

    ## Why is this bad?
    Root on the notebook lets any code run there (including a compromised package or notebook)
    disable the instance's protections, read other users' files and credentials cached on the
    instance, and persist across restarts through lifecycle locations.

    ## Example
    ```hcl
    resource "aws_sagemaker_notebook_instance" "research" {
      root_access = "Enabled"
    }
    ```

    ## Fix
    Set `root_access = "Disabled"` (quick fix) and install system packages through a lifecycle
    configuration instead.
    """
    entry = resource.body.entry("root_access")
    value = as_str(entry.value) if entry is not None else "Enabled"
    if value != "Enabled":
        return
    if entry is not None:
        yield Hit(entry, "notebook users get root access",
                  Fix('Set root_access = "Disabled"', (ReplaceValue(entry.value, "Disabled"),)))
    else:
        yield Hit(resource.head, "notebook users get root access (the default)",
                  Fix('Set root_access = "Disabled"', (SetPath(resource.body, ("root_access",), "Disabled"),)))


@rule(
    id="AIS503", resource_only=True, title="SageMaker endpoint storage not encrypted with a customer key", severity="medium",
    applies_to={"aws_sagemaker_endpoint_configuration"}, source="terraform",
    equivalents={"checkov": ["CKV_AWS_98"]},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/encryption-at-rest.html"],
)
def endpoint_configuration_kms(resource, ctx):
    """## What it does
    Flags `aws_sagemaker_endpoint_configuration` without `kms_key_arn`.

    ## Why is this bad?
    The ML storage volumes attached to endpoint instances hold the model weights the endpoint
    serves. Without a customer-managed key you cannot restrict who may decrypt them, revoke
    access in an incident, or audit every use of the key in CloudTrail.

    ## Example
    ```hcl
    resource "aws_sagemaker_endpoint_configuration" "llm" {
      production_variants { ... }
    }
    ```

    ## Fix
    Set `kms_key_arn` to a customer-managed KMS key whose key policy admits only the SageMaker
    execution role and your administrators.
    """
    if resource.body.get("kms_key_arn") is None:
        yield Hit(resource.head, "endpoint configuration has no kms_key_arn")
