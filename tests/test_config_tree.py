"""Nested configurations in a monorepo, as ruff resolves them: each file follows the nearest
`.aiiac.toml` (or pyproject.toml `[tool.aiiac]`) above it, `extend` inherits, and the order of the
paths on the command line changes nothing."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from aiiac_ls.cli import main
from aiiac_ls.config import ConfigError, ConfigTree, load_config, load_config_file

SERVICE = textwrap.dedent("""\
    apiVersion: v1
    kind: Service
    metadata:
      name: triton
    spec:
      type: LoadBalancer
      ports:
        - port: 8000
    """)
POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: vllm
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
    """)


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """root: ignores AIS110 (floating tags). team-a extends it, lowers AIS201 and excludes legacy/;
    team-b stands alone and selects only network rules (AIS2)."""
    (tmp_path / ".aiiac.toml").write_text('ignore = ["AIS110"]\nexclude = ["generated"]\n')
    for team in ("team-a", "team-b", "team-c"):
        (tmp_path / team).mkdir()
        (tmp_path / team / "service.yaml").write_text(SERVICE)
        (tmp_path / team / "pod.yaml").write_text(POD)
    (tmp_path / "team-a" / ".aiiac.toml").write_text(
        'extend = "../.aiiac.toml"\nexclude = ["legacy"]\n\n[severity]\nAIS201 = "low"\n'
    )
    (tmp_path / "team-a" / "legacy").mkdir()
    (tmp_path / "team-a" / "legacy" / "service.yaml").write_text(SERVICE)
    (tmp_path / "team-a" / "generated").mkdir()  # excluded by the extended root's glob
    (tmp_path / "team-a" / "generated" / "service.yaml").write_text(SERVICE)
    (tmp_path / "team-b" / "pyproject.toml").write_text('[tool.aiiac]\nselect = ["AIS2"]\n')
    return tmp_path


def _findings(paths: list[str], capsys, *extra: str) -> tuple[int, list[tuple[str, str, str, int]]]:
    code = main(["--check", *paths, "--format", "json", *extra])
    report = json.loads(capsys.readouterr().out)
    return code, sorted((f["file"], f["rule"], f["severity"], f["line"]) for f in report["findings"])


def _by_team(findings) -> dict[str, set[tuple[str, str]]]:
    teams: dict[str, set[tuple[str, str]]] = {}
    for file, rule, severity, _ in findings:
        teams.setdefault(file.split("/")[0], set()).add((rule, severity))
    return teams


def test_each_file_follows_its_nearest_configuration(monorepo, capsys, monkeypatch):
    monkeypatch.chdir(monorepo)
    code, findings = _findings(["."], capsys)
    assert code == 1
    files = {f[0] for f in findings}
    assert "team-a/legacy/service.yaml" not in files and "team-a/generated/service.yaml" not in files
    teams = _by_team(findings)
    # team-a: the root's ignore (inherited), its own severity
    assert ("AIS201", "low") in teams["team-a"] and not any(rule == "AIS110" for rule, _ in teams["team-a"])
    # team-b: only AIS2xx, and AIS110 would not be ignored (no extend) but is not selected
    assert {rule for rule, _ in teams["team-b"]} == {"AIS201"}
    assert teams["team-b"] == {("AIS201", "high")}
    # team-c: the root's configuration
    assert ("AIS201", "high") in teams["team-c"] and not any(rule == "AIS110" for rule, _ in teams["team-c"])
    assert any(rule == "AIS101" for rule, _ in teams["team-c"])


def test_the_order_of_paths_changes_nothing(monorepo, capsys, monkeypatch):
    monkeypatch.chdir(monorepo)
    forward = _findings(["team-a", "team-b", "team-c"], capsys)
    backward = _findings(["team-c", "team-b", "team-a"], capsys)
    whole = _findings(["."], capsys)
    assert forward == backward == whole
    alone = _findings(["team-b"], capsys)  # a folder alone is judged as inside the repository
    assert alone[1] == [f for f in whole[1] if f[0].startswith("team-b/")]


