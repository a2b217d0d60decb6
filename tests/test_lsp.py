"""The language server end to end (pytest-lsp), over several real clients' capabilities.

Positions are asserted in each client's negotiated encoding on a line with non-ASCII characters;
quick fixes are applied to the text and the result re-parsed; push clients must never be asked to
pull and pull clients never receive pushes.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.uris import to_fs_path as types_uri_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from ruamel.yaml import YAML

CLIENTS = ["visual-studio-code", "neovim@v0.9.1", "neovim@v0.11.0", "emacs"]
# Tests of positions and edits run on every profile (UTF-16, UTF-8, UTF-32); tests of what reaches
# the client run on one push and one pull client; the rest once.
PUSH_AND_PULL = pytest.mark.parametrize("client", ["neovim@v0.9.1", "neovim@v0.11.0"], indirect=True)
ONCE = pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
VS_CODE_PULL = "visual-studio-code (pull)"

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: vllm
    spec:
      automountServiceAccountToken: false
      securityContext: {seccompProfile: {type: RuntimeDefault}}
      containers:
        - {name: "é😀", image: "vllm/vllm-openai:latest", securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}, resources: {requests: {cpu: "1"}, limits: {memory: 1Gi}}}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: vllm
      annotations: {note: "\u2028 line separator inside a string"}
    spec:
      type: ClusterIP
      ports:
        - port: 8000
    """)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(POD, encoding="utf-8")
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(
        textwrap.dedent("""\
        resource "aws_s3_bucket_acl" "models" {
          bucket = "acme-models"
          acl    = var.acl
        }
        """)
    )
    (tmp_path / "infra" / "variables.tf").write_text('variable "acl" {\n  default = "private"\n}\n')
    return tmp_path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "aiiac_ls.cli", "--stdio"]),
    params=CLIENTS,
)
async def client(request, lsp_client: LanguageClient, project):
    capabilities = _capabilities(request.param)
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):  # real clients that advertise it accept it
        lsp_client.registrations.extend(params.registrations)

    lsp_client.project = project
    lsp_client.encoding = _encoding(capabilities)
    lsp_client.pull = bool(capabilities.text_document and capabilities.text_document.diagnostic)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def _capabilities(profile: str) -> types.ClientCapabilities:
    """pytest-lsp's profile, or VS Code as it is today (`VS_CODE_PULL`): pull diagnostics, with the
    workspace report and its refresh (vscode-languageclient 9), which the stored profile predates."""
    if profile != VS_CODE_PULL:
        return client_capabilities(profile)
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.text_document is not None and capabilities.workspace is not None
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(related_document_support=False)
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return capabilities


def _encoding(capabilities) -> str:
    offered = capabilities.general.position_encodings if capabilities.general else None
    return str(offered[0].value if hasattr(offered[0], "value") else offered[0]) if offered else "utf-16"


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _lines(text: str) -> list[str]:
    import re

    return re.split(r"\r\n|\r|\n", text)


def _offset(text: str, position: types.Position, encoding: str) -> int:
    lines = _lines(text)
    before = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line]
    for index in range(len(line) + 1):
        if _units(line[:index], encoding) >= position.character:
            return before + index
    return before + len(line)


def _apply(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = _offset(text, edit.range.start, encoding), _offset(text, edit.range.end, encoding)
        text = text[:start] + edit.new_text + text[end:]
    return text


async def _open(client: LanguageClient, path: Path, language_id: str = "yaml") -> str:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language_id, version=1, text=path.read_text(encoding="utf-8")
            )
        )
    )
    return uri


async def _diagnostics(client: LanguageClient, uri: str, expect_change_from=None) -> list[types.Diagnostic]:
    """Pull (for pull clients) or wait for a push; with `expect_change_from`, wait for a new result."""
    for _ in range(200):
        if client.pull:
            report = await client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            items = list(report.items)
        else:
            items = client.diagnostics.get(uri)
            if items is None:
                await asyncio.sleep(0.05)
                continue
            items = list(items)
        if expect_change_from is None or _codes(items) != _codes(expect_change_from):
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"no (new) diagnostics for {uri}")


