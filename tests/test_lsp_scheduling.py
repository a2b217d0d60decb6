"""The server's per-unit scheduler, in-process, with an analysis that the test holds open:
whatever the client does while an analysis runs, what that analysis found reaches the client."""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiiac_ls.engine import Analysis
from aiiac_ls.lsp.server import AiiacServer, create_server

PATH = "/workspace/main.tf"
UNIT = "unit:/workspace"


class HeldWorkspace:
    """A workspace whose first analysis blocks until the test releases it, as a long analysis
    of a large module does while the user goes on typing."""

    def __init__(self, versions: dict[str, int]):
        self.versions = versions
        self.release = threading.Event()
        self.started = threading.Event()
        self.analysed: list[int] = []

    def open_paths(self, unit) -> list[str]:
        return [PATH]

    def open_units(self) -> list:
        return [UNIT]

    def analyse(self, unit) -> Analysis:
        version = self.versions[PATH]  # the text this analysis reads
        self.analysed.append(version)
        self.started.set()
        if len(self.analysed) == 1:
            assert self.release.wait(10)
        return Analysis(files=version)  # which text it read, for the assertions


def _scheduler(monkeypatch, workspace, versions: dict[str, int], publish) -> AiiacServer:
    """A server whose workspace is `workspace`, whose document versions are `versions`, and whose
    publishing is `publish(unit, state)`; nothing else reaches a client."""
    ls = create_server()
    monkeypatch.setattr(AiiacServer, "model", property(lambda self: workspace))
    monkeypatch.setattr(ls, "version_of", lambda path: versions.get(path))
    monkeypatch.setattr(ls, "publish", publish)
    monkeypatch.setattr(ls, "publish_config_errors", lambda: None)
    monkeypatch.setattr(ls, "publish_policy_problems", lambda files, problems: None)
    monkeypatch.setattr(ls, "_collect_when_idle", lambda: None)
    return ls


@pytest.fixture
def server(monkeypatch):
    versions = {PATH: 1}
    workspace = HeldWorkspace(versions)
    published: list[tuple[int, int | None]] = []
    ls = _scheduler(
        monkeypatch,
        workspace,
        versions,
        lambda unit, state: published.append((state.analysis.files, state.versions[PATH])),
    )
    yield ls, workspace, versions, published
    ls.executor.shutdown(wait=False)


@pytest.mark.asyncio
async def test_an_overtaken_analysis_is_published_then_the_newest_text_analysed(server):
    ls, workspace, versions, published = server
    ls.schedule(UNIT)
    await asyncio.get_running_loop().run_in_executor(None, workspace.started.wait, 5)
    versions[PATH] = 2  # the user types while version 1 is analysed
    ls.schedule(UNIT)
    workspace.release.set()
    state = ls.state(UNIT)
    await asyncio.wait_for(state.done.wait(), 10)
    # version 1's findings went out (with version 1), then version 2 was analysed and published
    assert published == [(1, 1), (2, 2)]
    assert workspace.analysed == [1, 2]
    assert state.versions == {PATH: 2}


@pytest.mark.asyncio
async def test_a_pull_is_answered_by_the_next_analysis_to_finish_even_if_overtaken(server, monkeypatch):
    ls, workspace, versions, published = server
    monkeypatch.setattr("aiiac_ls.lsp.server.unit_of", lambda path: UNIT)
    ls.schedule(UNIT)
    await asyncio.get_running_loop().run_in_executor(None, workspace.started.wait, 5)
    versions[PATH] = 2
    ls.schedule(UNIT)
    pull = asyncio.ensure_future(ls.latest_analysis(PATH))
    await asyncio.sleep(0.05)
    assert not pull.done()  # nothing has finished yet
    workspace.release.set()
    _, analysis = await asyncio.wait_for(pull, 10)
    assert analysis.files == 1  # the overtaken analysis, not a wait for the user to stop typing
    assert published[0] == (1, 1)
    await asyncio.wait_for(ls.state(UNIT).done.wait(), 10)
    # quick fixes must match the buffer: fresh_analysis gives only the current text's analysis
    _, fresh = await asyncio.wait_for(ls.fresh_analysis(PATH), 10)
    assert fresh.files == 2


