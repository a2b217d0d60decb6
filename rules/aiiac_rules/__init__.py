"""The bundled aiiac rule pack. Importing it registers every rule with `aiiac_ls.rules`; the
engine finds it through the `aiiac_ls.rule_packs` entry point (`PACK`)."""

from aiiac_ls.rules import RulePack, registered_rules

from .compliance import apply as apply_compliance
from .facts import collect_facts
from .kubernetes import charts as _k8s_charts  # noqa: F401
from .kubernetes import context as _k8s_context  # noqa: F401
from .kubernetes import exposure as _k8s_exposure  # noqa: F401
from .kubernetes import hardening as _k8s_hardening  # noqa: F401
from .kubernetes import identity as _k8s_identity  # noqa: F401
from .kubernetes import images as _k8s_images  # noqa: F401
from .kubernetes import kustomize as _k8s_kustomize  # noqa: F401
from .kubernetes import rbac as _k8s_rbac  # noqa: F401
from .kubernetes import runtime as _k8s_runtime  # noqa: F401
from .kubernetes import servers as _k8s_servers  # noqa: F401
from .kubernetes.workloads import workload_kind
from .secrets import credentials as _credentials  # noqa: F401
from .suppression import SUPPRESSION_RULES  # noqa: F401
from .terraform import cross_layer as _cross_layer  # noqa: F401
from .terraform import modules as _modules  # noqa: F401
from .terraform.aws import artifacts as _artifacts  # noqa: F401
from .terraform.aws import eks as _eks  # noqa: F401
from .terraform.aws import iam as _iam  # noqa: F401
from .terraform.aws import model_buckets as _model_buckets  # noqa: F401
from .terraform.aws import network as _network  # noqa: F401
from .terraform.aws import s3 as _s3  # noqa: F401
from .terraform.aws import sagemaker as _sagemaker  # noqa: F401
from .terraform.azure import aks as _aks  # noqa: F401
from .terraform.azure import ml as _azure_ml  # noqa: F401
from .terraform.gcp import gcs as _gcs  # noqa: F401
from .terraform.gcp import gke as _gke  # noqa: F401
from .terraform.gcp import vertex as _vertex  # noqa: F401

PACK = RulePack(name="aiiac", collect_facts=collect_facts, rule_kind=workload_kind)
apply_compliance(registered_rules())
