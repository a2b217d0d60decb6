"""Reading IAM policy documents (decoded into the model by the format layer) and their statements."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass

from aiiac_ls.model.nodes import Mapping, Node, Scalar, as_list, as_str
from aiiac_ls.model.resources import Resource

_EVERY_S3 = re.compile(r"arn:(aws|aws-cn|aws-us-gov|\*):s3:::\*(/\*)?")


def names_every_s3_resource(arn: str) -> bool:
    """`*`, or an S3 ARN naming every bucket or every object of every bucket, in any partition
    (`arn:aws:s3:::*`, `arn:aws-cn:s3:::*/*`): for data-plane actions, every resource."""
    return arn == "*" or _EVERY_S3.fullmatch(arn) is not None


IDENTITY_POLICY_TYPES = frozenset(
    {
        "aws_iam_policy",
        "aws_iam_role_policy",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
        "aws_iam_role",
        "aws_iam_policy_document",
    }
)
BUCKET_POLICY_TYPES = frozenset({"aws_s3_bucket_policy", "aws_s3_bucket"})


@dataclass
class Statement:
    node: Mapping

    def values(self, key: str) -> list[Node]:
        return as_list(self.node.get(key))

    @property
    def effect(self) -> str | None:
        effect = self.node.get("Effect")
        return as_str(effect) if effect is not None else "Allow"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def action_matches(self, action: str) -> list[Scalar]:
        """The Action entries (wildcards included) that grant `action`."""
        hits = []
        for item in self.values("Action"):
            pattern = as_str(item)
            if (
                isinstance(item, Scalar)
                and pattern is not None
                and fnmatch.fnmatchcase(action.lower(), pattern.lower())
            ):
                hits.append(item)
        return hits


def policy_documents(resource: Resource) -> Iterator[Mapping]:
    """Every policy document of a resource, as a tree (decoded when it was loaded)."""
    yield from resource.policies


def statements(document: Mapping) -> Iterator[Statement]:
    for item in as_list(document.get("Statement")):
        if isinstance(item, Mapping):
            yield Statement(item)


def principal_is_public(principal: Node | None) -> Scalar | None:
    """The `*` that makes a principal everyone, if it is."""
    if isinstance(principal, Scalar) and principal.value == "*":
        return principal
    if isinstance(principal, Mapping):
        for key in ("AWS", "*"):
            for item in as_list(principal.get(key)):
                if isinstance(item, Scalar) and item.value == "*":
                    return item
    return None
