"""Model-artifact storage (AIS4xx, AWS S3)."""

from __future__ import annotations

from aiiac_ls.model.findings import AddBlockAfter, Fix, Hit, ReplaceValue, SetPath
from aiiac_ls.model.nodes import as_bool, as_list, as_str
from aiiac_ls.rules import base_address, rule

from .policies import BUCKET_POLICY_TYPES, policy_documents, principal_is_public, statements

TF = "terraform"
PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
_PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def _bucket_index(ctx) -> tuple[dict[str, list], dict[str, list]]:
    """The scope's buckets by address (without instance key) and by name, built once."""
    by_address: dict[str, list] = {}
    by_name: dict[str, list] = {}
    for bucket in ctx.of_kind("aws_s3_bucket"):
        by_address.setdefault(base_address(bucket.address), []).append(bucket)
        name = as_str(bucket.body.get("bucket"))
        if name is not None:
            by_name.setdefault(name, []).append(bucket)
    return by_address, by_name


def buckets_named(node, ctx) -> list:
    """The buckets of the scope that a `bucket` argument names: by reference
    (`aws_s3_bucket.models.id`) or by the bucket's name."""
    if node is None:
        return []
    by_address, by_name = ctx.index(_bucket_index)
    found = list(by_address.get(node.ref, ())) if node.ref else []
    name = as_str(node)
    if name is not None:
        found += [bucket for bucket in by_name.get(name, ()) if bucket not in found]
    return found


def _unknown_bucket(node) -> bool:
    """A `bucket` that is neither known nor a reference: it may be any bucket, so never guess."""
    return node is not None and not node.known and node.ref is None