def _codes(diagnostics) -> list[tuple[str, int]]:
    return sorted((str(d.code), d.range.start.line) for d in diagnostics)


@pytest.mark.asyncio
async def test_exact_ranges_in_the_negotiated_encoding(client: LanguageClient):
    uri = await _open(client, client.project / "k8s" / "pod.yaml")
    diagnostics = await _diagnostics(client, uri)
    [image] = [d for d in diagnostics if d.code == "AIS110"]
    line = POD.splitlines()[8]
    start = line.index("image:")
    end = line.index('",', start) + 1
    assert image.range == types.Range(
        start=types.Position(line=8, character=_units(line[:start], client.encoding)),
        end=types.Position(line=8, character=_units(line[:end], client.encoding)),
    )
    assert image.source == "aiiac" and image.severity == types.DiagnosticSeverity.Warning
    assert image.code_description.href.endswith("/docs/rules/AIS110.md")
    if client.pull:
        assert client.diagnostics == {}, "a pull client must not also receive pushes"


@pytest.mark.asyncio
async def test_incremental_edit_after_a_line_separator_lands_on_the_right_line(client: LanguageClient):
    path = client.project / "k8s" / "pod.yaml"
    uri = await _open(client, path)
    before = await _diagnostics(client, uri)
    line = _lines(POD).index("  type: ClusterIP")
    start = _lines(POD)[line].index("ClusterIP")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=start),
                        end=types.Position(line=line, character=start + len("ClusterIP")),
                    ),
                    text="LoadBalancer",
                )
            ],
        )
    )
    after = await _diagnostics(client, uri, expect_change_from=before)
    [exposed] = [d for d in after if d.code == "AIS201"]
    assert exposed.range.start == types.Position(line=line, character=2)
    assert exposed.severity == types.DiagnosticSeverity.Error  # model-serving port 8000: high


async def _exposed_service_actions(client: LanguageClient):
    """Open the pod manifest with its Service made a LoadBalancer; return the text, its URI, the
    diagnostics, the AIS201 one and the code actions offered for it."""
    path = client.project / "k8s" / "pod.yaml"
    text = POD.replace("type: ClusterIP", "type: LoadBalancer")
    path.write_text(text, encoding="utf-8")
    uri = await _open(client, path)
    diagnostics = await _diagnostics(client, uri)
    [exposed] = [d for d in diagnostics if d.code == "AIS201"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=exposed.range,
            context=types.CodeActionContext(diagnostics=[exposed]),
        )
    )
    return text, uri, diagnostics, exposed, actions


@pytest.mark.asyncio
async def test_quick_fix_applied_and_reparsed(client: LanguageClient):
    text, uri, diagnostics, _, actions = await _exposed_service_actions(client)
    titles = [a.title for a in actions]
    assert "Change LoadBalancer to ClusterIP (AIS201) (unsafe)" in titles  # clients outside lose access
    assert "aiiac: ignore AIS201 on this line" in titles
    fix = next(a for a in actions if a.title.startswith("Change LoadBalancer"))
    assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix and fix.diagnostics[0].code == "AIS201"
    [change] = fix.edit.document_changes
    assert change.text_document.uri == uri and change.text_document.version == 1
    new_text = _apply(text, list(change.edits), client.encoding)
    assert new_text == text.replace("type: LoadBalancer", "type: ClusterIP")
    list(YAML(typ="safe").load_all(new_text))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)],
        )
    )
    after = await _diagnostics(client, uri, expect_change_from=diagnostics)
    assert "AIS201" not in {d.code for d in after}


