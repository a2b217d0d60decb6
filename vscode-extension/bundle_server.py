"""Fill `bundled/` with aiiac-ls and its dependencies, so the .vsix runs without a pip install.

    python bundle_server.py --wheel ../dist/aiiac_ls-0.1.0-py3-none-any.whl

`bundled/libs/`: the wheel and its pure-Python dependencies (not python-hcl2, see LEFT_OUT), resolved for Python 3.10 (the oldest
supported; the extra backports it pulls in are harmless on later versions). `bundled/native/`:
tree-sitter for each platform below and each CPython from 3.10 to 3.14, and tree-sitter-hcl (one
abi3 build per platform). ruamel.yaml.clib is left out: ruamel.yaml then parses in pure Python
(slower on very large files; an installed aiiac-ls has the C parser). Wheels come from the package
index at build time; nothing is fetched when the extension runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PLATFORMS = {  # bundled/native/<key> -> the wheel platform tags it accepts (glibc 2.17+, macOS 11+)
    "linux-x86_64": ["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
    "linux-aarch64": ["manylinux2014_aarch64", "manylinux_2_17_aarch64"],
    "darwin-x86_64": ["macosx_11_0_x86_64", "macosx_10_13_x86_64", "macosx_10_9_x86_64", "macosx_10_9_universal2"],
    "darwin-aarch64": ["macosx_11_0_arm64", "macosx_10_9_universal2"],
    "win32-x86_64": ["win_amd64"],
}
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
NATIVE = {"tree-sitter", "tree-sitter-hcl", "ruamel-yaml-clib"}
# python-hcl2 only words Terraform syntax errors more precisely, and needs `regex`, a C extension
# built per Python and platform: without them the bundled server words them as tree-sitter does
LEFT_OUT = {"python-hcl2", "lark", "regex"}
# what Python 3.10 needs on top (pip's report evaluates markers for the Python running it)
FOR_PYTHON_310 = ["tomli", "exceptiongroup"]


def pip(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"pip {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def resolve(wheel: str) -> dict[str, str]:
    """name -> version of everything the wheel needs on Python 3.10."""
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "report.json")
        pip(
            "install", "--quiet", "--dry-run", "--ignore-installed", "--report", report, "--target", scratch,
            "--only-binary=:all:", "--python-version", "3.10", "--implementation", "cp",
            "--platform", "manylinux2014_x86_64", wheel,
        )  # fmt: skip
        with open(report) as handle:
            items = json.load(handle)["install"]
    return {normal(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def unpack(wheels_dir: str, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(wheels_dir)):
        if name.endswith(".whl"):
            with zipfile.ZipFile(os.path.join(wheels_dir, name)) as archive:
                archive.extractall(target)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", required=True)
    parser.add_argument("--out", default=os.path.join(HERE, "bundled"))
    args = parser.parse_args()
    versions = resolve(args.wheel)
    for folder in ("libs", "native"):
        shutil.rmtree(os.path.join(args.out, folder), ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        pure = [
            f"{name}=={version}"
            for name, version in sorted(versions.items())
            if name not in NATIVE | LEFT_OUT | {"aiiac-ls"}
        ]
        pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", "3.10",
            "--platform", "any", "--implementation", "py", "--dest", scratch, *pure, *FOR_PYTHON_310)  # fmt: skip
        shutil.copy(args.wheel, scratch)
        unpack(scratch, os.path.join(args.out, "libs"))
    for key, tags in PLATFORMS.items():
        platforms = [option for tag in tags for option in ("--platform", tag)]
        for python in PYTHONS:
            with tempfile.TemporaryDirectory() as scratch:
                pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", python,
                    "--implementation", "cp", *platforms, "--dest", scratch,
                    f"tree-sitter=={versions['tree-sitter']}")  # fmt: skip
                unpack(scratch, os.path.join(args.out, "native", key, "cp" + python.replace(".", "")))
        with tempfile.TemporaryDirectory() as scratch:
            pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", "3.10",
                "--implementation", "cp", *platforms, "--dest", scratch,
                f"tree-sitter-hcl=={versions['tree-sitter-hcl']}")  # fmt: skip
            unpack(scratch, os.path.join(args.out, "native", key, "abi3"))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"bundled aiiac-ls with {len(versions) - 1} dependencies for {len(PLATFORMS)} platforms: {size >> 20} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
