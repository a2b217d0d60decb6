"""How analysis time grows with input size: the growth exponent of each shape of input.

    python bench/scaling.py [--shapes s3,workloads,...] [--sizes 1250,2500,5000] [--big]

For each shape, inputs of increasing size N are generated in a scratch folder and analysed in a
fresh process (`--child`), which times only the analysis (the interpreter and imports are not part
of the growth) and reports its own peak RSS. The exponent is the least-squares slope of log(time)
over log(N): 1.0 is linear, 2.0 quadratic. `--big` adds the goal sizes of docs/performance.md
(20,000 buckets in one file, 10,000 workloads in one namespace). The `-check` shapes time the
whole command as a user runs it, report included (`workloads-check` as by default, in one
process; `workloads-check-j2` with `-j 2`, which shares the rules with a forked worker, whose peak
RSS is shown in brackets). Nothing is asserted; the numbers go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chart_gen import write_chart

# ---- generated inputs ---------------------------------------------------------------------------


def s3_buckets(root: Path, n: int) -> list[str]:
    """N model buckets in one .tf; every fourth has a versioning resource and a policy that refer
    to it, so the companion and policy look-ups are exercised."""
    parts = []
    for i in range(n):
        parts.append(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "acme-model-weights-{i}"\n}}\n')
        if i % 4 == 0:
            parts.append(
                f'resource "aws_s3_bucket_versioning" "v{i}" {{\n  bucket = aws_s3_bucket.b{i}.id\n'
                f'  versioning_configuration {{\n    status = "Enabled"\n  }}\n}}\n'
            )
            parts.append(
                f'resource "aws_s3_bucket_policy" "p{i}" {{\n  bucket = aws_s3_bucket.b{i}.id\n'
                f'  policy = jsonencode({{Version = "2012-10-17", Statement = [{{Effect = "Deny", '
                f'Principal = "*", Action = "s3:*", Resource = "${{aws_s3_bucket.b{i}.arn}}/*", '
                f'Condition = {{Bool = {{"aws:SecureTransport" = "false"}}}}}}]}})\n}}\n'
            )
    (root / "main.tf").write_text("".join(parts))
    return [str(root)]


def plain_buckets(root: Path, n: int) -> list[str]:
    """N model buckets and nothing else in one .tf: the goal's own input (timed with the report)."""
    (root / "main.tf").write_text(
        "".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "acme-model-weights-{i}"\n}}\n' for i in range(n))
    )
    return [str(root)]


WORKLOAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: server-{i}
  namespace: serving
spec:
  template:
    metadata:
      labels: {{app: server-{i}, tier: serving}}
    spec:
      serviceAccountName: server-{i}
      containers:
        - name: server
          image: vllm/vllm-openai:v0.6.3
          args: ["--model", "s3://acme-model-weights/llama"]
          ports: [{{containerPort: 8000}}]
          resources:
            limits: {{nvidia.com/gpu: 1, memory: 32Gi}}
            requests: {{nvidia.com/gpu: 1, memory: 32Gi, cpu: "4"}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: server-{i}, namespace: serving}}
---
apiVersion: v1
kind: Service
metadata:
  name: server-{i}
  namespace: serving
spec:
  selector: {{app: server-{i}}}
  ports: [{{port: 8000}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: server-{i}, namespace: serving}}
spec:
  podSelector: {{matchLabels: {{app: server-{i}}}}}
  policyTypes: [Ingress]
---
"""


def workloads(root: Path, n: int) -> list[str]:
    """N apps in one namespace, 250 to a file, each a Deployment with its own ServiceAccount,
    Service and NetworkPolicy (as real namespaces are laid out), plus an Ingress in front of
    every tenth Service: every neighbour look-up of the Kubernetes rules is exercised."""
    head = [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: serving}\n---\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: "
        "serving}\nroleRef: {kind: Role, name: r, apiGroup: rbac.authorization.k8s.io}\nsubjects:\n"
        "  - {kind: ServiceAccount, name: server-0, namespace: serving}\n---\n",
    ]
    for i in range(0, n, 10):
        head.append(
            f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: ing-{i}, namespace: "
            f"serving}}\nspec:\n  rules:\n    - http:\n        paths:\n          - backend: "
            f"{{service: {{name: server-{i}, port: {{name: http}}}}}}\n---\n"
        )
    (root / "namespace.yaml").write_text("".join(head))
    for start in range(0, n, 250):
        text = "".join(WORKLOAD.format(i=i) for i in range(start, min(n, start + 250)))
        (root / f"servers-{start // 250:03d}.yaml").write_text(text)
    return [str(root)]


MODULE_RESOURCES = 20


def modules(root: Path, n: int) -> list[str]:
    """About N resources across files and local modules: a root folder of 25-resource files and
    module calls, one module of 20 resources called N/40 times."""
    module = root / "modules" / "store"
    module.mkdir(parents=True)
    (module / "variables.tf").write_text('variable "name" {\n  type = string\n}\n')
    (module / "main.tf").write_text(
        "".join(
            f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "${{var.name}}-{i}"\n}}\n'
            f'output "b{i}" {{\n  value = aws_s3_bucket.b{i}.arn\n}}\n'
            for i in range(MODULE_RESOURCES)
        )
    )
    calls = max(1, n // (2 * MODULE_RESOURCES))
    (root / "modules.tf").write_text(
        "".join(
            f'module "m{i}" {{\n  source = "./modules/store"\n  name   = "team-{i}-models"\n}}\n' for i in range(calls)
        )
    )
    for file_index in range(max(1, n // 50)):
        (root / f"iam{file_index:04d}.tf").write_text(
            "".join(
                f'resource "aws_iam_role_policy" "p{file_index}_{i}" {{\n  role = "r{i}"\n'
                f'  policy = jsonencode({{Statement = [{{Effect = "Allow", Action = "s3:GetObject", '
                f'Resource = "${{module.m{(file_index * 25 + i) % calls}.b0}}/*"}}]}})\n}}\n'
                for i in range(25)
            )
        )
    return [str(root)]


def chart(root: Path, n: int) -> list[str]:
    """A chart of N templates (bench/chart_gen.py)."""
    write_chart(root / "chart", templates=n)
    return [str(root / "chart")]


FIXABLE = """apiVersion: v1
kind: Pod
metadata:
  name: pod-{i}