@pytest.mark.asyncio
async def test_ignore_action_and_fix_all(client: LanguageClient):
    text, uri, _, exposed, actions = await _exposed_service_actions(client)
    ignore = next(a for a in actions if a.title.startswith("aiiac: ignore"))
    ignored = _apply(text, list(ignore.edit.document_changes[0].edits), client.encoding)
    assert "  type: LoadBalancer  # aiiac:ignore AIS201 -- reason" in _lines(ignored)
    fix_all = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=exposed.range,
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.aiiac"]),
        )
    )
    assert list(fix_all or []) == []  # the only fix here is unsafe: fix-all leaves it to the user
    # with a safe fix beside it, fix-all applies that one and still not the unsafe one
    mixed = client.project / "k8s" / "mixed.yaml"
    mixed_text = text.replace("securityContext: {seccompProfile: {type: RuntimeDefault}}", "securityContext: {}")
    mixed.write_text(mixed_text, encoding="utf-8")
    mixed_uri = await _open(client, mixed)
    await _diagnostics(client, mixed_uri)
    [action] = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=mixed_uri),
            range=exposed.range,
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.aiiac"]),
        )
    )
    assert action.kind == "source.fixAll.aiiac"
    fixed = _apply(mixed_text, list(action.edit.document_changes[0].edits), client.encoding)
    assert "type: LoadBalancer" in fixed and "RuntimeDefault" in fixed
    list(YAML(typ="safe").load_all(fixed))


@pytest.mark.asyncio
async def test_hover_on_finding_and_on_suppression_comment(client: LanguageClient):
    path = client.project / "k8s" / "pod.yaml"
    text = POD.replace("type: ClusterIP", "type: LoadBalancer  # aiiac:ignore AIS110 -- wrong rule on purpose")
    path.write_text(text, encoding="utf-8")
    uri = await _open(client, path)
    diagnostics = await _diagnostics(client, uri)
    [exposed] = [d for d in diagnostics if d.code == "AIS201"]
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=exposed.range.start)
    )
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("**AIS201** · Service exposes pods outside the cluster · *high*")
    assert "Why it matters." in hover.contents.value and "docs/rules/AIS201.md" in hover.contents.value
    line = exposed.range.start.line
    col = _lines(text)[line].index("AIS110") + 2
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=col)
        )
    )
    assert hover.contents.value.startswith("**AIS110** · Image is not pinned to a version")


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_editing_variables_rechecks_the_module(client: LanguageClient):
    main_uri = await _open(client, client.project / "infra" / "main.tf", "terraform")
    variables = client.project / "infra" / "variables.tf"
    vars_uri = await _open(client, variables, "terraform")
    before = await _diagnostics(client, main_uri)
    assert before == []
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=vars_uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text='variable "acl" {\n  default = "public-read"\n}\n')
            ],
        )
    )
    after = await _diagnostics(client, main_uri, expect_change_from=before)
    assert _codes(after) == [("AIS402", 2)]
    if client.registrations:  # clients with dynamic registration were asked to watch these files
        [registration] = client.registrations
        patterns = {w["globPattern"] for w in registration.register_options["watchers"]}
        assert {"**/*.tf", "**/.aiiac.toml"} <= patterns


STORE_MODULE = textwrap.dedent("""\
    variable "acl" {
      default = "public-read"
    }

    resource "aws_s3_bucket_acl" "models" {
      bucket = "acme-models"
      acl    = var.acl
    }
    """)