def test_ranges_of_an_overtaken_analysis_are_kept_inside_the_current_document():
    """Converted against the text it analysed, a range may pass the end of a line or of the
    document the user has since shortened; clients get it clamped, in their own units."""
    from aiiac_ls.lsp import convert
    from aiiac_ls.lsp.positions import Encoder
    from lsprotocol import types

    def diagnostic(start: tuple[int, int], end: tuple[int, int]) -> types.Diagnostic:
        return types.Diagnostic(range=types.Range(start=types.Position(*start), end=types.Position(*end)), message="m")

    lines = ['acl = "é😀"', "x"]  # 10 code points, 11 UTF-16 units, 14 UTF-8 bytes
    utf16, utf8 = Encoder("utf-16"), Encoder("utf-8")
    assert convert.clamped(diagnostic((0, 2), (0, 40)), lines, utf16).range == types.Range(
        start=types.Position(0, 2), end=types.Position(0, 11)
    )
    assert convert.clamped(diagnostic((0, 2), (0, 40)), lines, utf8).range.end == types.Position(0, 14)
    assert convert.clamped(diagnostic((5, 0), (7, 3)), lines, utf16).range == types.Range(
        start=types.Position(1, 1), end=types.Position(1, 1)
    )
    inside = diagnostic((0, 0), (1, 1))
    assert convert.clamped(inside, lines, utf16) is inside


def test_published_diagnostics_are_encoded_as_pygls_encodes_them(monkeypatch):
    """The server writes publishDiagnostics from per-diagnostic JSON it keeps between publishes;
    the message must be what pygls's own encoder makes of the same notification."""
    import json

    from lsprotocol import types

    ls = create_server()
    sent: list[bytes] = []
    monkeypatch.setattr(ls.protocol, "send_encoded", lambda *parts: sent.append(b"".join(parts)))
    diagnostics = [
        types.Diagnostic(
            range=types.Range(start=types.Position(0, 2), end=types.Position(0, 11)),
            message="canned ACL `public-read` é😀",
            severity=types.DiagnosticSeverity.Error,
            code="AIS402",
            source="aiiac",
        ),
        types.Diagnostic(range=types.Range(start=types.Position(3, 0), end=types.Position(3, 1)), message="second"),
    ]
    inserted = types.Diagnostic(range=types.Range(start=types.Position(1, 0), end=types.Position(1, 4)), message="new")
    # the same list again, then one diagnostic inserted before the others (the kept ones move),
    # the list cut short, emptied, and filled again
    publishes = [diagnostics, diagnostics, [inserted, *diagnostics], [inserted, diagnostics[1]], [], diagnostics]
    for version, published in zip((7, None, 9, 10, 11, 12), publishes, strict=True):
        ls.publish_diagnostics("/workspace/main.tf", version, list(published))
        expected = types.PublishDiagnosticsNotification(
            method="textDocument/publishDiagnostics",
            jsonrpc="2.0",
            params=types.PublishDiagnosticsParams(
                uri="file:///workspace/main.tf", version=version, diagnostics=published
            ),
        )
        assert sent[-1].isascii()
        assert json.loads(sent[-1]) == json.loads(json.dumps(expected, default=ls.protocol._serialize_message))
    ls.executor.shutdown(wait=False)


