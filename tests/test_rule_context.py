"""The rule context: every look-up a check may make of its neighbours, built once per analysis,
and what each look-up records as read (the editor reuses a check's result while that is unchanged)."""

from __future__ import annotations

from aiiac_ls.model.nodes import Mapping, Scalar, Span, Unknown
from aiiac_ls.model.resources import Resource
from aiiac_ls.rules import EVERYTHING, FACTS, RuleContext

SPAN = Span("main.tf", 0, 0, 0, 1)


def _resource(kind: str, name: str, namespace: str | None = None, source: str = "kubernetes", **values) -> Resource:
    body = Mapping(SPAN)
    for key, value in values.items():
        body.set(key, value)
    address = f"{kind}.{name}" if source == "terraform" else f"{kind}/{namespace}/{name}"
    return Resource(source, kind, name, address, "main.tf", body, SPAN, SPAN, namespace=namespace)


def _reading(context: RuleContext, look_up) -> tuple[object, set[str]]:
    """What a look-up returns and what it records as read, as during a check."""
    context.reads = set()
    try:
        return look_up(), context.reads
    finally:
        context.reads = None


def test_kubernetes_look_ups_and_what_they_read():
    web = _resource("Deployment", "web", "serving")
    batch = _resource("Job", "batch", "training")
    first, last = _resource("ServiceAccount", "web", "serving"), _resource("ServiceAccount", "web", "serving")
    context = RuleContext([web, batch, first, last], facts="the facts", settings=None)

    assert _reading(context, lambda: context.of_kind("Deployment", "Job")) == ([web, batch], {"Deployment", "Job"})
    assert _reading(context, lambda: context.in_namespace("serving", "Deployment", "Job")) == (
        [web],
        {"Deployment", "Job"},
    )
    # repeated objects: the last one, as applying the files leaves it
    assert _reading(context, lambda: context.named("ServiceAccount", "web", "serving")) == (last, {"ServiceAccount"})
    assert _reading(context, lambda: context.named("ServiceAccount", "web", "training"))[0] is None
    assert _reading(context, lambda: context.facts) == ("the facts", {FACTS})
    assert _reading(context, lambda: len(context.scope)) == (4, {EVERYTHING})


def test_terraform_addresses_and_the_reference_graph():
    bucket = _resource("aws_s3_bucket", "models", source="terraform", bucket=Scalar("acme-models", SPAN))
    versioning = _resource(
        "aws_s3_bucket_versioning", "models", source="terraform", bucket=Unknown(SPAN, "id", ref="aws_s3_bucket.models")
    )
    policy = _resource(
        "aws_s3_bucket_policy",
        "models",
        source="terraform",
        bucket=Scalar("acme-models", SPAN, ref="aws_s3_bucket.models"),
    )
    other = _resource("aws_s3_bucket", "logs", source="terraform")
    context = RuleContext([bucket, versioning, policy, other], facts=None, settings=None)

    assert _reading(context, lambda: context.referrers("aws_s3_bucket.models[0]")) == (
        [versioning, policy],
        {EVERYTHING},
    )
    assert _reading(context, lambda: context.referrers("aws_s3_bucket.models", "aws_s3_bucket_policy")) == (
        [policy],
        {"aws_s3_bucket_policy"},
    )
    assert context.referrers("aws_s3_bucket.logs") == []
    assert _reading(context, lambda: context.at('aws_s3_bucket.models["a"]')) == ([bucket], {EVERYTHING})


def test_an_index_is_built_once_and_its_reads_count_for_every_check_that_asks():
    builds = []

    def names_by_kind(context: RuleContext) -> dict[str, list[str]]:
        builds.append(1)
        return {"Service": [service.name for service in context.of_kind("Service")]}

    context = RuleContext([_resource("Service", "a", "ns"), _resource("Service", "b", "ns")], facts=None, settings=None)
    assert _reading(context, lambda: context.index(names_by_kind)) == ({"Service": ["a", "b"]}, {"Service"})
    # the second check asks the built index: no second build, and it has read the same
    assert _reading(context, lambda: context.index(names_by_kind)) == ({"Service": ["a", "b"]}, {"Service"})
    assert builds == [1]


def test_model_stores_are_read_from_uri_keys_and_uri_variables_at_any_depth():
    import textwrap

    from aiiac_ls.formats.source import SourceFile
    from aiiac_ls.formats.yaml import kubernetes_resources, parse_yaml
    from aiiac_rules.facts import collect_facts

    text = textwrap.dedent("""\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: llama}
        spec:
          predictor:
            model: {storageUri: "gs://team-weights/llama/3/"}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: vllm}
        spec:
          template:
            spec:
              containers:
                - name: server
                  args: ["--model", "s3://not-a-uri-key/x/"]
                  env:
                    - {name: STORAGE_URI, value: "s3://acme-models/models/mistral/model.tar.gz"}
                    - {name: CACHE, value: "s3://acme-cache/tmp/"}
                    - {value: "s3://unnamed/x/", name: STORAGE_URI}
        """)
    documents, _ = parse_yaml(SourceFile("serving.yaml", text))
    facts = collect_facts(kubernetes_resources(documents, "serving.yaml"), settings=None)
    assert facts.model_buckets == {
        "team-weights": {"llama/3/"},
        "acme-models": {"models/mistral/"},
        "unnamed": {"x/"},
    }
    assert facts.reasons["acme-models"] == "Deployment/vllm loads a model from it"
