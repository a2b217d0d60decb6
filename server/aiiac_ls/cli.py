"""Command line: the language server (default), `--check PATH...` for CI, `--explain`, `--list-rules`.

Heavy imports (parsers, rules) happen only in the branches that need them, so `--version` and
`--help` start in a few tens of milliseconds.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="aiiac-ls",
        description="Security linter for the infrastructure code that serves AI models (Terraform, Kubernetes YAML).",
    )
    parser.add_argument(
        "--check",
        nargs="*",
        metavar="PATH",
        help="analyse files and folders (default: the current folder) and report findings",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json", "sarif", "github", "junit", "markdown"],
        default="text",
        help="output format: text, json, sarif (code scanning), github (workflow annotations), "
        "junit, markdown (a PR comment)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: nearest .aiiac.toml or pyproject.toml with [tool.aiiac])",
    )
    parser.add_argument("--select", metavar="ID,...", help="only these rules (ID prefixes, comma-separated)")
    parser.add_argument("--ignore", metavar="ID,...", help="skip these rules (ID prefixes, comma-separated)")
    parser.add_argument(
        "--policies",
        action="append",
        default=[],
        metavar="PATH",
        help="custom rules: a .rego file, a *.rules.yaml file or a folder of them (repeatable; "
        "adds to the `policies` setting)",
    )
    parser.add_argument(
        "--test-policies",
        metavar="DIR",
        help="run the policies in DIR against the fixture files in DIR and their # expect: lines",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="findings recorded in FILE are accepted: only new ones are reported and fail the run",
    )
    parser.add_argument("--write-baseline", metavar="FILE", help="record the current findings in FILE")
    parser.add_argument(
        "--diff",
        metavar="REV",
        nargs="?",
        const="",
        help="compare with git revision REV: changed resources (also through variables and values) and "
        "new/fixed findings; with --fix and no REV: print the fixes as a unified diff and change nothing",
    )
    parser.add_argument(
        "--fail-on",
        choices=["new", "any"],
        default=None,
        help="exit 1 for new findings only (default with --baseline or --diff) or for any",
    )
    parser.add_argument(
        "--severity-threshold",
        choices=["low", "medium", "high", "critical"],
        default="low",
        help="report, and exit 1 for, only findings at or above this severity (default: low)",
    )
    parser.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        help="Terraform variables file for root modules (repeatable)",
    )
    parser.add_argument(
        "--values",
        "-f",
        action="append",
        default=[],
        metavar="FILE",
        help="Helm values file for charts, over the chart's values.yaml (repeatable)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="set_values",
        help="Helm value for charts, like helm --set (repeatable)",
    )
    parser.add_argument(
        "--render",
        metavar="DIR",
        help="print a chart's rendered manifests like `helm template` (with # Source: headers), or a "
        "kustomization's build like `kubectl kustomize`",
    )
    parser.add_argument(
        "--release-name", default="release-name", help="release name for --render (default release-name)"
    )
    parser.add_argument(
        "--kube-version",
        default=None,
        metavar="vX.Y.Z",
        help="Kubernetes version charts see in .Capabilities (default v1.31.0)",
    )
    parser.add_argument("--fix", action="store_true", help="apply the safe fixes to the files")
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix: also apply fixes that can stop a workload or cut off access (see each rule's Fix safety)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="processes for --check: 2 analyses Terraform beside the Kubernetes files (the default on a "
        "machine with more than one core); -j 2, given, also shares the rules of a scan of 4,000+ resources "
        "with a second process (a few percent faster, nearly twice the memory); 1 uses one process",
    )
    parser.add_argument("--no-color", action="store_true", help="never colour text output")
    parser.add_argument("--explain", metavar="RULE", help="print a rule's documentation")
    parser.add_argument("--list-rules", action="store_true", help="list the rules (text or --format json)")
    parser.add_argument("--version", action="store_true", help="print the version")
    server = parser.add_argument_group("language server (the default when no other action is given)")
    server.add_argument("--stdio", action="store_true", help="serve LSP over stdin/stdout (default)")
    server.add_argument("--tcp", action="store_true", help="serve LSP over TCP, for debugging")
    server.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        from . import __version__

        print(f"aiiac-ls {__version__}")
        return EXIT_OK
    parser = _parser()
    args = parser.parse_args(argv)
    tune_garbage_collector(batch=args.check is not None)
    if args.version:
        from . import __version__

        print(f"aiiac-ls {__version__}")
        return EXIT_OK
    if args.explain:
        return _explain(args.explain)
    if args.render:
        return _render_chart(args)
    if args.list_rules:
        return _list_rules(args.format)
    if args.test_policies:
        return _test_policies(args.test_policies)
    if args.check is not None:
        try:
            return _check(args)
        finally:  # what a one-shot run kept from the collector (`Engine.batch`) is its again
            import gc

            gc.unfreeze()
    if args.diff is not None or args.baseline or args.write_baseline:
        parser.error("--diff, --baseline and --write-baseline go with --check")
    from .lsp.main import serve

    return serve(args)


def _render_chart(args) -> int:
    """Print a chart like `helm template`, so anyone can compare with Helm."""
    import os

    from .formats.helm.chart import RenderOptions, render_chart
    from .formats.kustomize.build import kustomization_file
    from .formats.source import FileSystem

    if not os.path.isfile(os.path.join(args.render, "Chart.yaml")):
        if kustomization_file(args.render, FileSystem()) is not None:
            return _render_kustomization(args.render)
        print(f"aiiac-ls: {args.render}: no Chart.yaml or kustomization.yaml: nothing to render", file=sys.stderr)
        return EXIT_ERROR
    options = RenderOptions(
        release_name=args.release_name, values_files=tuple(args.values), set_values=tuple(args.set_values)
    )
    if args.kube_version:
        options.kube_version = args.kube_version
    result = render_chart(args.render, options)
    for rendered in sorted(result.files, key=lambda f: f.name):
        text = rendered.text.strip("\n")
        if text.strip():
            sys.stdout.write(f"---\n# Source: {rendered.name}\n{text}\n")
    blocking = [p for p in result.problems if p.kind != "warning"]
    for problem in result.problems:
        where = problem.path + (f":{problem.span.start_line + 1}:{problem.span.start_col + 1}" if problem.span else "")
        print(f"{where}: {problem.kind}: {problem.message}", file=sys.stderr)
    return EXIT_ERROR if blocking else EXIT_OK


def _render_kustomization(directory: str) -> int:
    """Print a kustomization's build like `kubectl kustomize` (keys sorted, legacy order)."""
    from ruamel.yaml import YAML

    from .formats.kustomize.build import Builder

    built = Builder(schemas=True).build(directory)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # long strings on one line (kubectl folds them at 80 columns: the same YAML)

    def string(representer, value: str):
        """As kubectl writes strings: blocks for several lines, double quotes where a YAML 1.1
        reader would take the plain text for something else (`yes`, `8000`)."""
        if "\n" in value:
            return representer.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        if _AMBIGUOUS.fullmatch(value):
            return representer.represent_scalar("tag:yaml.org,2002:str", value, style='"')
        return representer.represent_str(value)

    yaml.representer.add_representer(str, string)
    for index, obj in enumerate(built.objects):
        if index:
            sys.stdout.write("---\n")
        yaml.dump(_sorted(obj.plain()), sys.stdout)
    for file, span, message in built.problems:
        where = (span.file if span else file) + (f":{span.start_line + 1}:{span.start_col + 1}" if span else "")
        print(f"{where}: error: {message}", file=sys.stderr)
    for span, what in built.remote:
        print(f"{span.file}:{span.start_line + 1}:{span.start_col + 1}: warning: not fetched: {what}", file=sys.stderr)
    return EXIT_ERROR if built.problems else EXIT_OK


