"""Lint results as text (for people), JSON (for scripts) and SARIF 2.1.0 (for code scanning)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from flowengine.errors import Problem
from flowengine.lint import FileReport, Finding
from flowengine.lint.config import LintConfig
from flowengine.lint.rules import RULES, SEVERITIES

__all__ = ["INVALID_FLOW", "SARIF_SCHEMA", "exit_code", "summary", "to_json", "to_sarif", "to_text"]

SARIF_SCHEMA: Final = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                       "sarif-schema-2.1.0.json")
SRCROOT: Final = "%SRCROOT%"
# invalid or unreadable files are results of this pseudo-rule, so that code scanning shows them
INVALID_FLOW: Final = "InvalidFlow"
INVALID_DESCRIPTION: Final = ("The file is not a valid flow (unreadable, not YAML, or it breaks "
                              "the flow format's rules), so no other rule could check it.")
RANK: Final = {"error": 3, "warning": 2, "note": 1}


def summary(reports: Iterable[FileReport]) -> dict[str, int]:
    """Counts: files, findings per severity, invalid files."""
    reports = list(reports)
    counts = {s: 0 for s in SEVERITIES}
    for report in reports:
        for finding in report.findings:
            counts[finding.severity] += 1
    return {"files": len(reports), **counts,
            "invalid": sum(1 for r in reports if not r.valid)}


def exit_code(reports: Iterable[FileReport], fail_on: str = "error") -> int:
    """2 when a file is invalid or unreadable, 1 when a finding is at least `fail_on` severe
    (`never` never fails), 0 otherwise."""
    reports = list(reports)
    if any(not r.valid for r in reports):
        return 2
    if fail_on == "never":
        return 0
    threshold = RANK[fail_on]
    return 1 if any(RANK[f.severity] >= threshold for r in reports for f in r.findings) else 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def to_text(reports: list[FileReport], paint: Any = None) -> tuple[list[str], str]:
    """(one line per finding or validation problem, the summary line)."""
    colours = {"error": "31", "warning": "33", "note": "36"}
    paint = paint or (lambda text, code: text)
    lines = []
    for report in reports:
        for p in report.problems:
            lines.append(f"{p.location()}: {paint('error', '31')}: invalid flow: {p.message}"
                         + (f" [{p.path}]" if p.path else ""))
        for f in report.findings:
            lines.append(f"{f.location()}: {paint(f.severity, colours[f.severity])}: "
                         f"{f.rule}: {f.message}")
    counts = summary(reports)
    found = [_plural(counts[s], s) for s in SEVERITIES if counts[s]]
    verdict = ", ".join(found) if found else "no problems"
    if counts["invalid"]:
        verdict += f"; {_plural(counts['invalid'], 'invalid file')}"
    return lines, f"{_plural(counts['files'], 'file')} linted: {verdict}"


def to_json(reports: list[FileReport]) -> dict[str, Any]:
    """`{"findings": [...], "invalid": [...], "summary": {...}}` with stable keys."""
    return {
        "findings": [f.to_dict() for r in reports for f in r.findings],
        "invalid": [p.to_dict() for r in reports for p in r.problems],
        "summary": summary(reports),
    }


# -- SARIF ------------------------------------------------------------------------------------

def _uri(file: str) -> tuple[str, str | None]:
    """(uri, uriBaseId): relative to the current directory (the repository root in CI) when the
    file is below it, else an absolute file: URI."""
    absolute = Path(file).resolve()
    try:
        relative = absolute.relative_to(Path.cwd().resolve())
    except ValueError:
        return absolute.as_uri(), None
    # quoted from the file name's bytes: a name that is not UTF-8 still gives a valid URI
    return quote(os.fsencode(relative.as_posix())), SRCROOT


def _location(file: str, line: int | None, column: int | None,
              element: str | None = None, flow: str | None = None) -> dict[str, Any]:
    uri, base = _uri(file)
    artifact: dict[str, Any] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None:
        region: dict[str, Any] = {"startLine": max(line, 1)}
        if column is not None:
            region["startColumn"] = max(column, 1)
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if element and flow:
        location["logicalLocations"] = [{"name": element, "fullyQualifiedName": f"{flow}.{element}",
                                         "kind": "element"}]
    return location


def _descriptor(rule_id: str, title: str, description: str, level: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": f"{description} See docs/lint.md#{rule_id.lower()} for how to fix "
                         "or configure it."},
        "defaultConfiguration": {"level": level},
    }


def _finding_result(f: Finding, index: int) -> dict[str, Any]:
    return {"ruleId": f.rule, "ruleIndex": index, "level": f.severity,
            "message": {"text": f.message},
            "locations": [_location(f.file, f.line, f.column, f.element, f.flow)]}


def _problem_result(p: Problem, file: str, index: int) -> dict[str, Any]:
    where = f" (at {p.path})" if p.path else ""
    return {"ruleId": INVALID_FLOW, "ruleIndex": index, "level": "error",
            "message": {"text": f"invalid flow: {p.message}{where}"},
            "locations": [_location(p.file or file, p.line, p.column)]}


def to_sarif(reports: list[FileReport], config: LintConfig, version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: every rule as a descriptor (with its default level),
    configuration changes as rule configuration overrides, every finding and every validation
    problem as a result."""
    ids = list(RULES) + [INVALID_FLOW]
    index = {rid: i for i, rid in enumerate(ids)}
    descriptors = [_descriptor(r.id, r.title, r.description, r.severity) for r in RULES.values()]
    descriptors.append(_descriptor(INVALID_FLOW, "Invalid flow file", INVALID_DESCRIPTION, "error"))
    results: list[dict[str, Any]] = []
    for report in reports:
        results += [_problem_result(p, report.file, index[INVALID_FLOW]) for p in report.problems]
        results += [_finding_result(f, index[f.rule]) for f in report.findings]
    overrides = [{"descriptor": {"id": rid, "index": index[rid]},
                  "configuration": {"enabled": rc.enabled, "level": rc.severity}}
                 for rid, rc in config.overrides().items()]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if overrides:
        invocation["ruleConfigurationOverrides"] = overrides
    unreadable = [r for r in reports if r.unreadable]
    if unreadable:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": f"cannot read {r.file}: "
                                                   f"{r.problems[0].message if r.problems else ''}"},
             "locations": [_location(r.file, None, None)]} for r in unreadable]
    cwd = Path.cwd().resolve().as_uri().rstrip("/") + "/"
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "flowengine", "version": version,
                            "semanticVersion": version, "rules": descriptors}},
        "originalUriBaseIds": {SRCROOT: {"uri": cwd}},
        "invocations": [invocation],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if config.source:
        run["properties"] = {"configuration": os.fspath(config.source)}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
