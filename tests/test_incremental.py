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
        ("AIS402", "aws_s3_bucket_acl.b", 7),
        ("AIS402", "aws_s3_bucket_acl.c", 12),
        ("AIS402", "aws_s3_bucket_acl.models", 2),
    ]


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
        ("AIS402", "aws_s3_bucket_acl.models", 6)
    ]


BUCKETS = textwrap.dedent("""\
    resource "aws_s3_bucket" "alpha" {
      bucket = "acme-alpha"
    }

    resource "aws_s3_bucket" "logs" {
      bucket = "acme-logs"
    }

    resource "aws_sagemaker_model" "llm" {
      name               = "llm"
      execution_role_arn = "arn:aws:iam::123456789012:role/sm"
      primary_container {
        image          = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:1"
        model_data_url = "s3://acme-other/llm/model.tar.gz"
      }
    }
    """)

PUBLIC_ACCESS_BLOCK = textwrap.dedent("""\

    resource "aws_s3_bucket_public_access_block" "alpha" {
      bucket                  = aws_s3_bucket.alpha.id
      block_public_acls       = true
      block_public_policy     = true
      ignore_public_acls      = true
      restrict_public_buckets = true
    }
    """)

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: server, namespace: serving}
    spec:
      template:
        spec:
          serviceAccountName: server
          containers:
            - name: server
              image: vllm/vllm-openai:v0.6.3
    """)

ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: server, namespace: serving}\n"


def _edit_and_compare(tmp_path, workspace: Workspace, unit, path, text: str) -> list:
    """Type `text` into `path` (and save it), then the editor's findings must be --check's."""
    path.write_text(text)
    workspace.open(str(path), text)
    found = _findings(workspace.analyse(unit))
    assert found == _check(tmp_path)
    return found


def _where(found, rule: str) -> list[str]:
    return sorted(resource for finding_rule, resource, *_ in found if finding_rule == rule)


def test_reused_checks_see_their_neighbours_and_the_facts_change(tmp_path):
    main = tmp_path / "main.tf"
    workspace = Workspace()
    unit = unit_of(str(main))
    found = _edit_and_compare(tmp_path, workspace, unit, main, BUCKETS)
    assert _where(found, "AIS401") == ["aws_s3_bucket.alpha", "aws_s3_bucket.logs"]
    assert _where(found, "AIS407") == []  # no model bucket yet: no versioning rule

    # a new neighbour: the public access block of `alpha` (the bucket's own text is unchanged)
    found = _edit_and_compare(tmp_path, workspace, unit, main, BUCKETS + PUBLIC_ACCESS_BLOCK)
    assert _where(found, "AIS401") == ["aws_s3_bucket.logs"]

    # a fact: the SageMaker model now loads from acme-alpha, which makes it a model bucket
    edited = (BUCKETS + PUBLIC_ACCESS_BLOCK).replace("s3://acme-other/", "s3://acme-alpha/")
    found = _edit_and_compare(tmp_path, workspace, unit, main, edited)
    assert _where(found, "AIS407") == ["aws_s3_bucket.alpha"]

    # and back: the neighbour removed again
    found = _edit_and_compare(tmp_path, workspace, unit, main, edited.replace(PUBLIC_ACCESS_BLOCK, ""))
    assert _where(found, "AIS401") == ["aws_s3_bucket.alpha", "aws_s3_bucket.logs"]


def test_a_service_account_edited_in_another_file_reaches_the_workload(tmp_path):
    deployment, account = tmp_path / "deployment.yaml", tmp_path / "account.yaml"
    deployment.write_text(DEPLOYMENT)
    workspace = Workspace()
    unit = unit_of(str(deployment))
    workspace.open(str(deployment), DEPLOYMENT)
    found = _edit_and_compare(tmp_path, workspace, unit, account, ACCOUNT)
    assert _where(found, "AIS109") == ["Deployment/serving/server"]
    found = _edit_and_compare(tmp_path, workspace, unit, account, ACCOUNT + "automountServiceAccountToken: false\n")
    assert _where(found, "AIS109") == []
    found = _edit_and_compare(tmp_path, workspace, unit, account, ACCOUNT)
    assert _where(found, "AIS109") == ["Deployment/serving/server"]


def test_the_chart_loader_reads_unsaved_editor_buffers(tmp_path):
    """Every loader reads through the engine's file system: in the editor, a chart's template
    and values file are read from their open buffers, not from the disk."""
    chart = tmp_path / "server"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: server\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("service:\n  type: ClusterIP\n")
    template = "apiVersion: v1\nkind: Service\nmetadata: {name: server}\nspec:\n  type: {{ .Values.service.type }}\n"
    (chart / "templates" / "service.yaml").write_text(template)
    workspace = Workspace()
    unit = unit_of(str(chart / "values.yaml"))
    assert [f.rule for f in workspace.analyse(unit).findings if f.rule == "AIS201"] == []

    workspace.open(str(chart / "values.yaml"), "service:\n  type: LoadBalancer\n")  # not saved
    [finding] = [f for f in workspace.analyse(unit).findings if f.rule == "AIS201"]
    assert (finding.file, finding.span.start_line) == (str(chart / "values.yaml"), 1)

    workspace.close(str(chart / "values.yaml"))
    workspace.open(
        str(chart / "templates" / "service.yaml"), template.replace("{{ .Values.service.type }}", "NodePort")
    )
    [finding] = [f for f in workspace.analyse(unit).findings if f.rule == "AIS201"]
    assert (finding.file, finding.span.start_line) == (str(chart / "templates" / "service.yaml"), 4)


def test_a_policy_read_with_file_follows_its_unsaved_buffer(tmp_path):
    """`file("policy.json")` reads through the editor's file system, and a block that reads a
    file is evaluated again when the file changes (its text is not in the block's cache key)."""
    main = tmp_path / "main.tf"
    main.write_text('resource "aws_iam_policy" "reader" {\n  name   = "reader"\n  policy = file("policy.json")\n}\n')
    policy = '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data/*"}]}'
    (tmp_path / "policy.json").write_text(policy)
    workspace = Workspace()
    workspace.open(str(main), main.read_text())
    unit = unit_of(str(main))
    assert [f.rule for f in workspace.analyse(unit).findings if f.rule == "AIS302"] == []

    workspace.open(str(tmp_path / "policy.json"), policy.replace('"s3:GetObject"', '"*"'))  # not saved
    found = _findings(workspace.analyse(unit))
    assert [(rule, resource, line) for rule, resource, line, _, _ in found if rule == "AIS302"] == [
        ("AIS302", "aws_iam_policy.reader", 2)
    ]
    (tmp_path / "policy.json").write_text(policy.replace('"s3:GetObject"', '"*"'))
    assert found == _check(tmp_path)


def test_a_unit_keeps_its_cache_while_open_and_its_facts_after(tmp_path):
    """The workspace keeps one parse cache per unit with open documents; forgetting the unit
    (its last document closed) releases the cache, while its facts stay for the other folders."""
    main = tmp_path / "main.tf"
    main.write_text('resource "aws_s3_bucket" "weights" {\n  bucket = "acme-model-weights"\n}\n')
    workspace = Workspace()
    workspace.open(str(main), main.read_text())
    unit = unit_of(str(main))
    workspace.analyse(unit)
    cache = workspace.caches[unit]
    workspace.analyse(unit)
    assert workspace.caches[unit] is cache  # warm between keystrokes
    assert cache.rule_hits  # results kept for reuse
    workspace.close(str(main))
    workspace.forget(unit)
    assert unit not in workspace.caches
    assert workspace.unit_facts[unit].is_model_bucket("acme-model-weights")


BUCKET = 'resource "aws_s3_bucket" "weights" {\n  bucket = "acme-model-weights"\n}\n'


def _open_one_file(tmp_path, text: str):
    """A workspace with `main.tf` saved and open with `text`: (workspace, its unit, the path)."""
    main = tmp_path / "main.tf"
    main.write_text(text)
    workspace = Workspace()
    workspace.open(str(main), text)
    return workspace, unit_of(str(main)), main


def test_a_suppression_typed_above_an_untouched_resource_applies_and_lifts(tmp_path):
    """An unchanged resource gives its last findings as they were, unless a suppression comment
    now stands in a file they land in: typed on the blank line above the bucket (which moves
    nothing, so the bucket is the same resource), it silences the finding; deleted, it is back."""
    text = "\n" + BUCKET
    workspace, unit, main = _open_one_file(tmp_path, text)
    before = _findings(workspace.analyse(unit))
    assert ("AIS401", "aws_s3_bucket.weights", 1) in [(rule, address, line) for rule, address, line, _, _ in before]
    assert _findings(workspace.analyse(unit)) == before  # unchanged: every finding given again

    commented = "# aiiac:ignore AIS401 -- blocked account-wide" + text
    workspace.open(str(main), commented)
    main.write_text(commented)
    found = _findings(workspace.analyse(unit))
    assert found == _check(tmp_path)
    assert found == [f for f in before if f[0] != "AIS401"]

    workspace.open(str(main), text)
    main.write_text(text)
    assert _findings(workspace.analyse(unit)) == before == _check(tmp_path)


def test_a_rule_that_fails_is_reported_on_every_analysis(tmp_path, monkeypatch):
    """An unchanged resource's findings are given again without running its checks, but not
    when a check failed on it: the internal problem is reported by every analysis."""
    from aiiac_ls.rules import get_rule

    def explode(resource, ctx):
        raise ValueError("boom")

    monkeypatch.setattr(get_rule("AIS401"), "check", explode)
    workspace, unit, _ = _open_one_file(tmp_path, BUCKET)
    for _ in range(3):
        analysis = workspace.analyse(unit)
        internal = [p.message for p in analysis.problems if p.kind == "internal"]
        assert internal == ["internal error in rule AIS401 on aws_s3_bucket.weights: ValueError: boom"]
        assert "AIS401" not in {f.rule for f in analysis.findings}
        assert {f.rule for f in analysis.findings}  # the other rules' findings stand
