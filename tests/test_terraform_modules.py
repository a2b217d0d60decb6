"""Terraform modules as `terraform init` installs them: real registry modules from the shared
corpus, installed into a temporary `.terraform/modules` with a real `modules.json`; findings land
on the caller's inputs, with the module's place as related information, and fixes edit the caller."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.config import Config
from aiiac_ls.engine import Engine

from .helpers import CORPUS

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS}")

# key -> (corpus folder, subdir of the `//` source, registry source, version)
S3 = ("terraform-aws-s3-bucket", "", "terraform-aws-modules/s3-bucket/aws", "4.1.2")
IRSA = (
    "terraform-aws-iam",
    "modules/iam-role-for-service-accounts",
    "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts",
    "6.0.0",
)
ENDPOINT = ("terraform-aws-sagemaker-endpoint", "", "aws-ia/sagemaker-endpoint/aws", "0.0.1")
HUGGINGFACE = ("terraform-aws-sagemaker-huggingface", "", "philschmid/sagemaker-huggingface/aws", "0.8.0")
WORKBENCH = (
    "terraform-google-vertex-ai",
    "modules/workbench",
    "GoogleCloudPlatform/vertex-ai/google//modules/workbench",
    "2.0.0",
)


def install(root: Path, modules: dict[str, tuple[str, str, str, str]]) -> None:
    """What `terraform init` leaves: each module's code under `.terraform/modules/<key>`, and the
    manifest with the registry address, version and the folder (`//subdir` resolved)."""
    entries = [{"Key": "", "Source": "", "Dir": "."}]
    for key, (folder, subdir, source, version) in modules.items():
        target = root / ".terraform" / "modules" / key
        shutil.copytree(CORPUS / folder, target, ignore=shutil.ignore_patterns("examples", "test", "tests", "wrappers"))
        directory = f".terraform/modules/{key}" + (f"/{subdir}" if subdir else "")
        registry = "registry.terraform.io/" + source
        entries.append({"Key": key, "Source": registry, "Version": version, "Dir": directory})
    (root / ".terraform" / "modules" / "modules.json").write_text(json.dumps({"Modules": entries}))


def scan(*paths: Path, **settings):
    return Engine(Config(**settings)).analyse_paths([str(path) for path in paths])


def where(analysis, root: Path) -> list[tuple[str, int, int, str]]:
    """(rule, 1-based line, 1-based column, file relative to root) of each finding."""
    return sorted(
        (f.rule, f.span.start_line + 1, f.span.start_col + 1, str(Path(f.file).relative_to(root)))
        for f in analysis.findings
    )


MODEL_STORE = textwrap.dedent("""\
    module "model_store" {
      source  = "terraform-aws-modules/s3-bucket/aws"
      version = "4.1.2"

      bucket = "acme-model-weights"
      acl    = "public-read"

      versioning = {
        enabled = false
      }
      attach_deny_insecure_transport_policy = false
    }

    resource "aws_iam_policy" "read_models" {
      name = "read-models"
      policy = jsonencode({
        Statement = [{
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = "${module.model_store.s3_bucket_arn}/*"
        }]
      })
    }
    """)


@pytest.fixture
def model_store(tmp_path) -> Path:
    root = tmp_path / "serving"
    root.mkdir()
    (root / "main.tf").write_text(MODEL_STORE)
    install(root, {"model_store": S3})
    return root


@needs_corpus
def test_findings_inside_a_registry_module_land_on_the_inputs_the_caller_wrote(model_store):
    analysis = scan(model_store)
    assert not [p for p in analysis.problems if p.kind != "skipped"], analysis.problems
    assert where(analysis, model_store) == [
        ("AIS301", 20, 18, "main.tf"),  # the module's output, known: the whole model bucket
        ("AIS402", 6, 12, "main.tf"),  # acl = "public-read"
        ("AIS405", 1, 1, "main.tf"),  # the module's default (control_object_ownership) decided it
        ("AIS406", 1, 1, "main.tf"),
        ("AIS407", 9, 15, "main.tf"),  # versioning = { enabled = false }
        ("AIS408", 1, 1, "main.tf"),
        ("AIS409", 11, 43, "main.tf"),  # attach_deny_insecure_transport_policy = false
    ]
    by_rule = {f.rule: f for f in analysis.findings}
    assert by_rule["AIS301"].message.startswith(
        "policy allows s3:GetObject on all of model bucket `acme-model-weights`"
    )
    assert by_rule["AIS405"].message.endswith(
        "(decided by the default of input `control_object_ownership`: set it in this call)"
    )
    assert by_rule["AIS406"].message.endswith("input `server_side_encryption_configuration`: set it in this call)")
    assert by_rule["AIS408"].message.endswith("input `logging`: set it in this call)")
    assert by_rule["AIS402"].resource == "module.model_store.aws_s3_bucket_acl.this"
    assert by_rule["AIS407"].resource == "module.model_store.aws_s3_bucket_versioning.this[0]"
    module_folder = str(model_store / ".terraform" / "modules" / "model_store")
    related = [(span.file, span.start_line + 1, text) for span, text in by_rule["AIS409"].related]
    assert related == [
        (module_folder + "/main.tf", 45, f"module.model_store.aws_s3_bucket.this[0], in {module_folder}")
    ]
    [(default, text)] = by_rule["AIS405"].related[1:]
    assert (Path(default.file).name, default.start_line + 1, text) == (
        "variables.tf",
        next(
            i
            for i, line in enumerate((model_store / ".terraform/modules/model_store/variables.tf").open(), 1)
            if line.startswith('variable "control_object_ownership"')
        )
        + 3,
        "default of input `control_object_ownership` of module.model_store",
    )


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


ENDPOINT_CALL = textwrap.dedent("""\
    module "endpoint" {
      source  = "aws-ia/sagemaker-endpoint/aws"
      version = "0.0.1"

      name_prefix = "llm"
      containers = [{
        image_uri   = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0"
        environment = { HF_MODEL_ID = "mistralai/Mistral-7B-Instruct-v0.1" }
      }]
      production_variant = {
        variant_name  = "AllTraffic"
        instance_type = "ml.g5.2xlarge"
      }
    }
    """)


@needs_corpus
def test_fixes_edit_the_caller_and_never_the_installed_module(model_store, capsys):
    (model_store / "endpoint.tf").write_text(ENDPOINT_CALL)
    shutil.rmtree(model_store / ".terraform")
    install(model_store, {"model_store": S3, "endpoint": ENDPOINT})
    installed = _tree_digest(model_store / ".terraform")
    analysis = scan(model_store, select=("AIS402", "AIS505"))
    fixes = {f.rule: f.fix.title for f in analysis.findings if f.fix}
    assert fixes == {
        "AIS402": 'Set acl = "private"',
        "AIS505": "Set input `enable_network_isolation` of module.endpoint",
    }
    assert main(["--check", str(model_store), "--fix", "--select", "AIS402,AIS505"]) == 0
    capsys.readouterr()
    assert _tree_digest(model_store / ".terraform") == installed
    assert (model_store / "main.tf").read_text() == MODEL_STORE.replace('"public-read"', '"private"')
    assert (model_store / "endpoint.tf").read_text() == ENDPOINT_CALL.replace(
        '    instance_type = "ml.g5.2xlarge"\n  }\n}\n',
        '    instance_type = "ml.g5.2xlarge"\n  }\n  enable_network_isolation = true\n}\n',
    )
    assert not scan(model_store, select=("AIS402", "AIS505")).findings  # the fixed text re-parsed: clean


@needs_corpus
def test_json_and_sarif_carry_the_module_location_as_related(model_store, capsys):
    main(["--check", str(model_store), "--select", "AIS409", "--format", "json"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["line"], finding["column"], finding["resource"]) == (
        11,
        43,
        "module.model_store.aws_s3_bucket.this[0]",
    )
    assert [(r["file"].split(".terraform/")[-1], r["line"]) for r in finding["related"]] == [
        ("modules/model_store/main.tf", 45)
    ]
    main(["--check", str(model_store), "--select", "AIS409", "--format", "sarif"])
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"].endswith(".terraform/modules/model_store/main.tf")
    assert related["physicalLocation"]["region"]["startLine"] == 45
    assert result["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "module.model_store.aws_s3_bucket.this[0]"}
    ]


CORPUS_CALLERS = textwrap.dedent("""\
    module "irsa" {
      source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts"
      version = "6.0.0"

      name                            = "triton"
      attach_mountpoint_s3_csi_policy = true
      mountpoint_s3_csi_bucket_arns   = ["arn:aws:s3:::*"]
      mountpoint_s3_csi_path_arns     = ["arn:aws:s3:::*/*"]
      oidc_providers = {
        main = {
          provider_arn               = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
          namespace_service_accounts = ["serving:triton"]
        }
      }
    }

    module "hf" {
      source  = "philschmid/sagemaker-huggingface/aws"
      version = "0.8.0"

      name_prefix          = "distilbert"
      pytorch_version      = "1.9.1"
      transformers_version = "4.12.3"
      instance_type        = "ml.g4dn.xlarge"
      hf_model_id          = "distilbert-base-uncased-finetuned-sst-2-english"
      hf_task              = "text-classification"
    }

    module "workbench" {
      source  = "GoogleCloudPlatform/vertex-ai/google//modules/workbench"
      version = "2.0.0"

      name              = "research"
      location          = "us-central1-a"
      project_id        = "acme-ml"
      disable_public_ip = false
      machine_type      = "a2-highgpu-1g"
    }
    """)


@needs_corpus
def test_the_iam_sagemaker_and_vertex_modules_of_the_corpus(tmp_path):
    root = tmp_path / "platform"
    root.mkdir()
    (root / "main.tf").write_text(CORPUS_CALLERS)
    install(root, {"irsa": IRSA, "hf": HUGGINGFACE, "workbench": WORKBENCH})
    analysis = scan(root)
    assert not [p for p in analysis.problems if p.kind != "skipped"], analysis.problems
    assert where(analysis, root) == [
        ("AIS301", 8, 38, "main.tf"),  # every object of every bucket, written by the caller
        ("AIS301", 17, 1, "main.tf"),  # the module's own code: reported on the call
        ("AIS307", 8, 38, "main.tf"),  # s3:PutObject/DeleteObject on arn:aws:s3:::*/* is every resource
        ("AIS307", 17, 1, "main.tf"),
        ("AIS503", 17, 1, "main.tf"),
        ("AIS505", 17, 1, "main.tf"),
        ("AIS512", 36, 23, "main.tf"),  # disable_public_ip = false
    ]
    addresses = {f.resource for f in analysis.findings}
    assert "module.irsa.data.aws_iam_policy_document.mountpoint_s3_csi[0]" in addresses
    assert "module.workbench.google_workbench_instance.vertex_ai_workbench" in addresses
    assert all(f.fix is None or f.file.endswith("platform/main.tf") for f in analysis.findings)


@needs_corpus
def test_a_module_scanned_on_its_own_is_reported_in_its_own_files():
    analysis = scan(CORPUS / "terraform-aws-sagemaker-huggingface", select=("AIS505",))
    assert {Path(f.file).name for f in analysis.findings} == {"main.tf"}
    assert all(f.related == () for f in analysis.findings)


# ---- count / for_each and nested modules (a small module of our own, installed the same way) ---

POOL_MODULE = {
    "main.tf": """\
