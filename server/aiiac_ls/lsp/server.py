"""The aiiac language server: as-you-type diagnostics, quick fixes, hovers, commands.

Thin by design: document sync and configuration feed `Workspace`; a per-unit scheduler runs the
engine off the event loop (one worker thread) and publishes (push) or answers pulls
(`textDocument/diagnostic`) for clients that advertise it, never both. Every finished analysis is
published with the document versions it saw, even when newer edits overtook it (then the unit is
analysed again), so a user typing faster than one analysis still sees findings; quick fixes and
hovers wait for an analysis of the current text. Everything about findings comes from the same engine as `aiiac-ls --check`.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import operator
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from .positions import Encoder, install_line_fix, lsp_lines

if TYPE_CHECKING:
    from ..engine import Analysis
    from ..model.findings import Finding
    from ..workspace import Unit, Workspace

# The engine (parsers, rules) is imported when the first document arrives, not before the
# `initialize` answer: lsprotocol alone costs ~245 ms of the start-up budget.


def is_policy_file(path: str) -> bool:
    from ..policy.loader import RULE_FILE_SUFFIXES

    return path.endswith((".rego", *RULE_FILE_SUFFIXES))


def unit_of(path: str):
    from ..workspace import unit_of as _unit_of

    return _unit_of(path)


log = logging.getLogger("aiiac_ls.lsp")

CONFIG_SECTION = "aiiac"
DEBOUNCE_SECONDS = 0.0  # one turn of the loop: edits during an analysis coalesce anyway (dirty flag)
IDLE_COLLECT_SECONDS = 0.5  # a pause this long after an analysis counts as idle
TRIM_EVERY = 10  # analyses between two malloc_trim calls
COMPACT = (",", ":")  # JSON without spaces: a 20,000-line module's 7,000 diagnostics are 9 % smaller
FIX_ALL_KIND = "source.fixAll.aiiac"
COMMAND_SCAN = "aiiac.scanWorkspace"
COMMAND_EXPLAIN = "aiiac.explainRule"


@dataclass
class UnitState:
    """The latest finished analysis of a unit and the buffer versions it saw."""

    analysis: Analysis | None = None
    versions: dict[str, int | None] = field(default_factory=dict)
    task: asyncio.Task | None = None
    dirty: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)  # an analysis of the current buffers is there
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # some analysis finished since the last start
    # re-checked because another folder's facts changed: pull clients must be told to pull again
    refresh: bool = False


@dataclass
class _Unreadable:
    """A request whose params did not fit the method: answered with the error, not dropped."""

    id: int | str
    error: object  # pygls JsonRpcException


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, with malformed requests answered as JSON-RPC asks, and without a leak.

    pygls shows a pop-up for a request it cannot read and never answers it, so the client waits
    for ever; here the request gets its Invalid Params (-32602) error with its id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writes: set[asyncio.Future] = set()  # writes of an asynchronous transport, until done

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "method" in data and isinstance(data.get("id"), (int, str)):
                return _Unreadable(data["id"], exc)
            raise

    def _handle_notification(self, method_name: str, params) -> None:
        """pygls 2.1 files the future of every notification handled by a generator (didOpen,
        didChange, didClose...) in `_request_futures` under a fresh id and never removes it: a
        Future, its Condition, RLock and deque leaked per keystroke. Removed here once done."""
        before = set(self._request_futures)
        super()._handle_notification(method_name, params)
        for key in set(self._request_futures) - before:
            future = self._request_futures[key]
            if future.done():
                del self._request_futures[key]
            else:
                future.add_done_callback(lambda _, key=key: self._request_futures.pop(key, None))  # type: ignore[misc]

    def send_encoded(self, *body: bytes) -> None:
        """Send a message already encoded as JSON (ASCII, as pygls's own encoding) in parts,
        framed as `_send_data` frames it and joined once with the header; pygls's writer,
        headers and charset (pinned to pygls 2.1)."""
        if self.writer is None:
            return
        length = sum(map(len, body))
        header = (
            f"Content-Length: {length}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            if self._include_headers
            else ""
        )
        try:
            result = self.writer.write(b"".join((header.encode(self.CHARSET), *body)))
        except BrokenPipeError:  # the client is gone: as pygls, let the server stop
            raise
        except Exception:  # as pygls: a failed write is logged, the server goes on
            log.exception("cannot send a message to the client")
            return
        if inspect.isawaitable(result):  # an asynchronous transport: keep the write until done
            task = asyncio.ensure_future(result)
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def handle_message(self, message):
        if isinstance(message, _Unreadable):
            log.warning("request %s has invalid params: %s", message.id, message.error)
            self._send_response(message.id, error=message.error.to_response_error())
            return
        super().handle_message(message)


class AiiacServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "aiiac-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self._model: Workspace | None = None
        self._settings: dict = {}
        self.units: dict[Unit, UnitState] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiiac-analysis")
        self.pull_mode = False
        self.supports_refresh = False
        self.supports_configuration = False
        self.encoder = Encoder("utf-16")
        self._config_published: set[str] = set()
        self._policy_published: set[str] = set()
        self._background: set[asyncio.Future] = set()
        self._converted: dict[str, dict[int, _Converted]] = {}  # per file, by id of finding, reused across publishes
        # the last published diagnostics of each file, with their JSON, each and joined
        self._encoded: dict[str, tuple[tuple[types.Diagnostic, ...], list[bytes], bytes]] = {}
        self._grouped: dict[str, dict[tuple, types.Diagnostic]] = {}  # the head diagnostic of each place, per file
        # the last "Scan workspace" for pull clients: each file's diagnostics and result id, kept
        # fresh for files that are not open (open ones are pulled one by one)
        self.scanned: dict[str, tuple[str, list[types.Diagnostic]]] = {}
        self._analyses_since_collect = 0
        self._collect_timer: asyncio.TimerHandle | None = None
        self.watch_files = False

    def exit_code(self) -> int:
        """0 after `shutdown`; 1 when the client sent `exit` without it, or just went away."""
        return 0 if self.protocol._shutdown else 1

    def report_server_error(self, error: Exception, source) -> None:
        """A message that is not JSON gets the JSON-RPC Parse error (id null) the spec asks for,
        instead of pygls's pop-up; the server keeps reading the next message."""
        if isinstance(error, ValueError) and not isinstance(error, JsonRpcException):
            log.warning("unreadable message: %s", error)
            self.protocol._send_data(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": f"Parse error: {error}"}}
            )
            return
        super().report_server_error(error, source)

    @property
    def model(self) -> Workspace:
        if self._model is None:
            from ..workspace import Workspace

            self._model = Workspace(self._settings)
        return self._model

    def set_settings(self, settings: dict) -> None:
        self._settings = settings
        if self._model is not None:
            self._model.settings = settings

    # ---- helpers ------------------------------------------------------------------------------

    def version_of(self, path: str) -> int | None:
        uri = from_fs_path(path)
        document = self.workspace.text_documents.get(uri) if uri else None
        return document.version if document is not None else None

    def lines_of(self, path: str, analysis: Analysis | None = None) -> list[str]:
        """The lines positions refer to: the text `analysis` read (an overtaken analysis is
        converted against its own text), else the open buffer, else the disk."""
        text = analysis.sources[path].text if analysis is not None and path in analysis.sources else None
        if text is None:
            text = self.model.text(path)
        if text is None:
            from ..formats.source import SourceError, read_source

            try:
                text = read_source(path).text
            except SourceError:
                text = ""
        return lsp_lines(text)

    def state(self, unit: Unit) -> UnitState:
        if unit not in self.units:
            self.units[unit] = UnitState()
        return self.units[unit]

    # ---- scheduling ---------------------------------------------------------------------------

    def schedule(self, unit: Unit) -> None:
        state = self.state(unit)
        state.done.clear()
        if state.task is not None and not state.task.done():
            state.dirty = True
            return
        state.task = asyncio.ensure_future(self._run(unit, state))

    async def _run(self, unit: Unit, state: UnitState) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(DEBOUNCE_SECONDS)
        while True:
            state.dirty = False
            state.finished.clear()
            versions = {path: self.version_of(path) for path in self.model.open_paths(unit)}
            try:
                analysis = await loop.run_in_executor(self.executor, self.model.analyse, unit)
            except Exception:  # never let one unit's failure stop the server
                from ..engine import Analysis

                log.exception("analysis of %s failed", unit.directory)
                analysis = Analysis()
            current = {path: self.version_of(path) for path in self.model.open_paths(unit)}
            state.analysis, state.versions = analysis, versions
            # published even when newer edits overtook it (for the versions it saw), or a user
            # typing faster than one analysis would see no findings until they pause
            self.publish(unit, state)
            state.finished.set()
            # what this folder tells the others changed: the workspace keeps the new facts even
            # when newer edits overtook this analysis, and the next one will not see a change,
            # so the other folders are re-checked now
            if analysis.facts_changed:
                for other in self.model.open_units():
                    if other != unit:
                        self.state(other).refresh = True
                        self.schedule(other)
            if self.units.get(unit) is not state:  # its last document closed meanwhile: forgotten
                state.done.set()
                return
            if state.dirty or current != versions:
                continue  # then analyse the newest text
            self.publish_config_errors()
            self.publish_policy_problems(analysis.policy_files, analysis.problems)
            state.done.set()
            self._collect_when_idle()
            return

    def _collect_when_idle(self) -> None:
        """Give memory back while typing goes on, and collect fully once the user pauses.

        Each analysis frees what it built, but glibc keeps the freed heap: 10,000 fuzzed edits
        grew the server to 306 MiB with live Python objects flat. `malloc_trim` every few
        analyses (about a millisecond) returns it. The raised collector thresholds (cli.py) keep
        full collections off keystrokes; the one that gathers cyclic garbage waits for a pause."""
        self._analyses_since_collect += 1
        if self._analyses_since_collect % TRIM_EVERY == 0:
            release_heap()
        if self._collect_timer is not None:
            self._collect_timer.cancel()
        self._collect_timer = asyncio.get_running_loop().call_later(IDLE_COLLECT_SECONDS, self._collect)

    def _collect(self) -> None:
        import gc

        self._collect_timer = None
        if self._analyses_since_collect == 0:
            return
        if any(state.task is not None and not state.task.done() for state in self.units.values()):
            return  # busy after all: the next publish tries again
        self._analyses_since_collect = 0
        gc.collect()
        release_heap()

    async def fresh_analysis(self, path: str) -> tuple[UnitState, Analysis] | None:
        """For edits (quick fixes) and hovers: an analysis of the current buffers."""
        return await self._analysis(path, overtaken=False)

    async def latest_analysis(self, path: str) -> tuple[UnitState, Analysis] | None:
        """For diagnostics: the current analysis, or else the next one to finish even if newer
        edits overtake it (a pull must not wait until the user stops typing). Its positions are
        those of the text it analysed."""
        return await self._analysis(path, overtaken=True)

    async def _analysis(self, path: str, overtaken: bool) -> tuple[UnitState, Analysis] | None:
        """The unit's analysis once it is current and none is running (e.g. a re-check for
        another folder's facts); else wait for the next to finish (`overtaken`) or to be current."""
        unit = unit_of(path)
        if unit is None:
            return None
        state = self.state(unit)
        current = {p: self.version_of(p) for p in self.model.open_paths(unit)}
        running = state.task is not None and not state.task.done()
        if state.analysis is None or state.versions != current or running:
            if not running:
                self.schedule(unit)
            await (state.finished if overtaken else state.done).wait()
        return (state, state.analysis) if state.analysis is not None else None

    # ---- diagnostics --------------------------------------------------------------------------

    def diagnostics_for(self, path: str, analysis: Analysis) -> list[types.Diagnostic]:
        from . import convert

        split: dict[str, list[str]] = {}  # each file's lines once per publish, not once per finding

        def lines_of(file: str) -> list[str]:
            if file not in split:
                split[file] = self.lines_of(file, analysis)
            return split[file]

        lines = lines_of(path)
        # a diagnostic depends only on its finding and the text of the lines it spans: the same
        # finding (the engine gives an unchanged resource's findings again) over the same lines
        # reuses its diagnostic, found by identity; a finding made anew is looked up by content
        # among the diagnostics no finding reused
        previous = self._converted.get(path, {})
        made: dict[int, _Converted] = {}
        diagnostics: list = []
        misses: list[tuple[int, Finding, str, str]] = []
        count = len(lines)
        for finding in analysis.findings:
            span = finding.span
            if span.file != path:
                continue
            first = lines[span.start_line] if span.start_line < count else ""
            last = lines[span.end_line] if span.end_line < count else ""
            entry = previous.get(id(finding))
            if entry is not None and entry.finding is finding and entry.first == first and entry.last == last:
                made[id(finding)] = entry
                diagnostics.append(entry.diagnostic)
            else:
                misses.append((len(diagnostics), finding, first, last))
                diagnostics.append(None)
        if misses:
            unclaimed = {entry.key: entry.diagnostic for at, entry in previous.items() if made.get(at) is not entry}
            for index, finding, first, last in misses:
                fixable = finding.fix is not None
                key = (
                    finding.rule,
                    finding.span,
                    finding.message,
                    finding.severity,
                    fixable,
                    finding.related,
                    first,
                    last,
                )
                converted = unclaimed.get(key) or convert.diagnostic(finding, lines_of, self.encoder)
                made[id(finding)] = _Converted(finding, first, last, key, converted)
                diagnostics[index] = converted
        self._converted[path] = made
        # one container's gaps, as one problem: the first diagnostic of a place names the others
        # (only the first: every one naming all others doubled a 20,000-line module's payload);
        # it is reused while its group is unchanged, so its JSON is too
        previous_groups = self._grouped.get(path, {})
        groups: dict[tuple, types.Diagnostic] = {}
        placed: dict[object, list[_Converted]] = {}  # findings by the place they land on
        if not path.endswith((".tf", ".tfvars", ".json")):  # containers are Kubernetes': YAML and charts
            rows = [made[id(finding)] for finding in analysis.findings if finding.span.file == path]
            for row in rows:
                placed.setdefault(row.finding.span, []).append(row)
        heads = {}
        for group in placed.values():
            if len(group) < 2:
                continue
            group_key = tuple(row.key for row in group)
            grouped = previous_groups.get(group_key)
            if grouped is None:  # the first (the place's head) names the others; they stay as they are
                grouped = convert.with_neighbours(group[0].diagnostic, [row.finding for row in group[1:]])
            groups[group_key] = grouped
            heads[id(group[0])] = grouped
        if heads:
            diagnostics = [heads.get(id(row), diagnostic) for row, diagnostic in zip(rows, diagnostics, strict=True)]
        self._grouped[path] = groups
        diagnostics += [
            convert.problem_diagnostic(p, lines, self.encoder)
            for p in analysis.problems
            if p.file == path and p.kind != "skipped"
        ]
        buffer = self.model.text(path)
        overtaken = path in analysis.sources and analysis.sources[path].text != buffer
        if buffer is not None and (overtaken or analysis.kept):
            # an overtaken analysis read an older text, and findings kept from the last version
            # that parsed (a file broken mid-edit) point into that version: keep every range
            # inside the document
            now = lsp_lines(buffer)
            diagnostics = [convert.clamped(d, now, self.encoder) for d in diagnostics]
        return diagnostics

    def publish(self, unit: Unit, state: UnitState) -> None:
        if self.pull_mode:
            # the client re-pulls the edited document itself; other open files of the unit
            # (a module's variables.tf, a chart's templates), units re-checked for another
            # folder's facts, and scanned files that are not open need a refresh to be pulled again
            assert state.analysis is not None
            rescanned = self.keep_scanned(state.analysis, closed_only=True)
            if self.supports_refresh and (len(self.model.open_paths(unit)) > 1 or state.refresh or rescanned):
                self.workspace_diagnostic_refresh(None)
            state.refresh = False
            return
        assert state.analysis is not None
        for path in self.model.open_paths(unit):
            self.publish_diagnostics(path, state.versions.get(path), self.diagnostics_for(path, state.analysis))

    def keep_scanned(self, analysis: Analysis, closed_only: bool = False, paths: set[str] | None = None) -> bool:
        """Update the workspace report of the scanned files `analysis` read (or `paths`); True
        when any of them changed. Open files are left to their own pulls when `closed_only`."""
        if not self.scanned and paths is None:
            return False
        files = set(paths) if paths is not None else set(self.scanned)
        files &= set(analysis.sources) | {f.file for f in analysis.findings} | {p.file for p in analysis.problems}
        changed = False
        for path in sorted(files):
            if not os.path.isabs(path) or (closed_only and self.model.is_open(path)):
                continue
            diagnostics = self.diagnostics_for(path, analysis)
            report = (result_id(diagnostics), diagnostics)
            if self.scanned.get(path, ("",))[0] != report[0]:
                self.scanned[path] = report
                changed = True
        return changed

    def publish_diagnostics(self, path: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        """`textDocument/publishDiagnostics`, with each diagnostic's JSON reused while the
        diagnostic is (`diagnostics_for` keeps the ones whose finding and lines are unchanged):
        a keystroke in a 20,000-line module re-encodes one diagnostic, not 7,000 (60 ms). Most
        stand where they stood in the last publish, found by a comparison in C; when all do,
        the joined list of the last publish is sent again as it is."""
        last, last_parts, last_joined = self._encoded.get(path, ((), [], b""))
        common = min(len(diagnostics), len(last))
        moved = list(compress(range(common), map(operator.is_not, diagnostics, last)))
        if not moved and len(diagnostics) == len(last):
            parts, joined = last_parts, last_joined
        else:
            parts = last_parts[:common]
            where: dict[int, int] | None = None  # the last publish's diagnostics by id, made on the first move
            for index in [*moved, *range(common, len(diagnostics))]:
                if where is None:
                    where = {id(d): i for i, d in enumerate(last)}
                found = where.get(id(diagnostics[index]))  # `last` holds them: an id there is this object
                part = (
                    last_parts[found]
                    if found is not None
                    else json.dumps(
                        self.protocol._converter.unstructure(diagnostics[index]), separators=COMPACT
                    ).encode()
                )
                if index < common:
                    parts[index] = part
                else:
                    parts.append(part)
            joined = b",".join(parts)
        self._encoded[path] = (tuple(diagnostics), parts, joined)
        head = f'{{"method":"textDocument/publishDiagnostics","params":{{"uri":{json.dumps(from_fs_path(path))},'
        if version is not None:
            head += f'"version":{json.dumps(version)},'
        protocol: _Protocol = self.protocol  # type: ignore[assignment]
        protocol.send_encoded(head.encode(), b'"diagnostics":[', joined, b']},"jsonrpc":"2.0"}')

    async def index_workspace(self) -> None:
        """Collect every folder's facts in the background (no rules run), so an open folder is
        judged knowing the rest of the workspace, as `--check` over the repository judges it;
        open files are re-checked when that adds something."""
        loop = asyncio.get_running_loop()
        folders = [to_fs_path(f.uri) for f in self.workspace.folders.values()] or (
            [to_fs_path(self.workspace.root_uri)] if self.workspace.root_uri else []
        )
        changed = False
        try:
            for folder in (f for f in folders if f and os.path.isdir(f)):
                for unit in await loop.run_in_executor(self.executor, self.model.units_under, folder):
                    if unit not in self.model.unit_facts:
                        changed |= await loop.run_in_executor(self.executor, self.model.index, unit)
        except Exception:  # an index is an improvement, never a reason to fail
            log.exception("indexing the workspace failed")
        if changed:
            for unit in self.model.open_units():
                self.state(unit).refresh = True
                self.schedule(unit)

    async def rescan(self, unit: Unit) -> None:
        """Re-check a scanned unit whose last open document closed (its text is the disk's again)."""
        from ..engine import ParseCache

        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(self.executor, self.model.analyse, unit, ParseCache())
        if self.keep_scanned(analysis, closed_only=True) and self.supports_refresh:
            self.workspace_diagnostic_refresh(None)

    def spawn(self, coroutine) -> None:
        """Run a coroutine beside the handlers, keeping a reference until it ends."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def publish_policy_problems(self, files: list[str], problems: list) -> None:
        """Errors in the user's Rego and YAML rules, as diagnostics on those files."""
        from . import convert

        for path in files:
            found = [p for p in problems if p.file == path]
            if not found and path not in self._policy_published:
                continue
            lines = self.lines_of(path, None)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=from_fs_path(path),
                    diagnostics=[convert.problem_diagnostic(p, lines, self.encoder) for p in found],
                )
            )
            (self._policy_published.add if found else self._policy_published.discard)(path)

    async def check_policy_file(self, path: str) -> None:
        """A policy file opened or saved: report its errors now and re-check the open files."""
        from ..policy.loader import load_policies

        def load():
            config = self.model.config_for(os.path.dirname(path))
            policies = load_policies(config, os.path.abspath)
            return [os.path.abspath(f) for f in policies.files], policies.all_problems

        files, problems = await asyncio.get_running_loop().run_in_executor(self.executor, load)
        if os.path.abspath(path) in files:
            self.publish_policy_problems(files, problems)
        for unit in self.model.open_units():
            self.schedule(unit)

    def publish_config_errors(self) -> None:
        """A malformed `.aiiac.toml` / `[tool.aiiac]` gets a diagnostic on the config file itself."""
        errors = self.model.config_errors
        for path in set(self._config_published) | set(errors):
            error = errors.get(path)
            diagnostics = []
            if error is not None:
                line = max((error.line or 1) - 1, 0)
                column = max((error.column or 1) - 1, 0)
                diagnostics.append(
                    types.Diagnostic(
                        range=types.Range(
                            start=types.Position(line=line, character=column),
                            end=types.Position(line=line, character=column + 1),
                        ),
                        message=str(error).split(": ", 1)[-1],
                        severity=types.DiagnosticSeverity.Error,
                        code="config-error",
                        source="aiiac",
                    )
                )
            if diagnostics or path in self._config_published:
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=from_fs_path(path), diagnostics=diagnostics)
                )
            if diagnostics:
                self._config_published.add(path)
            else:
                self._config_published.discard(path)

    # ---- configuration ------------------------------------------------------------------------

    async def refresh_settings(self) -> None:
        if not self.supports_configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
            )
            settings = result[0] if result else None
        except Exception:  # a client that fails the request keeps the previous settings
            log.warning("workspace/configuration failed", exc_info=True)
            return
        self.set_settings(settings if isinstance(settings, dict) else {})


