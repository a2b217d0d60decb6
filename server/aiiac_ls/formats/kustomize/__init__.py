"""Kustomize, built in-process with provenance: see `build.py`. Only the file names live here:
a scan looks for kustomizations in every folder, and one without any never imports the builder."""

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

__all__ = ["KUSTOMIZATION_FILES"]
