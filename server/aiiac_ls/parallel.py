"""`--check` on two cores: Terraform in a forked worker, Kubernetes files and charts here.

Why this split: the two halves share nothing but the scan-wide facts (which buckets hold models),
and each is roughly half of a mixed repository's work, so the scan takes the time of the slower
half. Rules that read neighbours (a ResourceQuota for a Namespace, a module instance's policies)
see exactly the scope they see in one process, so the findings are identical.

The exchange, over one pipe: the worker loads the Terraform and sends its facts; this process
loads the rest, receives them, sends its own facts back; both run the rules on the merged facts
and the worker sends its findings, problems and sources. Fixes travel as titles only (`--fix`
stays in one process, where the edits' nodes live). Any failure of the worker falls back to the
one-process scan, so the result never depends on it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections.abc import Iterable

from .model.findings import SORT_KEY, Finding, Fix

log = logging.getLogger(__name__)

MIN_TERRAFORM_FILES = 20  # below this, forking costs more than it saves


def default_jobs() -> int:
    try:
        return min(2, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return min(2, os.cpu_count() or 1)


def analyse_paths(engine, paths: list[str], var_files: Iterable[str] = (), jobs: int = 1):
    """`engine.analyse_paths`, with the Terraform files in a second process when `jobs` > 1 and
    that pays (see `analyse_split`); the findings are the same."""
    from .engine import Analysis

    # Rego rules are created as findings name them, and observers (`--diff`) see scopes as they
    # are made: both need this process; an editor's engine keeps a cache of its own
    if jobs > 1 and engine.cache is None and engine.policies.rego is None and not engine.scope_observers:
        all_var_files = [*engine.config.var_files, *var_files]
        analysis = Analysis()
        files = engine.files_under(paths, analysis)
        result = analyse_split(engine, files, analysis, all_var_files)
        if result is not None:
            return result
        return engine.analyse_files(files, analysis, var_files=all_var_files)
    return engine.analyse_paths(paths, var_files)


def analyse_split(engine, files: list[str], analysis, var_files: list[str]):
    """The analysis of `files` done in two processes, or None when a split is not worth it or
    failed (the caller then scans in one process)."""
    from .engine import ParseCache, classify

    terraform = [path for path in files if classify(path) in ("tf", "tfvars")]
    others = [path for path in files if classify(path) not in ("tf", "tfvars")]
    if len(terraform) < MIN_TERRAFORM_FILES or not others:
        return None
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        return None
    import gc

    gc.freeze()  # the imported modules stay shared with the worker: collections would copy their pages
    ours, theirs = context.Pipe()
    worker = context.Process(target=_worker, args=(engine, terraform, var_files, theirs), daemon=True)
    worker.start()
    theirs.close()
    from .engine import Analysis
    from .rules import collect_facts

    local = Analysis(problems=list(analysis.problems))
    scopes = engine.load(others, local, [], ParseCache())
    facts = collect_facts([resource for scope in scopes for resource in scope], engine.config)
    try:
        terraform_facts = ours.recv()
        ours.send(facts)
        engine.apply_rules(scopes, facts.merged(terraform_facts), local)
        local.findings = [_portable(finding) for finding in local.findings]
        del scopes  # the parse trees go before the worker's results arrive
        remote = ours.recv()
    except (EOFError, OSError, pickle.PickleError) as exc:
        log.warning("Terraform worker failed (%s); scanning in one process", exc)
        worker.kill()
        return None
    finally:
        worker.join(timeout=5)
        ours.close()
    if isinstance(remote, BaseException):
        log.warning("Terraform worker failed (%s); scanning in one process", remote)
        return None
    return _merge(local, remote)


def _worker(engine, files: list[str], var_files: list[str], pipe) -> None:
    try:
        from .engine import Analysis, ParseCache
        from .rules import collect_facts

        analysis = Analysis()
        scopes = engine.load(files, analysis, var_files, ParseCache())
        facts = collect_facts([resource for scope in scopes for resource in scope], engine.config)
        pipe.send(facts)
        kubernetes_facts = pipe.recv()
        engine.apply_rules(scopes, kubernetes_facts.merged(facts), analysis)
        analysis.findings = [_portable(finding) for finding in analysis.findings]
        analysis.__dict__.pop("_directives", None)
        pipe.send(analysis)
    except BaseException as exc:  # reported to the parent, which scans in one process instead
        try:
            pipe.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        pipe.close()


def _portable(finding: Finding) -> Finding:
    """The finding without its fix's edits, whose nodes hold whole parse trees."""
    if finding.fix is None:
        return finding
    finding.fix = Fix(finding.fix.title, (), unsafe=finding.fix.unsafe)
    return finding


def _merge(local, remote):
    """One analysis, as the one-process scan would have produced it."""
    seen = {(finding.rule, finding.span) for finding in local.findings}
    local.findings.extend(f for f in remote.findings if (f.rule, f.span) not in seen)
    local.findings.sort(key=SORT_KEY)
    for problem in remote.problems:  # policy problems: both processes report them
        local.add_problem(problem)
    for path, source in remote.sources.items():
        local.sources.setdefault(path, source)
    local.files += remote.files
    local.lines += remote.lines
    local.suppressed += remote.suppressed
    for path, spans in remote.secret_spans.items():
        local.secret_spans.setdefault(path, []).extend(spans)
    local.resources += remote.resources
    local.uninstalled_modules += remote.uninstalled_modules
    local.unpinned_modules += remote.unpinned_modules
    local.remote_resources += remote.remote_resources
    local.unvendored_charts += remote.unvendored_charts
    local.remote_charts += remote.remote_charts
    return local