spec:
  containers:
    - name: c
      image: nginx:1.27
---
"""


def fix_edits(root: Path, n: int) -> list[str]:
    """Pods whose quick fixes add about N edits in one file (each Pod takes several)."""
    (root / "pods.yaml").write_text("".join(FIXABLE.format(i=i) for i in range(max(1, n // 5))))
    return [str(root)]


SHAPES = {
    "s3": (s3_buckets, "aws_s3_bucket in one .tf", [2500, 5000, 10000], [20000]),
    "buckets-check": (plain_buckets, "plain aws_s3_bucket, whole --check with JSON report", [5000, 10000], [20000]),
    "workloads": (workloads, "workloads in one namespace", [1250, 2500, 5000], [10000]),
    "workloads-check": (
        workloads,
        "workloads in one namespace, the whole --check with its JSON report",
        [2500, 5000],
        [10000],
    ),
    "workloads-check-j2": (
        workloads,
        "the same with -j 2 (the rules shared with a worker)",
        [2500, 5000],
        [10000],
    ),
    "modules": (modules, "resources across files and modules", [5000, 10000, 20000], []),
    "chart": (chart, "templates in a chart", [100, 200, 400], []),
    "fix": (fix_edits, "edits taken by --fix", [500, 1000, 2000], []),
}


# ---- measuring ----------------------------------------------------------------------------------


def child(shape: str, paths: list[str]) -> None:
    """Analyse (or fix) in this process; print seconds, findings and peak RSS as JSON."""
    from aiiac_ls.cli import tune_garbage_collector
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine

    tune_garbage_collector(batch=True)  # as `--check` does
    engine = Engine(Config())
    start = time.perf_counter()
    if shape in ("buckets-check", "workloads-check", "workloads-check-j2", "fix"):  # whole runs, as a user makes them
        from aiiac_ls.cli import main

        options = {
            "fix": ["--fix"],
            "buckets-check": ["-j", "1", "--format", "json"],  # (one file: nothing to share)
            "workloads-check": ["--format", "json"],  # the default: one process for one kind of input
            "workloads-check-j2": ["-j", "2", "--format", "json"],
        }[shape]
        with open(os.devnull, "w") as sink:
            stdout, sys.stdout = sys.stdout, sink
            stderr, sys.stderr = sys.stderr, sink
            try:
                main(["--check", *paths, *options, "-o", os.devnull])
            finally:
                sys.stdout, sys.stderr = stdout, stderr
        findings = -1
    else:
        findings = len(engine.analyse_paths(paths).findings)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # a forked worker's, if any
    print(json.dumps({"seconds": seconds, "findings": findings, "rss_mib": peak, "worker_rss_mib": worker}))


def measure(shape: str, n: int) -> dict:
    generate = SHAPES[shape][0]
    with tempfile.TemporaryDirectory() as scratch:
        paths = generate(Path(scratch), n)
        output = subprocess.run(
            [sys.executable, __file__, "--child", shape, *paths],
            capture_output=True,
            text=True,
            check=True,
            cwd=scratch,
        )
    return json.loads(output.stdout.strip().splitlines()[-1])


def exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) over log(N)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(seconds, 1e-6)) for _, seconds in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--sizes", help="comma-separated N, instead of each shape's own")
    parser.add_argument("--big", action="store_true", help="also the goal sizes (20k buckets, 10k workloads)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return 0
    print("| input | N | analysis s | peak RSS MiB (worker's) | findings |")
    print("|---|---:|---:|---:|---:|")
    summary = []
    for shape in args.shapes.split(","):
        _, label, sizes, big = SHAPES[shape]
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else sizes
        points = []
        for n in [*sizes, *(big if args.big else [])]:
            result = measure(shape, n)
            points.append((n, result["seconds"]))
            worker = f" ({result['worker_rss_mib']:.0f})" if result["worker_rss_mib"] else ""
            print(
                f"| {label} | {n} | {result['seconds']:.2f} | {result['rss_mib']:.0f}{worker} | "
                f"{result['findings'] if result['findings'] >= 0 else '-'} |",
                flush=True,
            )
        summary.append((label, exponent(points[: len(sizes)]) if len(sizes) > 1 else None))
    print("\n| input | growth exponent |\n|---|---:|")
    for label, value in summary:  # (one size alone has no exponent)
        print(f"| {label} | {value:.2f} |" if value is not None else f"| {label} | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
