"""An Argo CD Application's values edited in the editor: the chart it deploys re-rendered and
re-checked with them, each keystroke timed until its publish arrives (closed loop).

    python bench/gitops.py [--templates 40] [--edits 60]

The chart is bench/chart_gen.py's generated one (N templates); the Application beside it gives
`helm.valuesObject`. Nothing is asserted; the numbers go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: llm
spec:
  source:
    repoURL: https://github.com/acme/platform.git
    path: bench
    helm:
      valuesObject:
        image:
          repository: vllm/vllm-openai
  destination:
    namespace: serving
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--templates", type=int, default=40)
    parser.add_argument("--edits", type=int, default=60)
    args = parser.parse_args()
    from chart_gen import write_chart
    from lsp_latency import Session, percentile, type_into

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_chart(root / "bench", args.templates)
        (root / "apps").mkdir()
        application = root / "apps" / "llm.yaml"
        application.write_text(APPLICATION)
        session = Session(root)
        uri = application.as_uri()
        session.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": APPLICATION}},
        )
        session.wait_diagnostics(uri, 1, timeout=120)
        line = APPLICATION.splitlines().index("          repository: vllm/vllm-openai")
        times = type_into(session, uri, line, len("          repository: vllm/vllm-openai"), args.edits)
        session.close()
    print(
        f"Application values keystroke -> publish ({args.templates}-template chart): "
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {percentile(times, 0.95) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms ({len(times)} edits)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