class _Companions:
    """Resources that configure a bucket from outside (`aws_s3_bucket_versioning`, policies,
    public access blocks...), by bucket, one table per kind, each built on first use."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.tables: dict[str, tuple[dict[int, list], list]] = {}

    def of(self, bucket, kind: str, unknown: bool) -> list:
        table = self.tables.get(kind)
        if table is None:
            by_bucket: dict[int, list] = {}
            anywhere: list = []
            for companion in self.ctx.of_kind(kind):
                target = companion.body.get("bucket")
                for named in buckets_named(target, self.ctx):
                    by_bucket.setdefault(id(named), []).append(companion)
                if _unknown_bucket(target):
                    anywhere.append(companion)
            table = self.tables[kind] = (by_bucket, anywhere)
        found = table[0].get(id(bucket), [])
        return found + table[1] if unknown and table[1] else found


def companions(bucket, ctx, kind: str, unknown: bool = True) -> list:
    """The resources of `kind` that configure `bucket`; with `unknown`, also those whose bucket
    cannot be known (they may be for this one)."""
    return ctx.index(_Companions).of(bucket, kind, unknown)


def _public_access_block_text(bucket) -> str:
    """A complete block for `bucket`; a counted or for_each bucket is iterated the same way."""
    reference = f"{bucket.kind}.{bucket.name}"
    lines = [f'resource "aws_s3_bucket_public_access_block" "{bucket.name}" {{']
    if bucket.body.get("count") is not None:
        lines += [f"  count  = length({reference})", f"  bucket = {reference}[count.index].id"]
    elif bucket.body.get("for_each") is not None:
        lines += [f"  for_each = {reference}", "  bucket   = each.value.id"]
    else:
        lines.append(f"  bucket = {reference}.id")
    lines.append("")
    lines += [f"  {flag} = true" for flag in PUBLIC_ACCESS_FLAGS]
    lines.append("}")
    return "\n".join(lines)


@rule(
    id="AIS401",
    unsafe_fix="consumers that rely on public access to the bucket lose it",
    title="S3 bucket public access is not fully blocked",
    severity="high",
    applies_to={"aws_s3_bucket", "aws_s3_bucket_public_access_block"},
    source=TF,
    equivalents={
        "checkov": ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
        "trivy": ["AVD-AWS-0094", "AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093"],
        "tfsec": [
            "aws-s3-specify-public-access-block",
            "aws-s3-block-public-acls",
            "aws-s3-block-public-policy",
            "aws-s3-ignore-public-acls",
            "aws-s3-no-public-buckets",
        ],
    },
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"],
    fixable=True,
)
def public_access_block(resource, ctx):
    """## What it does
    Flags S3 buckets that have no `aws_s3_bucket_public_access_block` in the same module (and no
    account-wide `aws_s3_account_public_access_block` blocking everything), and public access
    blocks with any of the four flags not `true` (an absent flag is `false`).

    ## Why is this bad?
    Model artifacts, checkpoints and training data sit in S3. Without the public access block,
    a single later change (an ACL, a bucket policy written for a partner, a console click)
    publishes them: leaked weights are model theft, and leaked training data is often personal
    data. The block is the guard that makes such mistakes fail.

    ## Example
    ```hcl
    resource "aws_s3_bucket" "models" {
      bucket = "acme-models"
    }
    ```

    ## Fix
    Add an `aws_s3_bucket_public_access_block` for the bucket with all four flags `true` (the
    quick fix writes the complete resource), or set the missing flags to `true`.
    """
    if resource.kind == "aws_s3_bucket_public_access_block":
        for flag in PUBLIC_ACCESS_FLAGS:
            entry = resource.body.entry(flag)
            if entry is None:
                yield Hit(
                    resource.head,
                    f"`{flag}` is not set (defaults to false)",
                    Fix(f"Set {flag} = true", (SetPath(resource.body, (flag,), True),)),
                )
            elif as_bool(entry.value) is False:
                yield Hit(entry, f"`{flag}` is false", Fix(f"Set {flag} = true", (ReplaceValue(entry.value, True),)))
        return
    for account_block in ctx.of_kind("aws_s3_account_public_access_block"):
        if all(as_bool(account_block.body.get(flag)) is True for flag in PUBLIC_ACCESS_FLAGS):
            return
    if companions(resource, ctx, "aws_s3_bucket_public_access_block"):
        return
    yield Hit(
        resource.head,
        f"bucket `{resource.name}` has no public access block",
        Fix(
            "Add aws_s3_bucket_public_access_block with all four flags",
            (AddBlockAfter(resource.span, _public_access_block_text(resource)),),
        ),
    )


@rule(
    id="AIS402",
    unsafe_fix="consumers that rely on the public ACL lose access",
    title="S3 bucket grants public access",
    severity="critical",
    applies_to={"aws_s3_bucket", "aws_s3_bucket_acl"} | BUCKET_POLICY_TYPES,
    source=TF,
    equivalents={
        "checkov": ["CKV_AWS_20", "CKV_AWS_57", "CKV_AWS_70"],
        "trivy": ["AVD-AWS-0092"],
        "tfsec": ["aws-s3-no-public-access-with-acl"],
    },
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl"],
    fixable=True,
)
def public_bucket(resource, ctx):
    """## What it does
    Flags S3 buckets made public by a canned ACL (`public-read`, `public-read-write`,
    `authenticated-read`), by an ACL grant to the AllUsers / AuthenticatedUsers groups, or by a
    bucket policy statement that allows `Principal: "*"` without a condition.

    ## Why is this bad?
    Anyone on the internet can then list and download the bucket: model weights, tokenizer
    files, fine-tuning datasets and evaluation data. With write access they can replace the
    weights your endpoints load on the next deploy (model poisoning).

    ## Example
    ```hcl
    resource "aws_s3_bucket_acl" "models" {
      bucket = aws_s3_bucket.models.id
      acl    = "public-read"
    }
    ```

    ## Fix
    Use `acl = "private"` (quick fix) or, better, `BucketOwnerEnforced` object ownership with no
    ACLs; grant access to named principals (a CloudFront origin access control, a role) instead
    of `*`.
    """
    acl = resource.body.entry("acl")
    if acl is not None and as_str(acl.value) in PUBLIC_ACLS:
        yield Hit(
            acl,
            f"canned ACL `{as_str(acl.value)}` makes the bucket public",
            Fix('Set acl = "private"', (ReplaceValue(acl.value, "private"),)),
        )
    for policy_block in resource.body.blocks("access_control_policy"):
        for grant in policy_block.blocks("grant"):
            for grantee in grant.blocks("grantee"):
                uri = grantee.entry("uri")
                if uri is not None and as_str(uri.value) in _PUBLIC_GRANTEES:
                    yield Hit(uri, "ACL grant to a public group")
    if resource.kind not in BUCKET_POLICY_TYPES:
        return
    for document in policy_documents(resource):
        for statement in statements(document):
            if not statement.allows or statement.node.get("Condition") is not None:
                continue
            public = principal_is_public(statement.node.get("Principal"))
            if public is not None:
                actions = ", ".join(
                    a.value
                    for a in as_list(statement.node.get("Action"))
                    if hasattr(a, "value") and isinstance(a.value, str)
                )
                yield Hit(public, f"bucket policy allows {actions or 'actions'} to everyone (Principal *)")