STORE_CALLER = 'module "store" {\n  source = "../modules/store"\n  acl    = "private"\n}\n'


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_a_local_module_is_checked_through_its_callers_which_follow_its_edits(client: LanguageClient):
    """Alone, the module's default `public-read` would be flagged; its caller passes `private`.
    An edit of the module re-checks the open caller, where the finding then lands, with the
    module's line as related information."""
    store = client.project / "modules" / "store"
    store.mkdir(parents=True)
    (store / "main.tf").write_text(STORE_MODULE)
    (client.project / "live").mkdir()
    (client.project / "live" / "main.tf").write_text(STORE_CALLER)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="aiiac.scanWorkspace"))
    caller_uri = await _open(client, client.project / "live" / "main.tf", "terraform")
    module_uri = await _open(client, store / "main.tf", "terraform")
    assert await _diagnostics(client, module_uri) == []
    before = await _diagnostics(client, caller_uri)
    assert before == []
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=module_uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(
                    text=STORE_MODULE.replace(
                        "acl    = var.acl", 'acl    = var.acl == "private" ? "public-read" : var.acl'
                    )
                )
            ],
        )
    )
    [finding] = await _diagnostics(client, caller_uri, expect_change_from=before)
    assert (finding.code, finding.range.start.line, finding.range.start.character) == ("AIS402", 2, 11)
    [related] = finding.related_information
    assert related.location.uri == module_uri and related.location.range.start.line == 6
    assert related.message == f"module.store.aws_s3_bucket_acl.models, in {store}"
    assert await _diagnostics(client, module_uri) == []  # decided by the caller: reported there


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_a_kustomize_patch_is_checked_through_its_overlay_and_follows_its_base(client: LanguageClient):
    """The patch that makes the Service a LoadBalancer gets the finding; the base's port makes it
    a model port; an edit of the base re-checks the overlay; a patch broken mid-edit keeps the
    last good build's findings beside its syntax error."""
    import shutil

    serving = client.project / "serving"
    shutil.copytree(Path(__file__).parent / "fixtures" / "kustomize" / "serving", serving)
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="aiiac.scanWorkspace"))
    patch = serving / "overlays" / "prod" / "service-lb.yaml"
    patch_uri = await _open(client, patch)
    base_uri = await _open(client, serving / "base" / "service.yaml")
    [finding] = [d for d in await _diagnostics(client, patch_uri) if d.code == "AIS201"]
    assert (finding.range.start.line, finding.range.start.character) == (5, 2)
    assert "model-serving port 8000" in finding.message
    base_text = (serving / "base" / "service.yaml").read_text()
    before = await _diagnostics(client, patch_uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=base_uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=base_text.replace("8000", "3000"))],
        )
    )
    after = await _diagnostics(client, patch_uri, expect_change_from=[])
    for _ in range(100):
        [finding] = [d for d in after if d.code == "AIS201"]
        if "model-serving" not in finding.message:
            break
        await asyncio.sleep(0.05)
        after = await _diagnostics(client, patch_uri)
    assert finding.message.startswith("LoadBalancer Service exposes its pods to the internet")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=patch_uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=patch.read_text() + "  ports: [oops\n")],
        )
    )
    broken = await _diagnostics(client, patch_uri, expect_change_from=after)
    assert [d.range.start.line for d in broken if d.code == "AIS201"] == [5]  # the last good build's
    [syntax] = [d for d in broken if d.code != "AIS201"]
    assert syntax.severity == types.DiagnosticSeverity.Error and syntax.range.start.line >= 6
    del before


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_configuration_change_applies(client: LanguageClient):
    uri = await _open(client, client.project / "k8s" / "pod.yaml")
    before = await _diagnostics(client, uri)
    assert "AIS110" in {d.code for d in before}
    client.set_configuration({"ignore": ["AIS110"]}, section="aiiac")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    after = await _diagnostics(client, uri, expect_change_from=before)
    assert "AIS110" not in {d.code for d in after}


@ONCE
@pytest.mark.asyncio
async def test_scan_workspace_reports_progress(client: LanguageClient):
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="aiiac.scanWorkspace"))
    assert result["files"] == 3 and result["findings"] == 2  # pod.yaml: the floating tag, the default ServiceAccount
    [reports] = list(client.progress_reports.values())
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    explained = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="aiiac.explainRule", arguments=["AIS301"])
    )
    assert explained.startswith("# AIS301:")


