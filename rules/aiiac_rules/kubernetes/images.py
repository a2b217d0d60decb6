"""Images (AIS13x) and serving visibility (AIS207)."""

from __future__ import annotations

from aiiac_ls.model.findings import Fix, Hit, SetPath
from aiiac_ls.model.nodes import Mapping, as_str
from aiiac_ls.rules import rule

from .workloads import MOVING_TAGS, WORKLOAD_RULE_KINDS, pod_specs, tag_of

K8S = "kubernetes"


@rule(
    id="AIS131",
    title="Image not pinned by digest",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_43"]},
    references=["https://kubernetes.io/docs/concepts/containers/images/#image-names"],
)
def image_digest(resource, ctx):
    """## What it does
    Flags images with a version tag but no `@sha256:` digest. (Images with no tag or a moving tag
    such as `latest` or `nightly` are AIS110's.)

    ## Why is this bad?
    Tags can be moved: whoever can push to the repository (a compromised CI token, a vendor
    account takeover) can replace `tritonserver:24.05-py3` with a backdoored build, and every
    node pulling it afterwards runs the new one next to your models and credentials. A digest
    names the exact bytes you reviewed.

    ## Example
    ```yaml
    image: vllm/vllm-openai:v0.6.3
    ```

    Use instead:
    ```yaml
    image: vllm/vllm-openai:v0.6.3@sha256:<digest>
    ```

    ## Fix
    Append the digest of the reviewed image (`crane digest`, `docker buildx imagetools inspect`),
    and let a dependency bot update tag and digest together.
    """
    for pod in pod_specs(resource, partial=True):
        for container in pod.containers():
            entry = container.node.entry("image")
            image = as_str(entry.value) if entry else None
            if image and "@" not in image and tag_of(image) and tag_of(image).lower() not in MOVING_TAGS:
                yield Hit(entry, f"image `{image}` is not pinned by digest")


@rule(
    id="AIS133",
    redundant_with=("AIS131",),
    title="Cached image used without a registry check",
    severity="low",
    applies_to=WORKLOAD_RULE_KINDS,
    source=K8S,
    equivalents={"checkov": ["CKV_K8S_15"]},
    references=[
        "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
        "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwayspullimages",
    ],
)
def image_pull_policy(resource, ctx):
    """## What it does
    Flags containers whose image is not pinned by digest and whose pull policy is not `Always`
    (set to `IfNotPresent` or `Never`, or left unset with a version tag, which defaults to
    `IfNotPresent`). Left out when AIS131 reports the same workload: pinning the image by
    digest fixes both (AIS131 then takes this rule's Checkov equivalent).

    ## Why is this bad?
    With a cached image the kubelet does not ask the registry: a pod on a shared GPU node can run
    a private model-server image another tenant pulled, without credentials for it, and a tag
    re-pushed after a fix keeps running the old, vulnerable build where it is cached.

    ## Example
    ```yaml
    image: nvcr.io/nvidia/tritonserver:24.05-py3
    imagePullPolicy: IfNotPresent
    ```

    ## Fix
    Pin the image by digest (then cached use is safe), or set `imagePullPolicy: Always`; enable
    the `AlwaysPullImages` admission plugin on multi-tenant clusters.
    """
    for pod in pod_specs(resource):
        for container in pod.containers():
            entry = container.node.entry("image")
            image = as_str(entry.value) if entry else None
            if not image or "@" in image:
                continue
            policy = container.node.entry("imagePullPolicy")
            value = (as_str(policy.value) if policy else None) or None  # `imagePullPolicy: ""` is unset
            if value in ("IfNotPresent", "Never"):
                yield Hit(policy, f"container `{container.name}` runs a cached `{image}` ({value})")
            elif value is None and tag_of(image) not in ("", "latest"):
                yield Hit(entry, f"container `{container.name}` may run a cached `{image}` (IfNotPresent by default)")


_VISIBILITY_LABELS = (
    "networking.knative.dev/visibility",
    "networking.kserve.io/visibility",
    "serving.knative.dev/visibility",
)


@rule(
    id="AIS207",
    unsafe_fix="clients outside the cluster lose access to the route",
    title="Model service routed outside the cluster",
    severity="medium",
    applies_to={"InferenceService", "InferenceGraph", "Service"},
    source=K8S,
    fixable=True,
    references=[
        "https://knative.dev/docs/serving/services/private-services/",
        "https://kserve.github.io/website/latest/modelserving/v1beta1/custom/custom_model/#deploy-the-custom-predictor-on-kserve",
    ],
)
def serving_visibility(resource, ctx):
    """## What it does
    Flags KServe InferenceServices and InferenceGraphs, and Knative Services, that do not carry the
    `networking.knative.dev/visibility: cluster-local` label (or KServe's
    `networking.kserve.io/visibility`).

    ## Why is this bad?
    Without it, Knative publishes the model on the external ingress gateway under a predictable
    host name (`<name>.<namespace>.<domain>`), with no authentication: most models are meant for
    other services in the cluster, and an accidental public endpoint is free inference and a
    model-extraction target.

    ## Example
    ```yaml
    kind: InferenceService
    metadata:
      name: fraud-model
    ```

    Use instead:
    ```yaml
    kind: InferenceService
    metadata:
      name: fraud-model
      labels:
        networking.knative.dev/visibility: cluster-local
    ```

    ## Fix
    Add the label (the quick fix does); publish deliberately public models through an authenticating gateway and
    suppress this finding with the reason.
    """
    if resource.kind == "Service" and not (as_str(resource.body.get("apiVersion")) or "").startswith(
        "serving.knative.dev/"
    ):
        return
    labels = resource.body.find("metadata.labels")
    if isinstance(labels, Mapping) and any(as_str(labels.get(key)) == "cluster-local" for key in _VISIBILITY_LABELS):
        return
    yield Hit(
        resource.head,
        f"{resource.kind} `{resource.name}` is routed through the external gateway (no cluster-local visibility label)",
        Fix(
            "Label it networking.knative.dev/visibility: cluster-local",
            (SetPath(resource.body, ("metadata", "labels", _VISIBILITY_LABELS[0]), "cluster-local"),),
        ),
    )
