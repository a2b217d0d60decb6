"""`--check` on two cores, in one of two ways.

Terraform beside Kubernetes: Terraform in a forked worker, Kubernetes files and charts here
(`analyse_split`). The two halves share nothing but the scan-wide facts (which buckets hold
models), and each is roughly half of a mixed repository's work, so the scan takes the time of the
slower half. Rules that read neighbours (a ResourceQuota for a Namespace, a module instance's
policies) see exactly the scope they see in one process, so the findings are identical.
The exchange, over one pipe: the worker loads the Terraform and sends its facts; this process
loads the rest, receives them, sends its own facts back; both run the rules on the merged facts
and the worker sends its findings, problems and sources.

One large kind of input (40,000 objects in one namespace), when asked for (`-j 2` given): loaded
here, then the rules are shared (`apply_rules_in_two`). A worker forked after loading holds the
same model, checks the last 45 % of the resources and sends their findings; this process checks
the rest and puts the two together in resource order, as one process would have found them. The
worker's pages become its own as it reads them (copy-on-write), so together the two hold nearly
twice the memory of one, for a few percent less time: not the default.

Fixes travel as titles only (`--fix` stays in one process, where the edits' nodes live). Any
failure of a worker falls back to one process, so the result never depends on it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import Iterable

from .model.findings import SORT_KEY, Finding, Fix

log = logging.getLogger(__name__)

MIN_TERRAFORM_FILES = 20  # below this, forking costs more than it saves
# below this many resources the rules take under half a second: not worth a worker
MIN_RESOURCES_TO_SHARE = 4_000


def default_jobs() -> int:
    try:
        return min(2, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return min(2, os.cpu_count() or 1)


def analyse_paths(engine, paths: list[str], var_files: Iterable[str] = (), jobs: int = 1, share_rules: bool = False):
    """`engine.analyse_paths`, with the Terraform files in a second process when `jobs` > 1 and
    that pays (see `analyse_split`), and with `share_rules` the rules of a large scan of one kind
    (`apply_rules_in_two`); the findings are the same."""
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
        if not share_rules:
            return engine.analyse_files(files, analysis, var_files=all_var_files)
        return engine.analyse_files(
            files,
            analysis,
            var_files=all_var_files,
            apply_rules=lambda scopes, facts, analysis: apply_rules_in_two(engine, scopes, facts, analysis),
        )
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
    with _failure_reported(pipe):  # (the parent then scans in one process)
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


@contextlib.contextmanager
def _failure_reported(pipe):
    """A worker's failure is sent to the parent, which then does the work itself; the pipe is
    closed either way."""
    try:
        yield
    except BaseException as exc:
        try:
            pipe.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        pipe.close()


def apply_rules_in_two(engine, scopes: list[list], facts, analysis):
    """`engine.apply_rules`, with the last 45 % of the resources checked by a worker forked now,
    which sees the same loaded model; unless there are too few resources to pay for it."""
    count = sum(map(len, scopes))
    if count < MIN_RESOURCES_TO_SHARE:
        return engine.apply_rules(scopes, facts, analysis)
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        return engine.apply_rules(scopes, facts, analysis)
    import gc

    gc.freeze()  # the model stays shared with the worker: collections would copy its pages
    # the worker's part is the smaller: it also pickles its findings, and each page of the model
    # it touches is copied (copy-on-write); 55/45 finished both together on 40,000 objects
    start = count * 55 // 100
    ours, theirs = context.Pipe(duplex=False)
    worker = context.Process(target=_check_worker, args=(engine, scopes, facts, analysis, start, theirs), daemon=True)
    worker.start()
    theirs.close()
    shared = [resource for scope in scopes for resource in scope][start:]
    theirs_ids = set(map(id, shared))
    received: dict[int, list[Finding]] | None = None

    def checked_elsewhere(resource) -> list[Finding] | None:
        nonlocal received
        if id(resource) not in theirs_ids:
            return None
        if received is None:  # the first of the worker's share: its results, all at once
            received = _received(ours, shared, analysis)
        return received.get(id(resource))  # (None: the worker failed, this process checks it)

    try:
        return engine.apply_rules(scopes, facts, analysis, checked_elsewhere)
    finally:
        if received is None:  # (the rules failed before the worker's share)
            worker.kill()
        worker.join(timeout=5)
        ours.close()


class _Share:
    """What the worker's checks produced: each resource's findings, and what checking records
    besides (the suppression comments used, the credentials found, rule failures)."""

    def __init__(self, findings, suppressed, used_directives, secret_spans, problems):
        self.findings, self.suppressed, self.problems = findings, suppressed, problems
        self.used_directives, self.secret_spans = used_directives, secret_spans


def _check_worker(engine, scopes, facts, analysis, start: int, pipe) -> None:
    with _failure_reported(pipe):  # (the parent then checks the share itself)
        suppressed, problems, used = analysis.suppressed, len(analysis.problems), set(analysis.used_directives)
        secrets = {path: len(spans) for path, spans in analysis.secret_spans.items()}
        findings = engine.check_part(scopes, facts, analysis, start)
        pipe.send(
            _Share(
                [[_portable(finding) for finding in found] for found in findings],
                analysis.suppressed - suppressed,
                analysis.used_directives - used,
                {
                    path: spans[secrets.get(path, 0) :]
                    for path, spans in analysis.secret_spans.items()
                    if len(spans) > secrets.get(path, 0)
                },
                analysis.problems[problems:],
            )
        )


def _received(pipe, shared: list, analysis) -> dict[int, list[Finding]]:
    """The worker's findings by id of resource, its records added to `analysis`; {} if it failed."""
    try:
        share = pipe.recv()
    except (EOFError, OSError, pickle.PickleError) as exc:
        log.warning("rules worker failed (%s); checking its share here", exc)
        return {}
    if isinstance(share, BaseException) or len(share.findings) != len(shared):
        log.warning("rules worker failed (%s); checking its share here", share)
        return {}
    analysis.suppressed += share.suppressed
    analysis.used_directives |= share.used_directives
    for path, spans in share.secret_spans.items():
        analysis.secret_spans.setdefault(path, []).extend(spans)
    analysis.problems.extend(share.problems)
    return {id(resource): found for resource, found in zip(shared, share.findings, strict=True)}


def _portable(finding: Finding) -> Finding:
    """The finding without its fix's edits, whose nodes hold whole parse trees."""
    if finding.fix is None or (not finding.fix.edits and finding.fix.fallback is None):
        return finding  # (`--check` made it so: `Engine.fix_edits`)
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
