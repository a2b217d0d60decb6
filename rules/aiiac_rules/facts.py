"""Scan-wide facts that rules share: which buckets hold model artifacts, and under which prefix.

Computed once per scan from every resource (Terraform and Kubernetes alike), so an IAM policy in
`iam.tf` is judged knowing that a KServe `storageUri` in `k8s/` serves a model from that bucket.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from aiiac_ls.model.nodes import Mapping, Scalar, Sequence, as_str
from aiiac_ls.model.resources import Resource

from .identity_links import IdentityFacts, collect_identity
from .serving import MODEL_NAME_HINT, split_object_uri

_MODEL_URI_KEYS = {"model_data_url", "s3_uri", "storageUri", "storage_uri", "artifact_uri", "STORAGE_URI"}


@dataclass
class Facts:
    # bucket name -> key prefixes that hold models ("" when only the bucket is known)
    model_buckets: dict[str, set[str]] = field(default_factory=dict)
    # bucket name -> why it is considered a model bucket (for messages)
    reasons: dict[str, str] = field(default_factory=dict)
    # which ServiceAccounts cloud identities trust, and which identities ServiceAccounts ask for
    identity: IdentityFacts = field(default_factory=IdentityFacts)

    def add(self, bucket: str, prefix: str, reason: str) -> None:
        self.model_buckets.setdefault(bucket, set()).add(prefix)
        self.reasons.setdefault(bucket, reason)

    def merged(self, later: Facts) -> Facts:
        """These facts, then `later`'s: what one scan of both sets of resources would collect."""
        result = Facts(identity=self.identity.merged(later.identity))
        for facts in (self, later):
            for bucket, prefixes in facts.model_buckets.items():
                for prefix in sorted(prefixes):
                    result.add(bucket, prefix, facts.reasons[bucket])
        return result

    def is_model_bucket(self, bucket: str) -> bool:
        return bucket in self.model_buckets

    def model_prefix(self, bucket: str) -> str | None:
        """The directory under which the bucket's models live, if the scan tells."""
        prefixes = sorted(p for p in self.model_buckets.get(bucket, ()) if p)
        if not prefixes:
            return None
        common = posixpath.commonpath(prefixes) if len(prefixes) > 1 else prefixes[0].rstrip("/")
        return common + "/" if common else None


def _model_dir(key: str) -> str:
    """`models/llama/model.tar.gz` -> `models/llama/`; `models/llama` -> `models/llama/`."""
    key = key.strip("/")
    if not key:
        return ""
    last = key.rsplit("/", 1)[-1]
    if "." in last:
        key = posixpath.dirname(key)
    return key + "/" if key else ""


def _uris(node, found: list[str], depth: int = 0) -> list[str]:
    """The strings written under a model-URI key (or environment variable) anywhere in `node`,
    in order; filled in place (a generator per node cost more than the look-ups)."""
    if depth > 40:
        return found
    if isinstance(node, Mapping):
        for key, entry in node.entries.items():
            child = entry.value
            if isinstance(child, Scalar):
                named = key in _MODEL_URI_KEYS or (key == "value" and as_str(node.get("name")) in _MODEL_URI_KEYS)
                if named and isinstance(child.value, str):
                    found.append(child.value)
            elif isinstance(child, (Mapping, Sequence)):
                _uris(child, found, depth + 1)
    elif isinstance(node, Sequence):
        for item in node.items:
            if isinstance(item, (Mapping, Sequence)):
                _uris(item, found, depth + 1)
    return found


def _tag_text(bucket: Resource) -> str:
    """A bucket's tags (labels) as one text, to look for a model hint in."""
    tags = bucket.body.get("tags" if bucket.kind == "aws_s3_bucket" else "labels")
    if not isinstance(tags, Mapping):
        return ""
    return " ".join(f"{k} {v.value}" for k, v in tags.items() if isinstance(v, Scalar))


def collect_facts(resources: list[Resource], settings) -> Facts:
    facts = Facts(identity=collect_identity(resources))
    for bucket in getattr(settings, "model_buckets", ()):
        facts.add(bucket, "", "listed in `model-buckets`")
    for resource in resources:
        found = resource.memo.get("model stores")  # a resource's own, the same while it is
        if found is None:
            found = resource.memo["model stores"] = list(_model_stores(resource))
        for bucket, prefix, why in found:
            facts.add(bucket, prefix, why)
    return facts


def _model_stores(resource: Resource):
    """(bucket, model prefix, why) for each model store `resource` makes or loads from."""
    if resource.kind in ("aws_s3_bucket", "google_storage_bucket"):
        name = as_str(resource.body.get("bucket" if resource.kind == "aws_s3_bucket" else "name"))
        if name and (
            MODEL_NAME_HINT.search(name)
            or MODEL_NAME_HINT.search(resource.name)
            or MODEL_NAME_HINT.search(_tag_text(resource))
        ):
            yield name, "", f"bucket `{name}` is named or tagged as a model store"
        return
    if resource.source == "terraform" and not resource.kind.startswith(("aws_sagemaker", "google_vertex")):
        return
    for uri in _uris(resource.body, []):
        parts = split_object_uri(uri)
        if parts:  # s3:// and gs://
            yield parts[1], _model_dir(parts[2]), f"{resource.address} loads a model from it"