def create_server() -> AiiacServer:
    install_line_fix()
    ls = AiiacServer()

    @ls.feature(types.INITIALIZE)
    def initialize(ls: AiiacServer, params: types.InitializeParams) -> None:
        capabilities = params.capabilities
        text_document = capabilities.text_document
        ls.pull_mode = bool(text_document and text_document.diagnostic)
        workspace = capabilities.workspace
        ls.supports_configuration = bool(workspace and workspace.configuration)
        diagnostics = workspace.diagnostics if workspace else None
        ls.supports_refresh = bool(diagnostics and diagnostics.refresh_support)
        watched = workspace.did_change_watched_files if workspace else None
        ls.watch_files = bool(watched and watched.dynamic_registration)
        ls.encoder = Encoder(ls.workspace.position_encoding or "utf-16")
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("settings"), dict):
            ls.set_settings(options["settings"])

    @ls.feature(types.INITIALIZED)
    async def initialized(ls: AiiacServer, params: types.InitializedParams) -> None:
        if ls.watch_files:  # disk changes to files that are not open keep the analysis in sync
            watchers = [
                types.FileSystemWatcher(glob_pattern=pattern)
                for pattern in (
                    "**/*.tf",
                    "**/*.tfvars",
                    "**/*.{yaml,yml}",
                    "**/*.tpl",
                    "**/.aiiac.toml",
                    "**/pyproject.toml",
                    "**/*.rego",
                )
            ]
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="aiiac-watchers",
                                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
                            )
                        ]
                    )
                )
            except Exception:
                log.warning("client refused file watchers", exc_info=True)
        await ls.refresh_settings()
        # warm the rule registry and parsers off the critical path
        asyncio.get_running_loop().run_in_executor(ls.executor, _warm_up)
        ls.spawn(ls.index_workspace())

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: AiiacServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(CONFIG_SECTION), dict):
            ls.set_settings(settings[CONFIG_SECTION])
        else:
            await ls.refresh_settings()
        for unit in ls.model.open_units():  # every open document at once; pull clients are told to ask
            ls.state(unit).refresh = True
            ls.schedule(unit)

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AiiacServer, params: types.DidOpenTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path is None:
            return
        ls.model.open(path, params.text_document.text)
        if is_policy_file(path):
            ls.spawn(ls.check_policy_file(path))
            return
        _after_change(ls, path)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AiiacServer, params: types.DidChangeTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path is None:
            return
        document = ls.workspace.get_text_document(params.text_document.uri)
        ls.model.open(path, document.source)
        _after_change(ls, path)

    @ls.feature("aiiac/documentState")
    def document_state(ls: AiiacServer, params) -> dict:
        """The server's copy of a document: version, length and SHA-256 of its UTF-8 text. The
        fuzz tests compare it with the client's after every edit; it is also the first thing to
        ask for in a report of misplaced diagnostics."""
        uri = params["uri"] if isinstance(params, dict) else getattr(params, "uri", None)
        document = ls.workspace.text_documents.get(uri) if isinstance(uri, str) else None
        if document is None:
            return {"uri": uri, "open": False}
        text = document.source
        state = {
            "uri": uri,
            "open": True,
            "version": document.version,
            "length": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        }
        if params.get("includeText") if isinstance(params, dict) else getattr(params, "includeText", False):
            state["text"] = text
        return state

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AiiacServer, params: types.DidSaveTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path and os.path.basename(path) in (".aiiac.toml", "pyproject.toml"):
            for unit in ls.model.open_units():
                ls.schedule(unit)
        elif path and is_policy_file(path):
            ls.spawn(ls.check_policy_file(path))

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AiiacServer, params: types.DidCloseTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path is None:
            return
        ls.model.close(path)
        for table in (ls._converted, ls._encoded, ls._grouped):
            table.pop(path, None)
        if not ls.pull_mode:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
            )
        unit = unit_of(path)
        if unit is not None and path in ls.scanned:  # its workspace report follows the disk again
            ls.spawn(ls.rescan(unit))
        if unit is not None and ls.model.open_paths(unit):
            ls.schedule(unit)  # the closed buffer's text on disk may differ
        elif unit is not None:  # its last document: release its cache and its last result
            ls.model.forget(unit)
            ls.units.pop(unit, None)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: AiiacServer, params: types.DidChangeWatchedFilesParams) -> None:
        touched = set()
        for change in params.changes:
            path = to_fs_path(change.uri)
            if path is None:
                continue
            if os.path.basename(path) in (".aiiac.toml", "pyproject.toml"):
                touched.update(ls.model.open_units())
            if is_policy_file(path):
                ls.spawn(ls.check_policy_file(path))
                continue
            unit = unit_of(path)
            if unit is not None and not ls.model.is_open(path):
                touched.add(unit)
        for unit in touched:
            if ls.model.open_paths(unit):
                ls.schedule(unit)

    @ls.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier="aiiac", inter_file_dependencies=True, workspace_diagnostics=True),
    )
    async def pull_diagnostics(ls: AiiacServer, params: types.DocumentDiagnosticParams):
        path = to_fs_path(params.text_document.uri)
        found = await ls.latest_analysis(path) if path else None
        diagnostics = ls.diagnostics_for(path, found[1]) if path and found else []
        result = result_id(diagnostics)
        if params.previous_result_id == result:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result)
        return types.RelatedFullDocumentDiagnosticReport(items=diagnostics, result_id=result)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=False
        ),
    )
    async def code_action(ls: AiiacServer, params: types.CodeActionParams):
        from . import convert

        path = to_fs_path(params.text_document.uri)
        found = await ls.fresh_analysis(path) if path else None
        if not path or not found:
            return []
        _, analysis = found
        lines = ls.lines_of(path, analysis)
        start = convert.from_position(params.range.start, lines, ls.encoder)
        end = convert.from_position(params.range.end, lines, ls.encoder)
        only = params.context.only or []
        actions: list[types.CodeAction] = []
        wants_fix_all = any(str(kind).startswith("source") for kind in only)
        if not only or any(str(kind).startswith("quickfix") for kind in only):
            for finding in analysis.findings:
                if finding.file != path or not _overlaps(finding, start, end):
                    continue
                actions.extend(_quick_fixes(ls, finding, analysis, list(params.context.diagnostics)))
        if wants_fix_all or not only:
            fix_all = _fix_all(ls, path, analysis)
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: AiiacServer, params: types.HoverParams):
        from ..rules import get_rule
        from . import convert

        path = to_fs_path(params.text_document.uri)
        if path is None or unit_of(path) is None:
            return None
        lines = ls.lines_of(path)
        line, col = convert.from_position(params.position, lines, ls.encoder)
        rule_id = _rule_in_comment(lines[line] if line < len(lines) else "", col)
        if rule_id and (rule := get_rule(rule_id)):
            return types.Hover(
                contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=convert.rule_markdown(rule))
            )
        found = await ls.fresh_analysis(path)
        if not found:
            return None
        _, analysis = found
        hits = [f for f in analysis.findings if f.file == path and _contains(f, line, col)]
        if not hits:
            return None
        rules = [(rule, f) for f in hits if (rule := get_rule(f.rule)) is not None]
        text = "\n\n---\n\n".join(convert.rule_markdown(rule, f) for rule, f in rules)
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=convert.to_range(hits[0].span, lines, ls.encoder),
        )

    @ls.command(COMMAND_EXPLAIN)
    def explain(ls: AiiacServer, *args) -> str | None:
        from ..rules import get_rule

        rule = get_rule(str(args[0])) if args else None
        return rule.markdown() if rule else None

    @ls.command(COMMAND_SCAN)
    async def scan_workspace(ls: AiiacServer, *args) -> dict:
        folders: list[str | None] = [to_fs_path(f.uri) for f in ls.workspace.folders.values()] or (
            [to_fs_path(ls.workspace.root_uri)] if ls.workspace.root_uri else []
        )
        token: str | None = str(uuid.uuid4())
        try:
            await ls.work_done_progress.create_async(str(token))
        except Exception:
            token = None
        summary = {"files": 0, "findings": 0, "problems": 0, "internal": 0, "skipped": 0}
        if token:
            ls.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title="aiiac: scanning workspace", cancellable=False, percentage=0)
            )
        loop = asyncio.get_running_loop()
        existing = [f for f in folders if f is not None and os.path.isdir(f)]
        if token:
            ls.work_done_progress.report(
                token, types.WorkDoneProgressReport(message=", ".join(map(os.path.basename, existing)), percentage=10)
            )
        # one analysis of every folder, as `aiiac-ls --check` makes it: the same findings
        analysis = await loop.run_in_executor(ls.executor, ls.model.check, existing) if existing else None
        if analysis is not None:
            summary["files"] = analysis.files
            summary["findings"] = len(analysis.findings)
            summary["problems"] = sum(1 for p in analysis.problems if p.kind != "skipped")
            summary["internal"] = sum(1 for p in analysis.problems if p.kind == "internal")
            summary["skipped"] = sum(1 for p in analysis.problems if p.kind == "skipped")
            reported = {f.file for f in analysis.findings} | {p.file for p in analysis.problems}
            if ls.pull_mode:  # answered by `workspace/diagnostic`; files now clean report nothing
                ls.scanned = {path: (result_id([]), []) for path, (_, items) in ls.scanned.items() if items}
                ls.keep_scanned(analysis, paths=set(analysis.sources) | reported)
            else:  # open files keep what their own analysis publishes
                for path in sorted(p for p in reported if os.path.isabs(p) and not ls.model.is_open(p)):
                    ls.text_document_publish_diagnostics(
                        types.PublishDiagnosticsParams(
                            uri=from_fs_path(path), diagnostics=ls.diagnostics_for(path, analysis)
                        )
                    )
        message = f"{summary['findings']} findings in {summary['files']} files"
        if token:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        if ls.pull_mode and ls.supports_refresh:
            ls.workspace_diagnostic_refresh(None)  # the client pulls the workspace report now
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"aiiac: {message}"))
        return summary

    @ls.feature(types.WORKSPACE_DIAGNOSTIC)
    def workspace_diagnostics(ls: AiiacServer, params: types.WorkspaceDiagnosticParams):
        """Every file of the last "Scan workspace", unchanged ones by their result id only: VS Code
        asks for files that are not open only through this request."""
        previous = {item.uri: item.value for item in params.previous_result_ids}
        items: list[types.WorkspaceDocumentDiagnosticReport] = []
        for path, (result, diagnostics) in sorted(ls.scanned.items()):
            uri = from_fs_path(path)
            if uri is None:
                continue
            if previous.get(uri) == result:
                items.append(types.WorkspaceUnchangedDocumentDiagnosticReport(uri=uri, result_id=result, version=None))
            else:
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(
                        uri=uri, items=diagnostics, result_id=result, version=None
                    )
                )
        return types.WorkspaceDiagnosticReport(items=items)

    return ls


