"""Managed ML services (AIS5xx, AWS SageMaker)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_str
from aiiac_ls.rules import rule

from ..settings import equals, is_true, require

NOTEBOOK = {"aws_sagemaker_notebook_instance"}


@rule(
    id="AIS501",
    unsafe_fix="notebooks that download packages or models from the internet lose access",
    title="SageMaker notebook has direct internet access",
    severity="high",
    applies_to=NOTEBOOK,
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_122"]},
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
        edit = (
            ReplaceValue(entry.value, "Disabled")
            if entry is not None
            else SetPath(resource.body, ("direct_internet_access",), "Disabled")
        )
        fix = Fix('Set direct_internet_access = "Disabled"', (edit,))
    where = entry if entry is not None else resource.head
    yield Hit(where, "notebook has direct internet access" + ("" if entry is not None else " (the default)"), fix)


@rule(
    id="AIS502",
    unsafe_fix="users who install packages as root in the notebook lose that ability",
    title="SageMaker notebook allows root access",
    severity="medium",
    applies_to=NOTEBOOK,
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_307"]},
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
        yield Hit(
            entry,
            "notebook users get root access",
            Fix('Set root_access = "Disabled"', (ReplaceValue(entry.value, "Disabled"),)),
        )
    else:
        yield Hit(
            resource.head,
            "notebook users get root access (the default)",
            Fix('Set root_access = "Disabled"', (SetPath(resource.body, ("root_access",), "Disabled"),)),
        )


@rule(
    id="AIS503",
    title="SageMaker endpoint storage not encrypted with a customer key",
    severity="medium",
    applies_to={"aws_sagemaker_endpoint_configuration"},
    source="terraform",
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


@rule(
    id="AIS504",
    title="SageMaker notebook storage not encrypted with a customer key",
    severity="medium",
    applies_to=NOTEBOOK | {"aws_sagemaker_domain"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_22", "CKV_AWS_187"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/encryption-at-rest-nbi.html"],
)
def notebook_kms(resource, ctx):
    """## What it does
    Flags SageMaker notebook instances and Studio domains without `kms_key_id`.

    ## Why is this bad?
    Notebook volumes and Studio home directories (EFS) collect what data scientists download:
    model checkpoints, evaluation sets, samples of production prompts. Without a customer key,
    anyone who can snapshot or attach the storage reads them.

    ## Example
    ```hcl
    resource "aws_sagemaker_notebook_instance" "research" {
      name          = "research"
      instance_type = "ml.g5.xlarge"
    }
    ```

    ## Fix
    `kms_key_id = aws_kms_key.notebooks.arn`.
    """
    if resource.body.get("kms_key_id") is None:
        what = "Studio domain storage" if resource.kind == "aws_sagemaker_domain" else "notebook volume"
        yield Hit(resource.head, f"{what} is not encrypted with a customer-managed key (no kms_key_id)")


@rule(
    id="AIS505",
    unsafe_fix="a container that downloads its model or calls external APIs loses network access",
    title="SageMaker model can reach the network",
    severity="medium",
    applies_to={"aws_sagemaker_model"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_370"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html"],
    fixable=True,
)
def model_network_isolation(resource, ctx):
    """## What it does
    Flags `aws_sagemaker_model` resources without `enable_network_isolation = true`, and those
    with neither network isolation nor a `vpc_config`.

    ## Why is this bad?
    The inference container runs code that came with the model (custom handlers, `trust_remote_code`
    models, pickled pipelines). Without isolation it can call out to the internet: exfiltrate the
    inputs it is sent, or fetch a second stage. Isolation also cuts its access to S3 and other
    AWS APIs beyond what SageMaker mounts for it.

    ## Example
    ```hcl
    resource "aws_sagemaker_model" "llm" {
      name               = "llm"
      execution_role_arn = aws_iam_role.sagemaker.arn
      primary_container { image = var.image }
    }
    ```

    ## Fix
    `enable_network_isolation = true` (quick fix), and a `vpc_config` in private subnets.
    """
    yield from require(
        resource,
        "enable_network_isolation",
        is_true,
        True,
        "model container can reach the internet (enable_network_isolation is not set)",
        "enable_network_isolation = {value}",
    )


@rule(
    id="AIS506",
    unsafe_fix="apps that reach the internet directly lose access",
    title="SageMaker domain apps reach the internet directly",
    severity="high",
    applies_to={"aws_sagemaker_domain"},
    source="terraform",
    equivalents={"checkov": [], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/studio-notebooks-and-internet-access.html"],
    fixable=True,
)
def domain_vpc_only(resource, ctx):
    """## What it does
    Flags SageMaker (Studio) domains whose `app_network_access_type` is not `VpcOnly` (the default
    is `PublicInternetOnly`).

    ## Why is this bad?
    Studio apps run notebooks and training scripts with the domain's execution role. Through
    SageMaker's own internet path they bypass your VPC's egress controls, proxies and flow
    logs: datasets and checkpoints can leave the account without a trace in your network.

    ## Example
    ```hcl
    resource "aws_sagemaker_domain" "ml" {
      domain_name = "ml"
      auth_mode   = "IAM"
    }
    ```

    ## Fix
    `app_network_access_type = "VpcOnly"` (quick fix) with private subnets and VPC endpoints.
    """
    yield from require(
        resource,
        "app_network_access_type",
        equals("VpcOnly"),
        "VpcOnly",
        "domain apps use SageMaker's internet access (app_network_access_type defaults to PublicInternetOnly)",
        "app_network_access_type = {value}",
    )


@rule(
    id="AIS507",
    title="Bedrock agent without a customer key or guardrail",
    severity="medium",
    applies_to={"aws_bedrockagent_agent"},
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_373"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails.html"],
)
def bedrock_agent(resource, ctx):
    """## What it does
    Flags Bedrock agents without `customer_encryption_key_arn`, and agents without a
    `guardrail_configuration`.

    ## Why is this bad?
    Agent sessions hold user prompts, tool outputs and retrieved documents. Without a customer
    key they are encrypted with an AWS-owned key you cannot audit or revoke. Without a guardrail
    nothing filters prompt injection, harmful output or sensitive data in what the agent says
    and does with its tools.

    ## Example
    ```hcl
    resource "aws_bedrockagent_agent" "support" {
      agent_name       = "support"
      foundation_model = "anthropic.claude-3-haiku-20240307-v1:0"
    }
    ```

    ## Fix
    Set `customer_encryption_key_arn` and a `guardrail_configuration { guardrail_identifier,
    guardrail_version }`.
    """
    if resource.body.get("customer_encryption_key_arn") is None:
        yield Hit(resource.head, "agent data is not encrypted with a customer-managed key")
    if not resource.body.blocks("guardrail_configuration") and resource.body.get("guardrail_configuration") is None:
        yield Hit(resource.head, "agent has no guardrail_configuration")


@rule(
    id="AIS508",
    unsafe_fix="SDKs that only speak IMDSv1 lose instance credentials",
    title="SageMaker notebook allows IMDSv1",
    severity="medium",
    applies_to=NOTEBOOK,
    source="terraform",
    equivalents={"checkov": ["CKV_AWS_371"], "trivy": [], "tfsec": []},
    references=["https://docs.aws.amazon.com/sagemaker/latest/dg/nbi-imds.html"],
    fixable=True,
)
def notebook_imds(resource, ctx):
    """## What it does
    Flags notebook instances without `instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2" }`.

    ## Why is this bad?
    Notebooks run code copied from the internet and open files from anywhere. With IMDSv1, a
    server-side request forgery in any of it (a model demo served with `share=True`, a vulnerable
    library) returns the notebook role's credentials, which usually read training data and models.

    ## Example
    ```hcl
    resource "aws_sagemaker_notebook_instance" "research" {
      name = "research"
    }
    ```

    ## Fix
    `minimum_instance_metadata_service_version = "2"` (quick fix when the block exists).
    """
    yield from require(
        resource,
        "instance_metadata_service_configuration.minimum_instance_metadata_service_version",
        equals("2"),
        "2",
        "IMDSv1 is allowed (no instance_metadata_service_configuration)",
        "minimum_instance_metadata_service_version = {value}: IMDSv1 is allowed",
    )