@pytest.mark.parametrize("client", [VS_CODE_PULL], indirect=True)
@pytest.mark.asyncio
async def test_scan_workspace_fills_a_pull_clients_workspace_report(client: LanguageClient):
    """VS Code pulls only open documents one by one; every other scanned file reaches its Problems
    panel through `workspace/diagnostic`. After a scan the server asks for a refresh and says
    how many findings it found; unchanged files are answered by their result id; a file closed
    with unsaved edits reports what is on disk again."""

    async def refreshed(after: int) -> None:
        for _ in range(200):
            if client.diagnostic_refresh_count > after:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no workspace/diagnostic/refresh")

    (client.project / "serving").mkdir()
    (client.project / "serving" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: triton\nspec:\n  type: LoadBalancer\n"
        "  ports:\n    - port: 8000\n"
    )
    empty = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=[]))
    assert list(empty.items) == []  # nothing scanned yet
    count = client.diagnostic_refresh_count
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="aiiac.scanWorkspace"))
    await refreshed(count)
    assert [m.message for m in client.messages] == ["aiiac: 3 findings in 4 files"]
    report = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=[]))
    found = {
        Path(types_uri_path(item.uri)).relative_to(client.project).as_posix(): [
            (d.code, d.range.start.line, d.range.start.character) for d in item.items
        ]
        for item in report.items
    }
    assert found == {  # UTF-16 columns: the container's name before the image holds an emoji
        "infra/main.tf": [],
        "infra/variables.tf": [],
        "k8s/pod.yaml": [("AIS311", 4, 0), ("AIS110", 8, 20)],
        "serving/svc.yaml": [("AIS201", 5, 2)],
    }
    assert all(isinstance(item, types.WorkspaceFullDocumentDiagnosticReport) for item in report.items)
    known = [types.PreviousResultId(uri=item.uri, value=item.result_id) for item in report.items]
    again = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=known))
    assert [type(item) for item in again.items] == [types.WorkspaceUnchangedDocumentDiagnosticReport] * 4

    # an unsaved edit fixes the Service; closed without saving, the disk's finding is back
    svc = client.project / "serving" / "svc.yaml"
    svc_uri = await _open(client, svc)
    opened = await _diagnostics(client, svc_uri)
    assert [d.code for d in opened] == ["AIS201"]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=svc_uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text=svc.read_text().replace("LoadBalancer", "ClusterIP"))
            ],
        )
    )
    assert await _diagnostics(client, svc_uri, expect_change_from=opened) == []
    svc.write_text(svc.read_text().replace("8000", "3000"))  # and the disk changed meanwhile
    count = client.diagnostic_refresh_count
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=svc_uri))
    )
    await refreshed(count)
    after = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=known))
    [changed] = [item for item in after.items if isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)]
    assert changed.uri == svc_uri
    [(code, message)] = [(d.code, d.message) for d in changed.items]
    assert code == "AIS201" and "model-serving port" not in message  # port 3000, read from the disk


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_close_clears_and_broken_yaml_reports_a_syntax_error(client: LanguageClient):
    path = client.project / "k8s" / "pod.yaml"
    uri = await _open(client, path)
    before = await _diagnostics(client, uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=POD + "---\nkind: [oops\n")],
        )
    )
    after = await _diagnostics(client, uri, expect_change_from=before)
    syntax = [d for d in after if d.code == "syntax-error"]
    assert syntax and syntax[0].range.start.line == len(_lines(POD)) + 1
    assert "AIS110" in {d.code for d in after}, "the intact documents keep their findings"
    if not client.pull:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        for _ in range(100):
            if client.diagnostics.get(uri) is not None and len(client.diagnostics[uri]) == 0:
                break
            await asyncio.sleep(0.05)
        assert list(client.diagnostics.get(uri, [None])) == []


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_malformed_config_is_a_diagnostic_on_the_config_file(client: LanguageClient):
    config = client.project / ".aiiac.toml"
    config.write_text('select = ["AIS1"]\nignroe = ["AIS110"]\n')
    uri = await _open(client, client.project / "k8s" / "pod.yaml")
    await _diagnostics(client, uri)
    if client.pull:
        return  # the config file's diagnostic is pushed only to push clients
    for _ in range(100):
        if client.diagnostics.get(config.as_uri()):
            break
        await asyncio.sleep(0.05)
    [problem] = client.diagnostics[config.as_uri()]
    assert problem.code == "config-error" and problem.range.start.line == 1
    assert "unknown key `ignroe`" in problem.message