variable "name" {
  type = string
}

variable "settings" {
  type = object({
    public = optional(bool, false)
    acl    = optional(string, "private")
  })
  default = {}
}

module "bucket" {
  source = "./modules/bucket"
  name   = "${var.name}-weights"
  acl    = var.settings.acl
}

resource "aws_security_group_rule" "ingress" {
  count             = var.settings.public ? 1 : 0
  type              = "ingress"
  from_port         = 8000
  to_port           = 8000
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = "sg-123"
}
""",
    "modules/bucket/main.tf": """\
variable "name" {}
variable "acl" {}

resource "aws_s3_bucket_acl" "this" {
  bucket = var.name
  acl    = var.acl
}

output "id" {
  value = var.name
}
""",
}

POOLS = textwrap.dedent("""\
    module "pools" {
      source   = "acme/gpu-pool/aws"
      version  = "1.2.0"
      for_each = { a100 = "private", h100 = "public-read" }

      name     = each.key
      settings = { acl = each.value }
    }

    module "edge" {
      source = "acme/gpu-pool/aws"
      count  = 2
      name   = "edge-${count.index}"
      settings = {
        public = true
      }
    }
    """)


def _install_pool(root: Path, keys: list[str]) -> None:
    entries = [{"Key": "", "Source": "", "Dir": "."}]
    for key in keys:
        folder = root / ".terraform" / "modules" / key
        for name, text in POOL_MODULE.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        entries.append(
            {
                "Key": key,
                "Source": "registry.terraform.io/acme/gpu-pool/aws",
                "Version": "1.2.0",
                "Dir": str(folder.relative_to(root)),
            }
        )
        entries.append(
            {
                "Key": f"{key}.bucket",
                "Source": "./modules/bucket",
                "Dir": str((folder / "modules/bucket").relative_to(root)),
            }
        )
    (root / ".terraform" / "modules" / "modules.json").write_text(json.dumps({"Modules": entries}))


def test_for_each_count_and_nested_modules_to_any_depth(tmp_path):
    root = tmp_path / "gpu"
    root.mkdir()
    (root / "main.tf").write_text(POOLS)
    _install_pool(root, ["pools", "edge"])
    analysis = scan(root)
    assert not analysis.problems
    findings = sorted((f.rule, f.resource, f.span.start_line + 1, f.span.start_col + 1) for f in analysis.findings)
    assert findings == [
        ("AIS007", "module.edge", 11, 12),  # a registry source without a version
        # `public = true` creates the ingress of both edge instances: one finding on the call (its
        # CIDR is the module's own code); `public = optional(bool, false)` keeps the pools' at 0
        ("AIS202", "module.edge[0].aws_security_group_rule.ingress[0]", 10, 1),
        # for_each value -> settings.acl -> the nested module's input -> its acl
        ("AIS402", 'module.pools["h100"].module.bucket.aws_s3_bucket_acl.this', 4, 41),
    ]
    acl = next(f for f in analysis.findings if f.rule == "AIS402")
    assert [(Path(span.file).relative_to(root).as_posix(), span.start_line + 1) for span, _ in acl.related] == [
        (".terraform/modules/pools/modules/bucket/main.tf", 6)
    ]


# ---- bad input: every problem is named, and the rest of the scan goes on -----------------------


def _problems(analysis) -> list[tuple[str, str]]:
    return sorted((p.kind, p.message) for p in analysis.problems)


def _caller(root: Path, text: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.tf").write_text(
        text + '\nresource "aws_s3_bucket_acl" "still_checked" {\n  bucket = "b"\n  acl    = "public-read"\n}\n'
    )


def test_a_manifest_entry_whose_folder_is_gone(tmp_path):
    root = tmp_path / "r"
    _caller(root, 'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "20.8.4"\n}\n')
    (root / ".terraform" / "modules").mkdir(parents=True)
    (root / ".terraform" / "modules" / "modules.json").write_text(
        json.dumps({"Modules": [{"Key": "eks", "Source": "x", "Dir": ".terraform/modules/eks"}]})
    )
    analysis = scan(root, select=("AIS003", "AIS402"))
    assert [(f.rule, f.span.start_line + 1, f.span.start_col + 1) for f in analysis.findings] == [
        ("AIS003", 2, 13),
        ("AIS402", 8, 3),
    ]
    assert analysis.findings[0].message == (
        "module `eks` (terraform-aws-modules/eks/aws 20.8.4) is not in `.terraform/modules/eks`, where "
        "terraform init recorded it: its resources are not checked; run `terraform init` first "
        "(aiiac-ls never downloads modules)"
    )
    assert analysis.findings[0].severity == "low" and analysis.uninstalled_modules[0][0] == "module.eks"


@pytest.mark.parametrize(
    "manifest, problem",
    [
        ("{not json", "module manifest cannot be read (Expecting property name enclosed in double quotes"),
        ('{"Modules": 3}', "module manifest has no `Modules` list; run `terraform init` again"),
        (
            json.dumps({"Modules": [{"Key": "eks", "Source": "x", "Dir": "../../etc"}]}),
            "module manifest `eks` names `../../etc`, outside the root module; ignored",
        ),
    ],
)
def test_a_manifest_that_cannot_be_used(tmp_path, manifest, problem):
    root = tmp_path / "r"
    _caller(root, 'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n}\n')
    (root / ".terraform" / "modules").mkdir(parents=True)
    (root / ".terraform" / "modules" / "modules.json").write_text(manifest)
    analysis = scan(root, select=("AIS003", "AIS402"))
    [warning] = analysis.problems
    assert warning.kind == "warning" and warning.message.startswith(problem), warning
    assert warning.file.endswith(".terraform/modules/modules.json")
    assert [f.rule for f in analysis.findings] == ["AIS003", "AIS402"]


def test_a_module_cycle_is_named_and_not_followed(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "main.tf").write_text('module "b" {\n  source = "../b"\n}\n')
    (tmp_path / "b" / "main.tf").write_text('module "a" {\n  source = "../a"\n}\n')
    _caller(tmp_path / "root", 'module "a" {\n  source = "../a"\n}\n')
    analysis = scan(tmp_path / "root", select=("AIS402",))
    [cycle] = analysis.problems
    assert cycle.kind == "warning" and cycle.span is not None and cycle.span.start_line == 1
    assert "module `a` calls itself through" in cycle.message and cycle.message.endswith("not evaluated again")
    assert [f.rule for f in analysis.findings] == ["AIS402"]


def test_undeclared_variables_and_inputs_are_warned(tmp_path):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text(
        'variable "acl" {}\n\nresource "aws_s3_bucket_acl" "this" {\n  bucket = var.bucket_name\n  acl    = var.acl\n}\n'
    )
    _caller(tmp_path / "root", 'module "m" {\n  source = "../mod"\n  acl    = "public-read"\n  bukcet = "x"\n}\n')
    analysis = scan(tmp_path / "root", select=("AIS402",))
    assert sorted((Path(p.file).parent.name, p.span.start_line + 1, p.message) for p in analysis.problems) == [
        ("mod", 4, "`var.bucket_name` is not declared in this module; its value is unknown"),
        ("root", 4, "module `m` has no variable `bukcet`; this input is ignored"),
    ]
    # a local module: the caller's literal decided it, so the finding is on the caller's line
    assert sorted((Path(f.file).parent.name, f.span.start_line + 1) for f in analysis.findings) == [
        ("root", 3),
        ("root", 9),
    ]


def test_module_dirs_hold_registry_and_git_modules(tmp_path):
    vendor = tmp_path / "vendor"
    for name in ("terraform-aws-model-store", "infra-modules/modules/bucket"):
        (vendor / name).mkdir(parents=True)
        (vendor / name / "main.tf").write_text(
            'variable "acl" {}\nresource "aws_s3_bucket_acl" "this" {\n  bucket = "b"\n  acl    = var.acl\n}\n'
        )
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'module "registry" {\n  source = "acme/model-store/aws"\n  acl    = "public-read"\n}\n\n'
        'module "git" {\n  source = "git::https://example.com/acme/infra-modules.git//modules/bucket?ref=v1"\n'
        '  acl    = "public-read"\n}\n'
    )
    analysis = scan(root, select=("AIS402", "AIS003"), module_dirs=(str(vendor),))
    assert [(f.rule, f.resource, f.span.start_line + 1) for f in analysis.findings] == [
        ("AIS402", "module.registry.aws_s3_bucket_acl.this", 3),
        ("AIS402", "module.git.aws_s3_bucket_acl.this", 8),
    ]
    assert [(f.rule, f.span.start_line + 1) for f in scan(root, select=("AIS402", "AIS003")).findings] == [
        ("AIS003", 2),
        ("AIS003", 7),
    ]


# ---- plan JSON: child modules mapped back to the caller's lines --------------------------------


def _planned(address: str, kind: str, values: dict) -> dict:
    name = address.rsplit(".", 1)[-1].split("[")[0]
    return {"address": address, "mode": "managed", "type": kind, "name": name, "index": 0, "values": values}


@needs_corpus
def test_a_plans_child_modules_are_reported_on_the_callers_lines(model_store):
    bucket = "acme-model-weights"
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "child_modules": [
                    {
                        "address": "module.model_store",
                        "resources": [
                            _planned("module.model_store.aws_s3_bucket.this[0]", "aws_s3_bucket", {"bucket": bucket}),
                            _planned(
                                "module.model_store.aws_s3_bucket_acl.this[0]",
                                "aws_s3_bucket_acl",
                                {"bucket": bucket, "acl": "public-read", "expected_bucket_owner": None},
                            ),
                            _planned(
                                "module.model_store.aws_s3_bucket_versioning.this[0]",
                                "aws_s3_bucket_versioning",
                                {"bucket": bucket, "versioning_configuration": [{"status": "Suspended"}]},
                            ),
                        ],
                    }
                ]
            }
        },
        "resource_changes": [],
    }
    (model_store / "plan.json").write_text(json.dumps(plan))
    analysis = scan(model_store / "plan.json", select=("AIS402", "AIS407"))
    assert [
        (f.rule, f.resource, Path(f.file).name, f.span.start_line + 1, f.span.start_col + 1) for f in analysis.findings
    ] == [
        ("AIS402", "module.model_store.aws_s3_bucket_acl.this[0]", "main.tf", 6, 12),
        ("AIS407", "module.model_store.aws_s3_bucket_versioning.this[0]", "main.tf", 9, 15),
    ]
    assert all(f.fix is None for f in analysis.findings)  # a plan's values are not text to edit
    assert all(".terraform/modules/model_store/main.tf" in f.related[0][0].file for f in analysis.findings)


SERVICE_ACCOUNTS = textwrap.dedent("""\
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: triton
      namespace: serving
      annotations:
        eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/triton
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: vllm
      namespace: serving
      annotations:
        eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/triton
    """)


@needs_corpus
def test_an_irsa_role_made_by_a_registry_module_is_held_against_the_service_accounts(tmp_path):
    root = tmp_path / "infra"
    root.mkdir()
    irsa = CORPUS_CALLERS.split('module "hf"')[0]
    (root / "main.tf").write_text(irsa.replace("name  ", "use_name_prefix = false\n  name  ", 1))
    install(root, {"irsa": IRSA})
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "serving.yaml").write_text(SERVICE_ACCOUNTS)
    analysis = scan(tmp_path, select=("AIS330", "AIS331"))
    assert [(f.rule, Path(f.file).name, f.span.start_line + 1) for f in analysis.findings] == [
        ("AIS331", "serving.yaml", 15),  # the module's role trusts serving:triton, not serving:vllm
    ]