_AMBIGUOUS = re.compile(
    r"|[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.\d+|0x[0-9a-fA-F]+|\.inf|\.nan)"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~"
)


def _sorted(value):
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def tune_garbage_collector(batch: bool = False) -> None:
    """The engine makes many small, acyclic objects and keeps caches alive; with the default
    thresholds, full collections over that heap stall a keystroke for ~100 ms (a chart re-render's
    p95 went from 136 to 39 ms with these). Reference counting still frees almost everything.

    A `batch` run (`--check`) keeps what it loads until the report, so the older generations are
    rarely worth scanning: one middle-generation pass over 2.5 million objects of 10,000
    workloads took 1.4 s and freed nothing. The server keeps 50, as it must free the cycles of
    models it dropped."""
    import gc

    gc.set_threshold(50_000, 1_000 if batch else 50, 100)


def _configured_rules() -> list:
    """Built-in rules and the custom ones the configuration here names (YAML rules, and Rego
    rules their package's `metadata` declares)."""
    from .config import ConfigError, load_config
    from .rules import all_rules

    rules = list(all_rules())
    try:
        config = load_config(["."])
    except ConfigError:
        return rules
    if config.policies:
        from .policy.loader import load_policies
        from .policy.meta import custom_rule

        policies = load_policies(config)
        rules += policies.rules
        if policies.rego is not None:
            for rule_id, meta in sorted(policies.rego.metadata.items()):
                origin = next((m.source.path for m in policies.rego.modules if rule_id in m.source.text), "")
                severity = str(meta.get("severity"))
                rules.append(
                    custom_rule(
                        rule_id,
                        str(meta.get("title") or rule_id),
                        severity if severity in ("low", "medium", "high", "critical") else "medium",
                        origin,
                        meta,
                    )
                )
    return rules


