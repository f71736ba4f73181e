"""`flowengine lint`: best-practice rules for flow files, named as Lightning Flow Scanner names them.

    >>> from flowengine.lint import lint_paths, load_config
    >>> reports = lint_paths(["flows/"], load_config())
    >>> [f.rule for r in reports for f in r.findings]

A file is linted only once it loads and validates; one that does not is reported with its
problems (`FileReport.problems`) and no rule runs on it. Rules, their default severities and the
configuration are in `flowengine.lint.rules` and `flowengine.lint.config`; the text, JSON and SARIF
output in `flowengine.lint.report`.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flowengine.errors import FlowError, Problem
from flowengine.formats.discover import expand_paths
from flowengine.lint.config import ConfigError, LintConfig, find_config, load_config
from flowengine.lint.rules import RULES, LintContext, Rule, Severity

__all__ = ["ConfigError", "FileReport", "Finding", "LintConfig", "RULES", "Rule", "expand_paths",
           "find_config", "lint_file", "lint_paths", "load_config"]



@dataclass(frozen=True)
class Finding:
    """One rule firing on one flow: the rule, its (configured) severity, how to fix it, where."""

    rule: str
    severity: Severity
    message: str
    file: str
    line: int | None
    column: int | None
    flow: str
    element: str | None = None

    def location(self) -> str:
        parts = [self.file] + [str(n) for n in (self.line, self.column) if n is not None]
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "file": self.file, "line": self.line, "column": self.column, "flow": self.flow,
                "element": self.element}


@dataclass
class FileReport:
    """The findings of one file, or (when it is invalid or unreadable) why it was not linted."""

    file: str
    flow: str | None = None
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems


def lint_file(path: str | os.PathLike[str], config: LintConfig | None = None) -> FileReport:
    """Load, validate and lint one flow file."""
    from flowengine.cache import load_structure
    from flowengine.check.checker import check_structure

    config = config or LintConfig.default()
    name = os.fspath(path)
    report = FileReport(name)
    try:
        doc, structure = load_structure(name)
        checked = check_structure(doc, structure)
    except FlowError as exc:
        problems = list(getattr(exc, "problems", None) or [Problem("error", "load", str(exc), name)])
        report.problems = [p for p in problems if p.severity == "error"] or problems
        report.unreadable = any(p.code == "file" for p in problems)
        return report
    report.flow = checked.model.flow
    ctx = LintContext(doc, checked, _key_prefixes(checked))
    for rule_id, rule in RULES.items():
        settings = config.rule(rule_id)
        if not settings.applies_to(checked.model.flow):
            continue
        for hit in rule.check(ctx, settings.options):
            mark = _position(doc, hit.path, hit.offset) or doc.locate(hit.path, key=hit.key)
            report.findings.append(Finding(rule_id, settings.severity, hit.message, name,
                                           mark[0] if mark else None, mark[1] if mark else None,
                                           checked.model.flow, hit.element))
    report.findings.sort(key=lambda f: (f.line or 0, f.column or 0, f.rule))
    return report


def _position(doc: Any, path: tuple[Any, ...], offset: int | None) -> tuple[int, int] | None:
    """Where character `offset` of a text value stands in the file, when the loader knows."""
    if offset is None or not hasattr(doc, "position_in"):
        return None
    return doc.position_in(path, offset)


def _key_prefixes(checked: Any) -> dict[str, str]:
    """Id key prefix → object name, for the objects that plug-ins contribute."""
    out: dict[str, str] = {}
    for schema in getattr(checked.types, "objects", {}).values():
        prefix = getattr(schema, "key_prefix", None)
        if isinstance(prefix, str) and len(prefix) == 3:
            out[prefix] = schema.name
    return out




def lint_paths(paths: Iterable[str | os.PathLike[str]],
               config: LintConfig | None = None) -> list[FileReport]:
    """Lint every flow file named or found under the given directories."""
    config = config or load_config()
    return [lint_file(p, config) for p in expand_paths(paths)]
