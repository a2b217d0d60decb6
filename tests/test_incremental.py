"""The editor's incremental state: whatever it reuses from the last analysis, an edit anywhere
gives the findings a fresh `--check` of the same text gives."""

from __future__ import annotations

import textwrap

from aiiac_ls.config import Config
from aiiac_ls.engine import Analysis, Engine
from aiiac_ls.workspace import Workspace, unit_of

CHAIN = textwrap.dedent("""\
    resource "aws_s3_bucket_acl" "models" {
      bucket = "acme-models"
      acl    = aws_s3_bucket_acl.b.acl
    }

    resource "aws_s3_bucket_acl" "b" {
      bucket = "acme-b"
      acl    = aws_s3_bucket_acl.c.acl
    }

    resource "aws_s3_bucket_acl" "c" {
      bucket = "acme-c"
      acl    = "private"
    }
    """)

MODULE_CALL = textwrap.dedent("""\
    module "acl" {
      source = "./modules/acl"
    }

    resource "aws_s3_bucket_acl" "models" {
      bucket = "acme-models"
      acl    = module.acl.value
    }
    """)


def _findings(analysis: Analysis) -> list[tuple[str, str, int, int, str]]:
    return sorted((f.rule, f.resource, f.span.start_line, f.span.start_col, f.message) for f in analysis.findings)


def _check(directory) -> list[tuple[str, str, int, int, str]]:
    """What `--check` finds in the folder as it is on disk, with a new engine and no cache."""
    return _findings(Engine(Config(), absolute_paths=True).analyse_paths([str(directory)]))


def test_editing_the_end_of_a_reference_chain_reaches_its_start(tmp_path):
    main = tmp_path / "main.tf"
    main.write_text(CHAIN)
    workspace = Workspace()
    workspace.open(str(main), CHAIN)
    unit = unit_of(str(main))
    assert _findings(workspace.analyse(unit)) == _check(tmp_path) == []

    edited = CHAIN.replace('acl    = "private"', 'acl    = "public-read"')
    workspace.open(str(main), edited)
    main.write_text(edited)
    found = _findings(workspace.analyse(unit))
    assert found == _check(tmp_path)
    # the public ACL is reported on all three: c wrote it, b and models read it through the chain
    assert [(rule, resource, line) for rule, resource, line, _, _ in found] == [
        ("AIS402", "aws_s3_bucket_acl.b", 7), ("AIS402", "aws_s3_bucket_acl.c", 12),
        ("AIS402", "aws_s3_bucket_acl.models", 2)]


def test_editing_a_local_module_reaches_the_caller(tmp_path):
    module = tmp_path / "modules" / "acl"
    module.mkdir(parents=True)
    (module / "outputs.tf").write_text('output "value" {\n  value = "private"\n}\n')
    main = tmp_path / "main.tf"
    main.write_text(MODULE_CALL)
    workspace = Workspace()
    workspace.open(str(main), MODULE_CALL)
    unit = unit_of(str(main))
    assert _findings(workspace.analyse(unit)) == _check(tmp_path) == []

    edited = 'output "value" {\n  value = "public-read"\n}\n'
    workspace.open(str(module / "outputs.tf"), edited)  # edited in the editor, not yet saved
    (module / "outputs.tf").write_text(edited)
    found = _findings(workspace.analyse(unit))
    assert found == _check(tmp_path)
    assert [(rule, resource, line) for rule, resource, line, _, _ in found] == [
        ("AIS402", "aws_s3_bucket_acl.models", 6)]