def _explain(rule_id: str) -> int:
    from .rules import get_rule

    _configured_rules()  # registers the custom ones
    rule = get_rule(rule_id)
    if rule is None:
        print(f"aiiac-ls: unknown rule `{rule_id}`; see `aiiac-ls --list-rules`", file=sys.stderr)
        return EXIT_ERROR
    print(rule.markdown())
    return EXIT_OK


def _test_policies(folder: str) -> int:
    import os

    from .policy.testing import format_result, run_policy_tests

    if not os.path.isdir(folder):
        print(f"aiiac-ls: --test-policies: {folder} is not a folder", file=sys.stderr)
        return EXIT_ERROR
    result = run_policy_tests(folder)
    sys.stdout.write(format_result(result))
    if result.problems:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.failed else EXIT_OK


def _list_rules(fmt: str) -> int:
    rules = _configured_rules()
    if fmt == "json":
        from .report.machine import rules_json

        sys.stdout.write(rules_json(rules))
        return EXIT_OK
    for rule in rules:
        fix = " (fix)" if rule.fixable else ""
        print(f"{rule.id}  {rule.severity:<8}  {rule.title}{fix}")
    return EXIT_OK


def _split_ids(value: str | None) -> list[str]:
    return [item.strip().upper() for item in value.split(",") if item.strip()] if value else []