def test_lines_split_fast_without_carriage_returns_are_the_lsp_lines():
    """`lsp_lines` takes `str.split` when the text has no `\\r`; on any text, with and without
    line ends kept, it must give what the general rule gives: lines end only at \\n, \\r\\n, \\r."""
    import random

    from aiiac_ls.lsp.positions import _LINE, lsp_lines

    def by_the_rule(text: str, keepends: bool) -> list[str]:
        lines = [match.group(0) for match in _LINE.finditer(text)]
        if not keepends:
            lines = [line.rstrip("\r\n") for line in lines]
            if text.endswith(("\n", "\r")) or not text:
                lines.append("")
        return lines

    assert lsp_lines("a\u2028b\fc\n") == ["a\u2028b\fc", ""]  # U+2028 and \f are not line ends
    assert lsp_lines("a\nb", keepends=True) == ["a\n", "b"]
    rng = random.Random(7)
    pieces = ["a", " ", "\n", "\r", "\r\n", "\u2028", "\f", "\v", "é", "😀"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        for keepends in (False, True):
            assert lsp_lines(text, keepends) == by_the_rule(text, keepends), (text, keepends)


def test_incremental_edits_apply_as_pygls_applies_them():
    """The server applies an incremental edit by offsets instead of pygls's copy of every line;
    on any text and range (emoji counted in UTF-16 and UTF-8 units, positions past a line's or
    the document's end, ranges over several lines, reversed ones) the document must become what
    pygls makes of it."""
    import random

    from aiiac_ls.lsp.positions import install_line_fix
    from lsprotocol import types
    from pygls.workspace.position_codec import PositionCodec
    from pygls.workspace.text_document import TextDocument

    install_line_fix()
    rng = random.Random(11)
    pieces = ["a", "bc", " ", "\n", "\n", "é", "😀", "\f", "\u2028", "\r\n", "\r"]
    for encoding in (types.PositionEncodingKind.Utf16, types.PositionEncodingKind.Utf8):
        codec = PositionCodec(encoding)
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
            lines = text.count("\n") + 1
            start = (rng.randint(0, lines + 1), rng.randint(0, 8))
            end = (rng.randint(start[0], lines + 1), rng.randint(0, 8))
            if rng.random() < 0.1:
                start, end = end, start
            inserted = rng.choice(["", "x", "é\n", "😀"])

            def change(start=start, end=end, inserted=inserted) -> types.TextDocumentContentChangePartial:
                """A new one for each document: pygls's codec edits positions in place."""
                return types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(*start), end=types.Position(*end)), text=inserted
                )

            ours = TextDocument("file:///t.tf", text, position_codec=codec)
            theirs = TextDocument("file:///t.tf", text, position_codec=codec)
            ours._apply_incremental_change(change())
            TextDocument._pygls_incremental_change(theirs, change())
            assert ours.source == theirs.source, (text, start, end, inserted)


@pytest.mark.asyncio
async def test_new_facts_reach_the_other_folders_even_from_an_overtaken_analysis(monkeypatch):
    """The analysis that sees a folder's new facts (a ServiceAccount renamed) may be overtaken by
    a save; the workspace keeps the facts, so the next analysis sees no change. The other open
    folders must be re-checked all the same."""
    other, other_path = "unit:/workspace/infra", "/workspace/infra/iam.tf"
    versions = {PATH: 1, other_path: 1}
    release, started = threading.Event(), threading.Event()
    analysed: list[tuple[str, int]] = []

    class Folders:
        def open_paths(self, unit):
            return [PATH] if unit == UNIT else [other_path]

        def open_units(self):
            return [UNIT, other]

        def analyse(self, unit):
            version = versions[PATH if unit == UNIT else other_path]
            analysed.append((unit, version))
            first = len([a for a in analysed if a[0] == UNIT]) == 1 and unit == UNIT
            if first:
                started.set()
                assert release.wait(10)
            return Analysis(files=version, facts_changed=first)  # only the first one sees the change

    ls = _scheduler(monkeypatch, Folders(), versions, lambda unit, state: None)
    ls.schedule(UNIT)
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    ls.schedule(UNIT)  # a save while the first analysis runs: it is overtaken
    release.set()
    await asyncio.wait_for(ls.state(UNIT).done.wait(), 10)
    await asyncio.wait_for(ls.state(other).done.wait(), 10)
    assert analysed == [(UNIT, 1), (other, 1), (UNIT, 1)] or analysed == [(UNIT, 1), (UNIT, 1), (other, 1)]
    ls.executor.shutdown(wait=False)