@dataclass
class _Converted:
    """A finding's diagnostic, with what it was made of: the lines its range spans, and the
    finding's content as a key (a finding made anew with the same content reuses it)."""

    finding: Finding
    first: str
    last: str
    key: tuple
    diagnostic: types.Diagnostic


def result_id(diagnostics: list[types.Diagnostic]) -> str:
    """The id of one file's report: equal ids, equal diagnostics."""
    return hashlib.sha1(repr([(d.range, d.code, d.message, d.severity) for d in diagnostics]).encode()).hexdigest()


def release_heap() -> None:
    """Return freed heap pages to the system (glibc only; elsewhere nothing to do)."""
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None  # libc's malloc_trim, False where there is none


def _warm_up() -> None:
    from ..rules import all_rules

    all_rules()


def _after_change(ls: AiiacServer, path: str) -> None:
    unit = unit_of(path)
    if unit is None:
        if not ls.pull_mode:  # not ours (yet): still answer with an empty list
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=from_fs_path(path), diagnostics=[]))
        return
    ls.schedule(unit)
    if unit.kind == "yaml":  # the overlays that build from it (a base, a patch) see its new text
        open_units = ls.model.open_units()
        for overlay in ls.model.overlays_of([path]):
            overlay_unit = type(unit)("yaml", overlay)
            if overlay_unit in open_units:
                ls.state(overlay_unit).refresh = True
                ls.schedule(overlay_unit)
    if unit.kind == "terraform":  # the folders that call it as a local module see its new code
        open_units = ls.model.open_units()
        for caller in ls.model.callers_of(unit.directory):
            caller_unit = type(unit)("terraform", caller)
            if caller_unit in open_units:
                ls.state(caller_unit).refresh = True  # a pull client asks again
                ls.schedule(caller_unit)


