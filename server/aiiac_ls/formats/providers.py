"""What Terraform providers do that the configuration alone does not say: attributes they
compute that are still known from the configuration (a bucket's ARN from its name), data
sources they render (`aws_iam_policy_document` as the policy JSON it produces), and the IAM
policy documents a resource carries, decoded once into the model (`Resource.policies`,
`Resource.trust_policy`) so rules read trees, never JSON strings."""

from __future__ import annotations

from ..model.nodes import Mapping, Node, Scalar, Sequence, Span, Unknown, as_list
from ..model.resources import Resource
from .json_documents import parse_json_document

_BUCKET_TYPES = {"aws_s3_bucket"}


def computed_attribute(type_: str, attr: str, body: Node, span: Span, address: str) -> Node | None:
    """Attributes the provider computes that can still be known from configuration."""
    if not isinstance(body, Mapping):
        return Unknown(span, f"{address}.{attr} not known", ref=address)
    configured = body.get(attr)
    if configured is not None:
        return _ref_copy(configured, span, address)
    bucket = (
        body.get("bucket") if type_ in _BUCKET_TYPES else body.get("name") if type_ == "google_storage_bucket" else None
    )
    if isinstance(bucket, Scalar) and isinstance(bucket.value, str):
        name = bucket.value
        if type_ == "aws_s3_bucket":
            table = {
                "id": name,
                "bucket": name,
                "arn": f"arn:aws:s3:::{name}",
                "bucket_domain_name": f"{name}.s3.amazonaws.com",
            }
        else:
            table = {"id": name, "name": name, "url": f"gs://{name}"}
        if table.get(attr) is not None:
            return Scalar(table[attr], span, ref=address)
    return Unknown(span, f"{address}.{attr} is computed by the provider", ref=address)


def _ref_copy(node: Node, span: Span, address: str) -> Node:
    if isinstance(node, Scalar):
        return Scalar(node.value, span, ref=address)
    if isinstance(node, Unknown):
        return Unknown(span, node.reason, ref=address)
    return node


def rendered_data_attribute(type_: str, attr: str | None, body: Node, span: Span, address: str) -> Node | None:
    """`data.<type_>.<name>.<attr>` when the provider renders it from the block (None: not one)."""
    if type_ == "aws_iam_policy_document" and attr in ("json", "minified_json"):
        if isinstance(body, Mapping):
            return policy_document_from_data(body, span, address)
        return Unknown(span, "policy document not known", ref=address)
    return None


_STATEMENT_KEYS = {
    "sid": "Sid",
    "effect": "Effect",
    "actions": "Action",
    "not_actions": "NotAction",
    "resources": "Resource",
    "not_resources": "NotResource",
}


def policy_document_from_data(body: Mapping, span: Span, address: str) -> Node:
    """`data "aws_iam_policy_document"` as the JSON tree it renders, with HCL positions."""
    document = Mapping(body.span, style="hcl-block", head=body.head, ref=address)
    document.set("Version", body.get("version") or Scalar("2012-10-17", body.head))
    statements = Sequence(body.span, style="hcl-blocks")
    for key in ("source_policy_documents", "source_json"):
        for source in as_list(body.get(key)):
            parsed = source if isinstance(source, Mapping) else parse_json_document(source)
            if isinstance(parsed, Mapping):
                statements.items.extend(as_list(parsed.get("Statement")))
            elif isinstance(source, Unknown):
                statements.items.append(Unknown(source.span, "source policy not known", ref=source.ref))
    for block in body.blocks("statement"):
        statement = Mapping(block.span, style="hcl-block", indent=block.indent, head=block.head)
        statement.set("Effect", Scalar("Allow", block.head))  # the provider's default
        for hcl_key, json_key in _STATEMENT_KEYS.items():
            entry = block.entry(hcl_key)
            if entry is not None:
                statement.set(json_key, entry.value, entry.key_span)
        for hcl_key, json_key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            principals = block.blocks(hcl_key)
            if principals:
                mapping = Mapping(principals[0].span, style="hcl-block", head=principals[0].head)
                for principal in principals:
                    type_node = principal.get("type")
                    type_name = type_node.value if isinstance(type_node, Scalar) else "?"
                    identifiers = principal.get("identifiers") or Unknown(principal.span, "no identifiers")
                    mapping.set(str(type_name), identifiers, principal.head)
                statement.set(json_key, mapping, principals[0].head)
        conditions = block.blocks("condition")
        if conditions:
            condition_map = Mapping(conditions[0].span, style="hcl-block", head=conditions[0].head)
            for condition in conditions:
                test, variable = condition.get("test"), condition.get("variable")
                if isinstance(test, Scalar):
                    operator = condition_map.get(str(test.value))
                    if not isinstance(operator, Mapping):
                        operator = Mapping(condition.span, style="hcl-block", head=condition.head)
                        condition_map.set(str(test.value), operator, condition.head)
                    # `"${module.eks.oidc_provider}:sub"` is not known statically; its values are
                    key = str(variable.value) if isinstance(variable, Scalar) else f"<unknown {_line(condition)}>"
                    operator.set(key, condition.get("values") or Unknown(condition.span, ""), condition.head)
                else:
                    condition_map.set(f"<unknown {_line(condition)}>", Unknown(condition.span, "condition"))
            statement.set("Condition", condition_map, conditions[0].head)
        statements.items.append(statement)
    document.set("Statement", statements)
    return document


def _line(block: Mapping) -> int:
    """The line a block starts on (its head, else its span), to name an unknown condition key."""
    span = block.head or block.span
    return span.start_line if span is not None else 0


def decode_policies(resource: Resource) -> Resource:
    """Fill in the IAM policy documents `resource` carries: its `policy` (an inline policy of a
    role), the document a `data "aws_iam_policy_document"` renders, and a role's trust policy."""
    body = resource.body
    if resource.kind == "aws_iam_policy_document" and resource.block_type == "data":
        document = policy_document_from_data(body, resource.head, resource.address)
        resource.policies = (document,) if isinstance(document, Mapping) else ()
        return resource
    if resource.kind == "aws_iam_role":
        candidates = [block.get("policy") for block in body.blocks("inline_policy")]
        trust = body.get("assume_role_policy")
        decoded = parse_json_document(trust) if trust is not None else None
        resource.trust_policy = decoded if isinstance(decoded, Mapping) else None
    else:
        candidates = [body.get("policy")]
    documents = (parse_json_document(candidate) for candidate in candidates if candidate is not None)
    resource.policies = tuple(document for document in documents if isinstance(document, Mapping))
    return resource
