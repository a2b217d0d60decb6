"""`python -m aiiac_ls`: the same as the `aiiac-ls` command (how a bundled server is started)."""

from .cli import run

if __name__ == "__main__":
    run()