def _overlaps(finding: Finding, start: tuple[int, int], end: tuple[int, int]) -> bool:
    span = finding.span
    return (span.start_line, span.start_col) <= end and start <= (span.end_line, span.end_col)


def _contains(finding: Finding, line: int, col: int) -> bool:
    span = finding.span
    return (span.start_line, span.start_col) <= (line, col) <= (span.end_line, span.end_col)


def _matching_diagnostics(finding: Finding, diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == finding.rule and d.range.start.line == finding.span.start_line]


def _quick_fixes(
    ls: AiiacServer, finding: Finding, analysis: Analysis, diagnostics: list[types.Diagnostic]
) -> list[types.CodeAction]:
    from ..fixes import FixError, resolve_fix
    from . import convert

    actions = []
    lines_of = lambda p: ls.lines_of(p, analysis)  # noqa: E731
    matching = _matching_diagnostics(finding, diagnostics) or None
    if finding.fix is not None:
        try:
            fix, edits = resolve_fix(finding.fix, analysis.source)
        except (FixError, KeyError) as exc:
            log.info("fix for %s not offered: %s", finding.rule, exc)
        else:
            actions.append(
                types.CodeAction(
                    title=f"{fix.title} ({finding.rule}){_where(finding, edits)}{' (unsafe)' if fix.unsafe else ''}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=matching,
                    is_preferred=True,
                    edit=convert.workspace_edit(edits, lines_of, ls.encoder, ls.version_of),
                )
            )
    if finding.rule not in ("AIS001", "AIS002"):
        edit = convert.ignore_edit(finding, lines_of(finding.file))
        actions.append(
            types.CodeAction(
                title=f"aiiac: ignore {finding.rule} on this line",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=matching,
                edit=convert.workspace_edit([edit], lines_of, ls.encoder, ls.version_of),
            )
        )
    return actions


