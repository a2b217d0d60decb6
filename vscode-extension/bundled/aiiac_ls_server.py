"""Start the aiiac-ls that this VS Code extension carries, with the user's Python (3.10 or later).

`libs/` holds aiiac-ls and its pure-Python dependencies; `native/<platform>/` holds tree-sitter
(one build per CPython minor version, `cp3XX/`) and tree-sitter-hcl (`abi3/`) for the platforms the
extension is built for. Nothing is installed or downloaded: the folders are put at the front of
`sys.path` and the server runs from them. Where no build fits (another platform, another Python,
a musl Linux), this exits with status 3 and says so; the extension then looks for an installed
aiiac-ls instead (`pip install aiiac-ls`).

    python aiiac_ls_server.py --probe     # 0 if the bundled server can run with this Python
    python aiiac_ls_server.py [aiiac-ls arguments]     # e.g. --stdio, or --check PATH
"""

from __future__ import annotations

import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
UNSUPPORTED = 3
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def platform_key() -> str:
    """linux-x86_64, linux-aarch64, darwin-x86_64, darwin-aarch64, win32-x86_64, ..."""
    override = os.environ.get("AIIAC_BUNDLED_PLATFORM")  # tests: a platform without a build
    if override:
        return override
    machine = platform.machine().lower()
    return f"{sys.platform}-{_MACHINES.get(machine, machine)}"


def search_path() -> list[str]:
    native = os.path.join(HERE, "native", platform_key())
    version = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    return [os.path.join(HERE, "libs"), os.path.join(native, version), os.path.join(native, "abi3")]


def main() -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 - any Python the user has may run this file
        print(f"aiiac-ls (bundled) needs Python 3.10 or later, not {platform.python_version()}", file=sys.stderr)
        return UNSUPPORTED
    sys.path[:0] = search_path()
    try:
        import tree_sitter  # noqa: F401
        import tree_sitter_hcl  # noqa: F401
    except ImportError as exc:
        print(
            f"aiiac-ls (bundled) has no tree-sitter build for Python {platform.python_version()} on "
            f"{platform_key()} ({exc}); install aiiac-ls with pip and set aiiac.server.interpreter",
            file=sys.stderr,
        )
        return UNSUPPORTED
    if sys.argv[1:] == ["--probe"]:
        from aiiac_ls import __version__

        print(f"aiiac-ls {__version__} (bundled), Python {platform.python_version()} on {platform_key()}")
        return 0
    from aiiac_ls.cli import run

    sys.argv = ["aiiac-ls", *sys.argv[1:]]
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