def _check(args) -> int:
    import logging
    import os

    from .secrets import configure_logging

    configure_logging(logging.WARNING)
    from .config import ConfigError, ConfigTree, load_config
    from .engine import Engine
    from .model.findings import SEVERITY_RANK
    from .report import blocking

    args.check = args.check or ["."]
    for rule_id in _split_ids(args.select) + _split_ids(args.ignore):
        if not _is_prefix_of_any(rule_id):
            import difflib

            from .rules import all_rules

            names = [rule.id for rule in all_rules()] + sorted(
                {tag.upper() for rule in all_rules() for tag in rule.compliance_tags}
            )
            close = difflib.get_close_matches(rule_id, names, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else "; see `aiiac-ls --list-rules`"
            print(f"aiiac-ls: --select/--ignore: no rule matches `{rule_id}`{hint}", file=sys.stderr)
            return EXIT_ERROR
    try:
        config = load_config(args.check, args.config).merged(_split_ids(args.select), _split_ids(args.ignore))
    except ConfigError as exc:
        print(f"aiiac-ls: configuration error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.policies:
        config.policies = tuple(config.policies) + tuple(os.path.abspath(p) for p in args.policies)

    def with_command_line(config):
        """What the command line adds to a configuration: the run's, and each nested one."""
        if args.values:
            config.values_files = tuple(config.values_files) + tuple(os.path.abspath(v) for v in args.values)
        if args.kube_version:
            config.kube_version = args.kube_version
        return config

    config = with_command_line(config)

    def make_engine(filesystem=None):
        """An engine with each file's nearest configuration (unless `--config` names one for all)."""
        configs = (
            None
            if args.config
            else ConfigTree(config, _split_ids(args.select), _split_ids(args.ignore), adjust=with_command_line)
        )
        return Engine(
            config,
            set_values=tuple(args.set_values),
            configs=configs,
            filesystem=filesystem,
            batch=True,
            fix_edits=bool(args.fix),  # (a report shows the fixes' titles; --fix applies their edits)
        )

    engine = make_engine()
    from .parallel import analyse_paths, default_jobs

    if args.diff == "" and not args.fix:
        print("aiiac-ls: --diff needs a git revision (or --fix, to preview the fixes)", file=sys.stderr)
        return EXIT_ERROR
    if args.unsafe_fixes and not args.fix:
        print("aiiac-ls: --unsafe-fixes goes with --fix", file=sys.stderr)
        return EXIT_ERROR
    preview = bool(args.fix and args.diff == "")
    if preview:
        args.diff = None
    jobs = 1 if args.fix else (args.jobs if args.jobs is not None else default_jobs())
    digests = None
    if args.diff:
        from .blast import record_digests_of

        digests = record_digests_of(engine)
    # sharing the rules of a large scan doubles the memory to save a few percent: only when asked
    share_rules = not args.fix and args.jobs is not None and args.jobs > 1
    analysis = analyse_paths(engine, args.check, var_files=args.var_file, jobs=jobs, share_rules=share_rules)
    if args.fix:
        fixed, texts = _apply_fixes(config, args, analysis, make_engine)
        if preview:  # the fixes as a diff; the files stay as they are
            _print_diff(analysis.sources, texts)
            print(f"aiiac-ls: {fixed} fix{'es' if fixed != 1 else ''} would be applied", file=sys.stderr)
            return EXIT_OK
        for path, text in texts.items():
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        analysis = engine.analyse_paths(args.check, var_files=args.var_file)
        print(f"aiiac-ls: applied {fixed} fix{'es' if fixed != 1 else ''}", file=sys.stderr)
    if engine.configs is not None and engine.configs.errors:  # a nested configuration that cannot be read
        for error in engine.configs.errors.values():
            print(f"aiiac-ls: configuration error: {error}", file=sys.stderr)
        return EXIT_ERROR
    from .report import fingerprints

    fingerprints(analysis.findings, analysis.sources)
    if args.write_baseline:
        from .report.baseline import baseline_json

        if not _write(args.write_baseline, baseline_json(analysis.findings, analysis.sources)):
            return EXIT_ERROR
        print(
            f"aiiac-ls: wrote {len(analysis.findings)} findings to the baseline {args.write_baseline}", file=sys.stderr
        )
    failing = [] if args.write_baseline else analysis.findings  # recording them accepts them
    blast = None
    if args.baseline:
        from .report.baseline import BaselineError, load_baseline, split_new

        try:
            new, known = split_new(analysis.findings, analysis.sources, load_baseline(args.baseline))
        except BaselineError as exc:
            print(f"aiiac-ls: {exc}", file=sys.stderr)
            return EXIT_ERROR
        analysis.findings, analysis.baselined = new, len(known)
        failing = new if (args.fail_on or "new") == "new" else new + known
    if args.diff:
        from .blast import DiffError, blast_radius

        try:
            blast = blast_radius(make_engine, args.check, args.diff, analysis, digests or {})
        except DiffError as exc:
            print(f"aiiac-ls: {exc}", file=sys.stderr)
            return EXIT_ERROR
        if (args.fail_on or "new") == "new":
            new_prints = {finding.fingerprint for finding in blast.new}
            failing = [finding for finding in failing if finding.fingerprint in new_prints]
    elif args.fail_on == "new" and not args.baseline:
        print("aiiac-ls: --fail-on new needs --baseline FILE or --diff REV", file=sys.stderr)
        return EXIT_ERROR
    threshold = SEVERITY_RANK[args.severity_threshold]
    if threshold > SEVERITY_RANK["low"]:  # what is below the threshold is neither failing nor shown
        shown = [finding for finding in analysis.findings if SEVERITY_RANK[finding.severity] >= threshold]
        analysis.below_threshold = len(analysis.findings) - len(shown)
        analysis.findings = shown
    report = _render(args, analysis, engine, blast)
    if args.output:
        if not _write(args.output, report):
            return EXIT_ERROR
    else:
        for piece in _in_pieces(report):
            sys.stdout.write(piece)
    if blocking(analysis.problems):
        return EXIT_ERROR
    if any(SEVERITY_RANK[finding.severity] >= threshold for finding in failing):
        return EXIT_FINDINGS
    return EXIT_OK


def _in_pieces(report: str | Iterable[str]) -> Iterator[str]:
    """A report in pieces of about 1 MB: one `write` per finding cost 0.4 s on a report of
    100,000 findings, each call passing through the text layer's buffering."""
    if isinstance(report, str):
        yield report
        return
    pending: list[str] = []
    size = 0
    for chunk in report:
        pending.append(chunk)
        size += len(chunk)
        if size >= 1 << 20:
            yield "".join(pending)
            pending, size = [], 0
    yield "".join(pending)


def _write(path: str, text: str | Iterable[str]) -> bool:
    """Write `text` (or its pieces, as they are made) to `path`; False with a message if it cannot."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(_in_pieces(text))
    except OSError as exc:
        print(f"aiiac-ls: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def _is_prefix_of_any(prefix: str) -> bool:
    """A built-in rule's prefix, or one that can only mean custom rules (ORG, REGO-MAIN)."""
    from .rules import all_rules, selector_rules

    if ":" in prefix:  # a framework control: `owasp-llm:LLM03`
        return bool(selector_rules(prefix))
    if not (prefix.startswith("AIS") or "AIS".startswith(prefix)):
        return True
    return any(rule.id.startswith(prefix) for rule in all_rules())


def _render(args, analysis, engine, blast=None) -> Iterable[str]:
    """The report, in pieces: the machine formats are written finding by finding."""
    if args.format == "json":
        from .report.machine import json_chunks

        return json_chunks(analysis, blast)
    if args.format == "sarif":
        from .report.machine import sarif_chunks

        return sarif_chunks(analysis, engine.reported_rules())
    if args.format in ("github", "junit", "markdown"):
        from .report import ci

        if args.format == "markdown":
            return [ci.to_markdown(analysis, blast)]
        if args.format == "github":
            import os

            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:  # every finding, as markdown, in the job's summary page
                with open(summary, "a", encoding="utf-8") as handle:
                    handle.write(ci.to_markdown(analysis, blast))
            return [ci.to_github(analysis)]
        return [ci.to_junit(analysis)]
    from .report.text import render

    colour = not args.no_color and not args.output and sys.stdout.isatty()
    return [render(analysis, colour=colour, blast=blast)]


def _apply_fixes(config, args, analysis, make_engine, max_rounds: int = 10) -> tuple[int, dict[str, str]]:
    """The fixed texts (path -> text), made round by round in memory: within a round only
    non-conflicting edits, then re-analyse the edited texts, the way ruff does, so two fixes that
    both create `securityContext:` never duplicate it. Unsafe fixes only with --unsafe-fixes."""
    import os

    from .fixes import apply_edits, select_fixes
    from .formats.source import FileSystem, SourceFile, check_size

    texts: dict[str, str] = {}  # by the path findings name
    overlay: dict[str, str] = {}  # the same, by absolute path

    class Edited(FileSystem):
        """The disk with the fixed texts laid over it (charts read their files through it too)."""

        def read(self, path: str, shown: str) -> SourceFile:
            text = overlay.get(os.path.abspath(path))
            if text is None:
                return super().read(path, shown)
            check_size(len(text.encode("utf-8")), self.max_bytes)
            return SourceFile(shown, text)

        def buffer(self, path: str) -> str | None:
            return overlay.get(os.path.abspath(path))

    engine = make_engine(Edited(config.limits.max_file_bytes))
    applied = 0
    for _ in range(max_rounds):
        selection = select_fixes(analysis.findings, analysis.source, unsafe=args.unsafe_fixes)
        applied += selection.fixes
        if not selection.edits:
            break
        for path, edits in selection.edits.items():
            texts[path] = overlay[os.path.abspath(path)] = apply_edits(analysis.sources[path].text, edits)
        analysis = engine.analyse_paths(args.check, var_files=args.var_file)
    return applied, texts


def _print_diff(sources, texts: dict[str, str]) -> None:
    import difflib

    for path in sorted(texts):
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                before = handle.read()
        except OSError:
            before = sources[path].text if path in sources else ""
        for line in difflib.unified_diff(
            before.splitlines(keepends=True),
            texts[path].splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        ):
            sys.stdout.write(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")


def run() -> None:
    """Console entry point. Exits without tearing down the heap: freeing a large scan's parse
    trees object by object took 0.2 s of a 2 s run, after the report was already written."""
    import logging
    import os

    try:
        code = main()
    except BrokenPipeError:  # `aiiac-ls --explain AIS101 | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed by the language server's exit, or a broken pipe
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
