"""Kustomize, built in-process with provenance: see `build.py`."""

from .build import KUSTOMIZATION_FILES, Builder, Built, kustomization_file

__all__ = ["KUSTOMIZATION_FILES", "Builder", "Built", "kustomization_file"]