@ONCE
@pytest.mark.asyncio
async def test_disk_change_of_a_closed_module_file_is_picked_up(client: LanguageClient):
    main_uri = await _open(client, client.project / "infra" / "main.tf", "terraform")
    before = await _diagnostics(client, main_uri)
    variables = client.project / "infra" / "variables.tf"
    variables.write_text('variable "acl" {\n  default = "public-read-write"\n}\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=variables.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    after = await _diagnostics(client, main_uri, expect_change_from=before)
    assert _codes(after) == [("AIS402", 2)]
    if client.registrations:  # clients with dynamic registration were asked to watch these files
        [registration] = client.registrations
        patterns = {w["globPattern"] for w in registration.register_options["watchers"]}
        assert {"**/*.tf", "**/.aiiac.toml"} <= patterns


@pytest.fixture
def chart_files(project):
    root = project / "charts" / "triton"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: triton\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("service:\n  type: ClusterIP\nsecurityContext:\n  readOnlyRootFilesystem: true\n")
    (root / "templates" / "all.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata: {name: triton}
        spec:
          type: {{ .Values.service.type }}
          ports: [{port: 8000}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: triton}
        spec:
          automountServiceAccountToken: false
          containers:
            - name: triton
              image: nvcr.io/nvidia/tritonserver:24.05-py3
              securityContext:
                {{- toYaml .Values.securityContext | nindent 8 }}
        """)
    )
    return root


@pytest.mark.asyncio
async def test_values_edit_rechecks_the_chart_and_fix_lands_in_values(client: LanguageClient, chart_files):
    values = chart_files / "values.yaml"
    template_uri = await _open(client, chart_files / "templates" / "all.yaml")
    values_uri = await _open(client, values)
    await _diagnostics(client, template_uri)
    values_before = await _diagnostics(client, values_uri)
    # the container's securityContext is values.yaml's mapping: the missing key is reported there
    assert ("AIS101", 3) in _codes(values_before)
    new_values = values.read_text().replace("type: ClusterIP", "type: LoadBalancer")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=values_uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_values)],
        )
    )
    after = await _diagnostics(client, values_uri, expect_change_from=values_before)
    [exposed] = [d for d in after if d.code == "AIS201"]
    assert exposed.range.start == types.Position(line=1, character=8)  # `LoadBalancer` in values.yaml
    # runAsNonRoot: the container's securityContext comes from values.yaml, so the fix edits values.yaml
    [root_finding] = [d for d in after if d.code == "AIS101"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=values_uri),
            range=root_finding.range,
            context=types.CodeActionContext(diagnostics=[root_finding]),
        )
    )
    fix = next(a for a in actions if a.is_preferred)
    assert fix.title == "Add securityContext.runAsNonRoot: true (AIS101) (unsafe)"
    [change] = fix.edit.document_changes
    assert change.text_document.uri == values_uri and change.text_document.version == 2
    fixed = _apply(new_values, list(change.edits), client.encoding)
    assert fixed.endswith("securityContext:\n  readOnlyRootFilesystem: true\n  runAsNonRoot: true\n")


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_custom_rules_in_the_editor_and_rego_errors_on_the_policy_file(client: LanguageClient):
    project = client.project
    (project / "policies").mkdir()
    (project / "policies" / "acl.rego").write_text(
        textwrap.dedent("""\
        package aiiac.org.acl

        import rego.v1

        deny contains {"id": "ORG5", "message": "ACLs are managed centrally", "path": "acl"} if {
          input.kind == "aws_s3_bucket_acl"
        }
        """)
    )
    (project / ".aiiac.toml").write_text('policies = ["policies"]\n')
    uri = await _open(client, project / "infra" / "main.tf", "terraform")
    diagnostics = await _diagnostics(client, uri)
    [custom] = [d for d in diagnostics if d.code == "ORG5"]
    assert custom.message == "ACLs are managed centrally"
    assert (custom.range.start.line, custom.range.start.character, custom.range.end.character) == (2, 2, 18)

    broken = project / "policies" / "broken.rego"
    broken.write_text("package aiiac.org.broken\n\ndeny contains f if {\n  input.kind ==\n}\n")
    await _open(client, broken, "rego")
    if client.pull:
        return  # policy file problems are pushed; the pull-mode clients here are tested for the finding
    for _ in range(200):
        if client.diagnostics.get(broken.as_uri()):
            break
        await asyncio.sleep(0.05)
    [problem] = client.diagnostics[broken.as_uri()]
    assert problem.message == "Rego: Invalid boolean operator"
    assert (problem.range.start.line, problem.range.start.character) == (3, 13)


async def _until(client: LanguageClient, uri: str, wanted, attempts: int = 300) -> list[types.Diagnostic]:
    """Diagnostics of `uri` once `wanted(codes)` holds (background work may come later)."""
    items: list[types.Diagnostic] = []
    for _ in range(attempts):
        if client.pull:
            report = await client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            items = list(report.items)
        else:
            items = list(client.diagnostics.get(uri) or [])
        if wanted(_codes(items)):
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"diagnostics of {uri} never matched: {_codes(items)}")


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_a_folder_is_judged_knowing_the_rest_of_the_workspace(client: LanguageClient):
    """As `--check .` does: the IRSA trust in infra/ is held against the ServiceAccounts in k8s/,
    which is not open; editing k8s/ re-checks infra/."""
    project = client.project
    (project / "infra" / "iam.tf").write_text(
        textwrap.dedent("""\
        resource "aws_iam_role" "triton" {
          name = "triton"
          assume_role_policy = jsonencode({
            Statement = [{
              Effect    = "Allow"
              Action    = "sts:AssumeRoleWithWebIdentity"
              Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/A" }
              Condition = { StringEquals = {
                "oidc.example/id/A:sub" = "system:serviceaccount:ml:triton"
                "oidc.example/id/A:aud" = "sts.amazonaws.com"
              } }
            }]
          })
        }
        """)
    )
    accounts = project / "k8s" / "accounts.yaml"
    accounts.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: other\n  namespace: ml\n")
    uri = await _open(client, project / "infra" / "iam.tf", "terraform")
    found = await _until(client, uri, lambda codes: ("AIS330", 8) in codes)
    [trust] = [d for d in found if d.code == "AIS330"]
    assert trust.message == (
        "IAM role `triton` trusts ServiceAccount `ml/triton`, which no scanned manifest, "
        "chart or Terraform defines (Cloud identity trusts a ServiceAccount that does not use it)"
    )
    accounts_uri = await _open(client, accounts)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=accounts_uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(
                    text=(
                        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: triton\n  namespace: ml\n  annotations:\n"
                        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/triton\n"
                    )
                )
            ],
        )
    )
    await _until(client, uri, lambda codes: not [c for c in codes if c[0] == "AIS330"])


@PUSH_AND_PULL
@pytest.mark.asyncio
async def test_one_containers_gaps_name_each_other(client: LanguageClient):
    """Several findings on one container: the first diagnostic of the place lists the others as
    related information, so the editor shows one problem with several fixes."""
    path = client.project / "k8s" / "bare.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bare}\nspec:\n  serviceAccountName: bare\n"
        "  automountServiceAccountToken: false\n  securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
        "  containers:\n    - name: serve\n      image: acme/serve@sha256:" + "0" * 64 + "\n"
        "      resources: {requests: {cpu: '1', memory: 1Gi}}\n"
    )
    uri = await _open(client, path)
    diagnostics = [d for d in await _diagnostics(client, uri) if d.range.start.line == 8]
    assert sorted(d.code for d in diagnostics) == ["AIS101", "AIS104", "AIS105", "AIS106"]
    by_code = {d.code: d for d in diagnostics}
    related = [r.message for r in by_code["AIS101"].related_information]
    assert related == [
        "also here: AIS104 container `serve` does not set allowPrivilegeEscalation: false (quick fix)",
        "also here: AIS105 container `serve` has a writable root filesystem (quick fix)",
        "also here: AIS106 container `serve` does not drop ALL capabilities (quick fix)",
    ]
    assert all(
        r.location.uri == uri and r.location.range == by_code["AIS101"].range
        for r in by_code["AIS101"].related_information
    )
    assert [by_code[code].related_information for code in ("AIS104", "AIS105", "AIS106")] == [None] * 3