def test_command_line_rules_apply_on_top_of_every_configuration(monorepo, capsys, monkeypatch):
    monkeypatch.chdir(monorepo)
    _, findings = _findings(["."], capsys, "--ignore", "AIS201")
    assert findings and not any(rule == "AIS201" for _, rule, _, _ in findings)
    explicit = monorepo / "explicit.toml"
    explicit.write_text('select = ["AIS110"]\n')
    _, findings = _findings(["."], capsys, "--config", str(explicit))  # one file for everything
    assert {rule for _, rule, _, _ in findings} == {"AIS110"}
    assert {file.split("/")[0] for file, _, _, _ in findings} == {"team-a", "team-b", "team-c"}


def test_a_broken_nested_configuration_is_named_and_exits_2(monorepo, capsys, monkeypatch):
    monkeypatch.chdir(monorepo)
    (monorepo / "team-c" / ".aiiac.toml").write_text('ignroe = ["AIS110"]\n')
    assert main(["--check", "."]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "team-c/.aiiac.toml: unknown key `ignroe`" in err


def test_extend_inherits_resolves_relative_to_each_file_and_refuses_circles(tmp_path):
    (tmp_path / ".aiiac.toml").write_text('exclude = ["vendor"]\nmodel-ports = [9000]\nignore = ["AIS110"]\n')
    child = tmp_path / "svc"
    child.mkdir()
    (child / ".aiiac.toml").write_text('extend = "../.aiiac.toml"\nignore = ["AIS101"]\n')
    config = load_config_file(str(child / ".aiiac.toml"))
    assert config.model_ports == frozenset({9000}) and config.ignore == ("AIS101",)  # set keys replace
    assert config.excluded(str(tmp_path / "vendor" / "x.yaml"))  # the parent's glob, from the parent's folder
    assert not config.excluded(str(child / "vendor" / "x.yaml"))
    (tmp_path / ".aiiac.toml").write_text('extend = "svc/.aiiac.toml"\n')
    with pytest.raises(ConfigError, match="goes round in a circle"):
        load_config_file(str(child / ".aiiac.toml"))
    (child / ".aiiac.toml").write_text('extend = "../missing.toml"\n')
    with pytest.raises(ConfigError, match="`extend`: no file"):
        load_config_file(str(child / ".aiiac.toml"))


def test_the_tree_resolves_each_folder_once_and_falls_back_to_the_default(monorepo):
    default = load_config([str(monorepo / "team-a"), str(monorepo / "team-b")])
    assert default.path == os.path.join(str(monorepo), ".aiiac.toml")  # above both, whatever the order
    tree = ConfigTree(default)
    assert tree.for_path(str(monorepo / "team-c" / "pod.yaml")) is default
    a = tree.for_path(str(monorepo / "team-a" / "pod.yaml"))
    assert a.path == str(monorepo / "team-a" / ".aiiac.toml")
    assert tree.for_path(str(monorepo / "team-a" / "service.yaml")) is a
    assert {c.path for c in tree.distinct()} == {default.path, a.path}


def test_the_editor_scan_resolves_configurations_as_the_command_line_does(monorepo, capsys, monkeypatch):
    from aiiac_ls.workspace import Workspace

    monkeypatch.chdir(monorepo)
    _, cli = _findings(["."], capsys)
    analysis = Workspace({}).check([str(monorepo)])
    editor = sorted(
        (os.path.relpath(f.file, monorepo), f.rule, f.severity, f.span.start_line + 1) for f in analysis.findings
    )
    assert editor == cli


def test_command_line_values_reach_nested_configurations(monorepo, capsys, monkeypatch):
    from aiiac_ls.cli import main as run_main

    chart = monorepo / "team-a" / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: srv\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("service:\n  type: ClusterIP\n")
    (chart / "templates" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
        "  type: {{ .Values.service.type }}\n  ports:\n    - port: 8000\n"
    )
    (monorepo / "prod.yaml").write_text("service:\n  type: LoadBalancer\n")
    monkeypatch.chdir(monorepo)
    # the whole repository: the root's configuration is the run's, team-a's governs the chart
    run_main(["--check", ".", "--format", "json"])
    before = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["file"] == "prod.yaml"]
    assert before == []
    run_main(["--check", ".", "--format", "json", "--values", "prod.yaml"])
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["file"] == "prod.yaml"]
    # (the finding lands in prod.yaml, at the root: the root configuration scores it)
    assert [(f["rule"], f["line"], f["severity"]) for f in found] == [("AIS201", 2, "high")]
