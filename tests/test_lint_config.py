"""Lint configuration: severity changes, disabling rules, per-rule flow exceptions, options, and
finding the configuration file from the current directory."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowengine.lint import lint_file
from flowengine.lint.config import ConfigError, LintConfig, find_config, load_config

FLOW = """\
flow: Legacy_Import
apiVersion: 45.0
variables:
  n: {type: Number, input: true}
  spare: {type: Text}
elements:
  Copy_1_of_Set:
    type: Assignment
    assignments:
      - {ref: n, op: Add, value: 1}
start: Copy_1_of_Set
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rules(tmp_path: Path, config: LintConfig) -> dict[str, str]:
    report = lint_file(write(tmp_path / "flows" / "legacy.yaml", FLOW), config)
    assert report.valid
    return {f.rule: f.severity for f in report.findings}


def test_defaults_without_a_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.source is None
    assert rules(tmp_path, config) == {"APIVersion": "warning", "CopyAPIName": "warning",
                                       "FlowDescription": "note", "UnusedVariable": "warning"}


def test_pyproject_changes_severity_disables_and_excepts(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [project]
        name = "my-flows"

        [tool.flowengine.lint]
        disable = ["FlowDescription"]

        [tool.flowengine.lint.rules.APIVersion]
        severity = "error"

        [tool.flowengine.lint.rules.CopyAPIName]
        enabled = false

        [tool.flowengine.lint.rules.UnusedVariable]
        exceptions = ["legacy_import"]      # flow API names, any case
        """)
    config = load_config(start=tmp_path / "flows")
    assert config.source == str(tmp_path / "pyproject.toml")
    assert rules(tmp_path, config) == {"APIVersion": "error"}


def test_severity_off_and_options(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [tool.flowengine.lint.rules.APIVersion]
        threshold = 40
        [tool.flowengine.lint.rules.UnusedVariable]
        severity = "off"
        [tool.flowengine.lint.rules.CopyAPIName]
        severity = "note"
        """)
    assert rules(tmp_path, load_config(tmp_path / "pyproject.toml")) == {
        "CopyAPIName": "note", "FlowDescription": "note"}


def test_flowengine_yaml(tmp_path: Path) -> None:
    write(tmp_path / ".flowengine.yaml", """\
        lint:
          disable: [FlowDescription, APIVersion]
          rules:
            UnusedVariable: {severity: error, exceptions: [Other_Flow]}
        """)
    config = load_config(start=tmp_path)
    assert rules(tmp_path, config) == {"UnusedVariable": "error", "CopyAPIName": "warning"}


def test_found_by_walking_up_nearest_first(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.flowengine.lint]\ndisable = ['CopyAPIName']\n")
    write(tmp_path / "a" / "pyproject.toml", "[project]\nname = 'no-lint-section'\n")
    write(tmp_path / "a" / "b" / ".flowengine.yaml", "other: setting\n")
    assert find_config(tmp_path / "a" / "b") == tmp_path / "pyproject.toml"
    write(tmp_path / "a" / ".flowengine.yaml", "lint: {disable: [HardcodedId]}\n")
    assert find_config(tmp_path / "a" / "b") == tmp_path / "a" / ".flowengine.yaml"
    assert not load_config(start=tmp_path / "a" / "b").rule("HardcodedId").enabled


def test_unknown_rules_and_keys_are_errors_with_hints(tmp_path: Path) -> None:
    path = write(tmp_path / ".flowengine.yaml", """\
        lint:
          disable: [MissingFaultPaths]
          rules:
            APIVersion: {severty: error, threshold: many}
            CopyAPIName: {severity: fatal}
          exclude: []
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [f"{p.line}: {p.message}" for p in info.value.problems] == [
        "6: unknown key 'exclude' (allowed: disable, rules)",
        "2: unknown rule 'MissingFaultPaths'; did you mean 'MissingFaultPath'? (rules: "
        "MissingFaultPath, ActionCallsInLoop, UnusedVariable, UnconnectedElement, "
        "FlowDescription, HardcodedId, CyclomaticComplexity, APIVersion, CopyAPIName, "
        "SOQLQueryInLoop, DMLStatementInLoop, GetRecordsWithoutFilter, GetRecordAllFields, "
        "MissingNullHandler)",
        "4: unknown setting 'severty' for APIVersion; did you mean 'severity'? (allowed: "
        "severity, enabled, exceptions, threshold)",
        "4: threshold must be a number, found 'many'",
        "5: unknown severity 'fatal' (expected error, warning, note, or off)",
    ]
    assert info.value.problems[0].path == "lint.exclude"


def test_toml_errors_name_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.flowengine.lint.rules.Nope]\nseverity = 'error'\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: error: unknown rule 'Nope' "
                                          r".*\(at tool.flowengine.lint.rules.Nope\)"):
        load_config(path)
    write(tmp_path / "pyproject.toml", "[tool.flowengine.lint\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(path)