def _where(finding: Finding, edits) -> str:
    """Say where a fix writes when it is not simply the finding's own line: values.yaml for a chart
    value, or the chart template itself."""
    from ..engine import classify

    files = {edit.span.file for edit in edits}
    if files != {finding.file}:
        return " — edits " + ", ".join(sorted(os.path.basename(f) for f in files))
    if classify(finding.file) == "helm" and "/templates/" in finding.file.replace(os.sep, "/"):
        return " — edits the template"
    return ""


def _fix_all(ls: AiiacServer, path: str, analysis: Analysis) -> types.CodeAction | None:
    from ..fixes import select_fixes
    from . import convert

    # only safe fixes: an unsafe one is offered on its own, marked (unsafe)
    chosen = [edit for edits in select_fixes(analysis.findings, analysis.source, path).edits.values() for edit in edits]
    if not chosen:
        return None
    return types.CodeAction(
        title="aiiac: fix all auto-fixable findings in this file",
        kind=FIX_ALL_KIND,
        edit=convert.workspace_edit(chosen, lambda p: ls.lines_of(p, analysis), ls.encoder, ls.version_of),
    )


_RULE_ID = re.compile(r"AIS\d{3}")


def _rule_in_comment(line: str, col: int) -> str | None:
    """The rule ID under the cursor when the cursor is in a suppression comment."""
    if "aiiac:ignore" not in line:
        return None
    comment_start = line.find("#")
    if comment_start < 0 or col < comment_start:
        return None
    for match in _RULE_ID.finditer(line, comment_start):
        if match.start() <= col <= match.end():
            return match.group(0)
    return None
