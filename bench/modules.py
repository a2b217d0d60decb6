"""What expanding Terraform modules costs.

    python bench/modules.py [--calls 20] [--resources 60] [--baseline-src DIR]

Three timings, each the best of three fresh processes (analysis only, as bench/scaling.py):

- `modules`: a root with N calls of one installed registry module (`.terraform/modules` and a real
  `modules.json`) of R resources, each call with its own inputs;
- `flat`: the same N x R resources written out in the root, inputs substituted: the work without
  expansion. The goal is `modules` < 2x `flat`;
- `corpus`: the whole shared corpus (`../shared/corpus`), with this checkout and, given
  `--baseline-src` (a checkout from before module expansion), with that one: the goal is within 10 %.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parents[1] / "shared" / "corpus"

# one group of resources of the module; a module of R resources repeats it R // 6 times
GROUP = """\
resource "aws_s3_bucket" "store_{i}" {{
  bucket = "${{var.name}}-{i}"
  tags   = var.tags
}}

resource "aws_s3_bucket_versioning" "store_{i}" {{
  bucket = aws_s3_bucket.store_{i}.id
  versioning_configuration {{
    status = var.versioning ? "Enabled" : "Suspended"
  }}
}}

resource "aws_s3_bucket_public_access_block" "store_{i}" {{
  bucket                  = aws_s3_bucket.store_{i}.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = var.restrict
}}

resource "aws_s3_bucket_acl" "store_{i}" {{
  count  = var.acl == null ? 0 : 1
  bucket = aws_s3_bucket.store_{i}.id
  acl    = var.acl
}}

resource "aws_iam_policy" "read_{i}" {{
  name = "${{var.name}}-read-{i}"
  policy = jsonencode({{
    Statement = [{{ Effect = "Allow", Action = "s3:GetObject", Resource = "${{aws_s3_bucket.store_{i}.arn}}/*" }}]
  }})
}}

resource "aws_security_group" "serving_{i}" {{
  name = "${{var.name}}-serving-{i}"
  ingress {{
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = var.cidrs
  }}
}}
"""

VARIABLES = """\
variable "name" {
  type = string
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "versioning" {
  type    = bool
  default = true
}
variable "restrict" {
  type    = bool
  default = true
}
variable "acl" {
  type    = string
  default = null
}
variable "cidrs" {
  type    = list(string)
  default = ["10.0.0.0/8"]
}
"""


def _inputs(call: int) -> dict[str, str]:
    return {
        "name": f'"team-{call}-models"',
        "tags": f'{{ team = "team-{call}" }}',
        "versioning": "false" if call % 3 == 0 else "true",
        "restrict": "true",
        "acl": '"public-read"' if call % 5 == 0 else "null",
        "cidrs": '["0.0.0.0/0"]' if call % 4 == 0 else '["10.0.0.0/8"]',
    }


def modules_root(root: Path, calls: int, resources: int) -> None:
    module = root / ".terraform" / "modules" / "store"
    module.mkdir(parents=True)
    (module / "variables.tf").write_text(VARIABLES)
    (module / "main.tf").write_text("".join(GROUP.format(i=i) for i in range(max(1, resources // 6))))
    entries = [{"Key": "", "Source": "", "Dir": "."}]
    text = []
    for call in range(calls):
        entries.append(
            {
                "Key": f"store_{call}",
                "Source": "registry.terraform.io/acme/model-store/aws",
                "Version": "1.0.0",
                "Dir": ".terraform/modules/store",
            }
        )
        inputs = "".join(f"  {name} = {value}\n" for name, value in _inputs(call).items())
        text.append(f'module "store_{call}" {{\n  source  = "acme/model-store/aws"\n  version = "1.0.0"\n{inputs}}}\n')
    (module.parent / "modules.json").write_text(json.dumps({"Modules": entries}))
    (root / "main.tf").write_text("\n".join(text))


def flat_root(root: Path, calls: int, resources: int) -> None:
    """The module's resources written out once per call, each variable replaced by the call's input."""
    blocks = []
    for call in range(calls):
        text = "".join(GROUP.format(i=f"{call}_{i}") for i in range(max(1, resources // 6)))
        for name, value in _inputs(call).items():
            text = text.replace(f"${{var.{name}}}", value.strip('"')).replace(f"var.{name}", value)
        blocks.append(text)
    (root / "main.tf").write_text("".join(blocks))


def child(paths: list[str]) -> None:
    from aiiac_ls.config import Config
    from aiiac_ls.engine import Engine

    start = time.perf_counter()
    analysis = Engine(Config()).analyse_paths(paths)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "findings": len(analysis.findings), "resources": analysis.resources}))


def timed(paths: list[str], cwd: str, src: Path | None = None) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src / 'server'}{os.pathsep}{src / 'rules'}"
    runs = []
    for _ in range(3):
        output = subprocess.run(
            [sys.executable, __file__, "--child", *paths], capture_output=True, text=True, check=True, cwd=cwd, env=env
        )
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda run: run["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--resources", type=int, default=60)
    parser.add_argument("--baseline-src", type=Path, help="a checkout to time the corpus with, for comparison")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    print("| input | analysis s | resources | findings |\n|---|---:|---:|---:|")
    results = {}
    for name, make in (("modules", modules_root), ("flat", flat_root)):
        with tempfile.TemporaryDirectory() as scratch:
            make(Path(scratch), args.calls, args.resources)
            result = results[name] = timed([scratch], scratch)
        label = f"{args.calls} calls of a {args.resources}-resource module" if name == "modules" else "the same, flat"
        print(f"| {label} | {result['seconds']:.3f} | {result['resources']} | {result['findings']} |", flush=True)
    print(f"\nexpansion costs {results['modules']['seconds'] / results['flat']['seconds']:.2f}x the flat root")
    if CORPUS.is_dir():
        corpus = timed([str(CORPUS)], str(CORPUS.parent))
        line = f"\nshared corpus: {corpus['seconds']:.2f} s, {corpus['findings']} findings"
        if args.baseline_src:
            before = timed([str(CORPUS)], str(CORPUS.parent), args.baseline_src)
            line += f"; baseline {before['seconds']:.2f} s, {before['findings']} findings"
            line += f" ({(corpus['seconds'] / before['seconds'] - 1) * 100:+.1f} %)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
