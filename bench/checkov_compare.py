"""Compare aiiac's verdicts with Checkov's on the same objects of ../shared/corpus.

    python bench/checkov_compare.py --checkov /path/to/checkov [--corpus ../shared/corpus]
    python bench/checkov_compare.py --checkov /path/to/checkov --terraform

Checkov is a test-only tool here (install it in its own venv). Kubernetes: both tools read the
corpus's plain manifests and the reference renders of its charts (`_rendered/`, what Checkov
would scan after `helm template`). Terraform (`--terraform`): both read every `.tf` folder of the
corpus; resources are matched by file and address (module prefixes and instance keys dropped,
as Checkov evaluates a module's files on their own). For every Checkov check that an aiiac rule
lists as equivalent, each object or resource Checkov evaluated is compared: both fail, both
pass, or they disagree. Prints a Markdown table and the disagreements, for
docs/checkov-comparison.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiiac_ls.config import Config
from aiiac_ls.engine import Engine
from aiiac_ls.rules import all_rules


def manifests(corpus: Path) -> list[Path]:
    files = sorted((corpus / "_rendered").glob("*.yaml"))
    for folder in ("kuberay/ray-operator/config/samples", "data-on-eks", "terraform-aws-eks-blueprints/patterns"):
        for path in sorted((corpus / folder).rglob("*.y*ml")):
            if (
                "/templates/" not in str(path)
                and "/charts/" not in str(path)
                and path.name not in ("Chart.yaml", "values.yaml")
                and "values" not in path.name
            ):
                files.append(path)
    return files


# checks our rules claim on purpose to report less than (every aiiac failure is a Checkov failure,
# not the reverse): each finding still names the check, so a Checkov skip silences it; for these
# the measure is that aiiac never fails alone, the rest is the deliberate difference explained in
# docs/checkov-comparison.md
NARROWER = {
    "CKV_K8S_13": "AIS123 asks memory limits of model servers only",
    "CKV_K8S_38": "AIS109 leaves pods whose ServiceAccount has RBAC bindings or no automount",
    "CKV_K8S_40": "AIS116 judges explicit low IDs only; an unset UID is AIS101's",
    "CKV_K8S_43": "AIS131 leaves untagged and moving tags to AIS110",
    "CKV_AWS_355": "AIS307 judges the data-plane actions that reach models, keys and secrets",
    "CKV_AWS_356": "AIS307 judges the data-plane actions that reach models, keys and secrets",
    "CKV_AWS_145": "AIS406 asks customer keys of model buckets only",
    "CKV_AWS_21": "AIS407 asks versioning of model buckets only",
    "CKV_AWS_18": "AIS408 asks access logs of model buckets only",
    "CKV_AZURE_227": "AIS623 asks host encryption of GPU node pools only",
}


def object_key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
    return kind, namespace or "default", name


def run_checkov(checkov: str, files: list[Path]) -> tuple[dict, float]:
    with tempfile.TemporaryDirectory() as scratch:
        for index, path in enumerate(files):  # one folder, so Checkov reads each file once
            os.symlink(path, Path(scratch) / f"{index:04d}-{path.name}")
        start = time.perf_counter()
        result = subprocess.run(
            [checkov, "-d", scratch, "--framework", "kubernetes", "-o", "json", "--compact", "--skip-download"],
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
    data = json.loads(result.stdout)
    reports = data if isinstance(data, list) else [data]
    verdicts: dict[tuple, dict[str, bool]] = collections.defaultdict(dict)  # object -> check -> failed
    for report in reports:
        results = report.get("results", {})
        for failed, key in ((False, "passed_checks"), (True, "failed_checks")):
            for check in results.get(key, []):
                kind, _, rest = check["resource"].partition(".")
                namespace, _, name = rest.partition(".")
                target = verdicts[object_key(kind, namespace, name)]
                target[check["check_id"]] = target.get(check["check_id"], False) or failed
    return verdicts, elapsed


def run_aiiac(files: list[Path]) -> tuple[dict, float]:
    start = time.perf_counter()
    analysis = Engine(Config()).analyse_paths([str(f) for f in files])
    elapsed = time.perf_counter() - start
    failing: dict[tuple, set[str]] = collections.defaultdict(set)
    for finding in analysis.findings:  # each finding's own equivalents (hostNetwork is CKV_K8S_19 only)
        parts = finding.resource.split("/")
        checks = set(finding.equivalents.get("checkov", []))
        if len(parts) == 3:
            failing[object_key(parts[0], parts[1], parts[2])] |= checks
        elif len(parts) == 2:
            failing[object_key(parts[0], None, parts[1])] |= checks
    return failing, elapsed


def _base_address(address: str) -> str:
    """`module.m.aws_s3_bucket.b["x"]` -> `aws_s3_bucket.b`."""
    address = address.split("[", 1)[0]
    parts = address.split(".")
    while len(parts) > 2 and parts[0] == "module":
        parts = parts[2:]
    return ".".join(parts[-2:]) if len(parts) >= 2 else address


def run_checkov_terraform(checkov: str, corpus: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [checkov, "-d", str(corpus), "--framework", "terraform", "-o", "json", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    data = json.loads(result.stdout)
    verdicts: dict[tuple, dict[str, bool]] = collections.defaultdict(dict)
    for report in data if isinstance(data, list) else [data]:
        results = report.get("results", {})
        for failed, key in ((False, "passed_checks"), (True, "failed_checks")):
            for check in results.get(key, []):
                target = verdicts[(os.path.realpath(check["file_abs_path"]), _base_address(check["resource"]))]
                target[check["check_id"]] = target.get(check["check_id"], False) or failed
    return verdicts, elapsed


def run_aiiac_terraform(corpus: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    analysis = Engine(Config()).analyse_paths([str(corpus)])
    elapsed = time.perf_counter() - start
    failing: dict[tuple, set[str]] = collections.defaultdict(set)
    for finding in analysis.findings:
        if finding.file.endswith(".tf"):
            key = (os.path.realpath(finding.file), _base_address(finding.resource))
            failing[key] |= set(finding.equivalents.get("checkov", []))
    return failing, elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkov", required=True)
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    parser.add_argument("--terraform", action="store_true", help="compare the Terraform rules")
    args = parser.parse_args()
    if args.terraform:
        checkov, checkov_seconds = run_checkov_terraform(args.checkov, Path(args.corpus))
        ours, aiiac_seconds = run_aiiac_terraform(Path(args.corpus))
        prefix, files = ("CKV_AWS", "CKV2_AWS", "CKV_GCP", "CKV_AZURE"), "all Terraform"
    else:
        paths = manifests(Path(args.corpus))
        checkov, checkov_seconds = run_checkov(args.checkov, paths)
        ours, aiiac_seconds = run_aiiac(paths)
        prefix, files = ("CKV_K8S",), f"{len(paths)}"
    rules_for: dict[str, list[str]] = collections.defaultdict(list)
    for rule in all_rules():
        for check in rule.equivalents.get("checkov", []):
            if check.startswith(prefix):
                rules_for[check].append(rule.id)
    print(
        f"{files} files, {len(checkov)} objects evaluated by Checkov; Checkov {checkov_seconds:.1f} s, "
        f"aiiac {aiiac_seconds:.2f} s\n"
    )
    print(
        "| Checkov check | aiiac rules | relation | objects | both fail | both pass | only aiiac fails "
        "| only Checkov fails | agreement |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    disagreements = []
    totals = collections.Counter()
    narrower = collections.Counter()
    for check in sorted(rules_for, key=lambda c: (c.rsplit("_", 1)[0], int(c.rsplit("_", 1)[1]))):
        ids = rules_for[check]
        counts = collections.Counter()
        for obj, checks in checkov.items():
            if check not in checks:
                continue
            theirs = checks[check]
            mine = check in ours.get(obj, set())
            counts["objects"] += 1
            if theirs and mine:
                counts["both_fail"] += 1
            elif not theirs and not mine:
                counts["both_pass"] += 1
            elif mine:
                counts["only_aiiac"] += 1
                disagreements.append((check, "aiiac only", obj, ids))
            else:
                counts["only_checkov"] += 1
                disagreements.append((check, "Checkov only", obj, ids))
        (narrower if check in NARROWER else totals).update(counts)
        agreement = (counts["both_fail"] + counts["both_pass"]) / counts["objects"] if counts["objects"] else 0
        relation = "narrower" if check in NARROWER else "equivalent"
        print(
            f"| {check} | {', '.join(ids)} | {relation} | {counts['objects']} | {counts['both_fail']} "
            f"| {counts['both_pass']} | {counts['only_aiiac']} | {counts['only_checkov']} | {agreement:.0%} |"
        )
    agreement = (totals["both_fail"] + totals["both_pass"]) / totals["objects"] if totals["objects"] else 0
    print(
        f"| **equivalent checks** | | | {totals['objects']} | {totals['both_fail']} | {totals['both_pass']} | "
        f"{totals['only_aiiac']} | {totals['only_checkov']} | {agreement:.1%} |"
    )
    if narrower["objects"]:
        print(
            f"| **narrower checks** | | | {narrower['objects']} | {narrower['both_fail']} | {narrower['both_pass']} | "
            f"{narrower['only_aiiac']} | {narrower['only_checkov']} | aiiac alone: "
            f"{narrower['only_aiiac'] / narrower['objects']:.1%} |"
        )
    crd_objects = {obj for obj in ours if obj[0] in ("RayCluster", "RayService", "RayJob", "InferenceService")}
    print(f"\nObjects only aiiac inspects (model-serving CRDs with findings): {len(crd_objects)}")
    print("\nDisagreements:")
    for check, side, obj, ids in disagreements:
        print(f"- {check} ({', '.join(ids)}): {side}: {'/'.join(str(part) for part in obj)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
