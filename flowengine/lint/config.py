"""Lint configuration: `[tool.flowengine.lint]` in pyproject.toml, or `lint:` in .flowengine.yaml.

    [tool.flowengine.lint]
    disable = ["FlowDescription"]                 # rules that never run

    [tool.flowengine.lint.rules.MissingFaultPath]
    severity = "warning"                          # error | warning | note
    exceptions = ["Legacy_Import"]                # flows (API names) the rule skips

    [tool.flowengine.lint.rules.CyclomaticComplexity]
    threshold = 15

The configuration is found by walking up from the current directory: the first directory with a
`.flowengine.yaml` that has a `lint:` section, or a `pyproject.toml` with `[tool.flowengine.lint]`,
wins (`.flowengine.yaml` first when a directory has both). Unknown rules and keys are errors.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from flowengine.check.symbols import did_you_mean
from flowengine.errors import FlowError, Problem
from flowengine.lint.rules import RULES, SEVERITIES, Severity

__all__ = ["CONFIG_FILES", "ConfigError", "LintConfig", "RuleConfig", "find_config", "load_config",
           "parse_config"]

CONFIG_FILES: Final = (".flowengine.yaml", "pyproject.toml")
TOP_KEYS: Final = ("disable", "rules")
RULE_KEYS: Final = ("severity", "enabled", "exceptions")


class ConfigError(FlowError):
    """The lint configuration is invalid; names the file (and line, for YAML) and the key."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class RuleConfig:
    """How one rule is configured: on or off, its severity, flows it skips, its options."""

    enabled: bool
    severity: Severity
    exceptions: frozenset[str] = frozenset()          # lower-case flow API names
    options: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, flow: str) -> bool:
        return self.enabled and flow.lower() not in self.exceptions


@dataclass
class LintConfig:
    """The effective configuration of every rule (defaults where the file says nothing)."""

    rules: dict[str, RuleConfig]
    source: str | None = None

    @classmethod
    def default(cls) -> LintConfig:
        return cls({rid: RuleConfig(True, r.severity, frozenset(), dict(r.options))
                    for rid, r in RULES.items()})

    def rule(self, rule_id: str) -> RuleConfig:
        return self.rules[rule_id]

    def disable(self, rule_ids: list[str]) -> None:
        """Turn rules off (the command line's --disable)."""
        for rid in rule_ids:
            self.rules[rid] = replace(self.rules[rid], enabled=False)

    def overrides(self) -> dict[str, RuleConfig]:
        """Rules whose configuration differs from their defaults (for SARIF)."""
        return {rid: rc for rid, rc in self.rules.items()
                if not rc.enabled or rc.severity != RULES[rid].severity}


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file that applies in `start` (default: the current directory)."""
    directory = Path(start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file() and _has_lint_section(candidate):
                return candidate
    return None


def _has_lint_section(path: Path) -> bool:
    try:
        data = _read(path)[0]
    except ConfigError:
        return True            # report the broken file rather than silently skipping it
    return data is not None


def load_config(path: str | os.PathLike[str] | None = None,
                start: str | os.PathLike[str] | None = None) -> LintConfig:
    """The configuration in `path`, or the one found from `start`; defaults when there is none.
    Raises ConfigError."""
    found = Path(path) if path is not None else find_config(start)
    if found is None:
        return LintConfig.default()
    if not found.is_file():
        raise ConfigError([Problem("error", "config", "configuration file not found", str(found))])
    data, locate = _read(found)
    if data is None:
        if path is not None:
            what = "[tool.flowengine.lint]" if found.name.endswith(".toml") else "a 'lint:' section"
            raise ConfigError([Problem("error", "config", f"has no {what}", str(found))])
        return LintConfig.default()
    return parse_config(data, str(found), locate)


def _read(path: Path) -> tuple[Any, Any]:
    """(the lint section or None, a function path → (line, column) or None)."""
    name = str(path)
    if path.name.endswith(".toml"):
        import tomllib

        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError([Problem("error", "config", f"cannot read: {exc}", name)]) from None
        section = data.get("tool", {}).get("flowengine", {}).get("lint")
        return section, lambda p: None
    from flowengine.formats.yaml import read_yaml

    try:
        doc = read_yaml(path)
    except FlowError as exc:
        raise ConfigError(list(getattr(exc, "problems", [])) or
                          [Problem("error", "config", str(exc), name)]) from None
    if not isinstance(doc.data, dict) or "lint" not in doc.data:
        return None, lambda p: None
    section = doc.data["lint"]
    return ({} if section is None else section), lambda p: doc.locate(("lint",) + tuple(p))


def parse_config(data: Any, source: str | None = None, locate: Any = None) -> LintConfig:
    """Validate a lint section (the table under [tool.flowengine.lint], or `lint:`)."""
    problems: list[Problem] = []
    prefix = "tool.flowengine.lint" if (source or "").endswith(".toml") else "lint"

    def error(path: tuple[Any, ...], message: str) -> None:
        mark = locate(path) if locate else None
        shown = ".".join([prefix, *map(str, path)])
        problems.append(Problem("error", "config", message, source, mark[0] if mark else None,
                                mark[1] if mark else None, shown))

    config = LintConfig.default()
    config.source = source
    if not isinstance(data, dict):
        error((), "the lint configuration must be a table/mapping")
        raise ConfigError(problems)
    for key in data:
        if key not in TOP_KEYS:
            error((key,), f"unknown key {key!r}{did_you_mean(str(key), TOP_KEYS)} "
                  f"(allowed: {', '.join(TOP_KEYS)})")
    disabled = data.get("disable", [])
    if not isinstance(disabled, list):
        error(("disable",), "disable must be a list of rule names")
        disabled = []
    for i, rid in enumerate(disabled):
        if _known_rule(rid, ("disable", i), error):
            config.rules[rid] = _with(config.rules[rid], enabled=False)
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        error(("rules",), "rules must map rule names to settings")
        rules = {}
    for rid, settings in rules.items():
        if _known_rule(rid, ("rules", rid), error):
            config.rules[rid] = _rule_config(rid, settings, config.rules[rid], error)
    if problems:
        raise ConfigError(problems)
    return config


def _known_rule(rid: Any, path: tuple[Any, ...], error: Any) -> bool:
    if rid in RULES:
        return True
    error(path, f"unknown rule {rid!r}{did_you_mean(str(rid), RULES)} (rules: {', '.join(RULES)})")
    return False


def _with(rc: RuleConfig, **changes: Any) -> RuleConfig:
    return replace(rc, **changes)


def _rule_config(rid: str, settings: Any, current: RuleConfig, error: Any) -> RuleConfig:
    path = ("rules", rid)
    if not isinstance(settings, dict):
        error(path, f"settings of {rid} must be a table/mapping (severity, enabled, exceptions"
              + ", ".join([""] + list(RULES[rid].options)) + ")")
        return current
    allowed = RULE_KEYS + tuple(RULES[rid].options)
    options = dict(current.options)
    result = current
    for key, value in settings.items():
        where = path + (key,)
        if key not in allowed:
            error(where, f"unknown setting {key!r} for {rid}{did_you_mean(str(key), allowed)} "
                  f"(allowed: {', '.join(allowed)})")
        elif key == "severity":
            if value in SEVERITIES:
                result = _with(result, severity=value)
            elif value in ("off", "none", False):
                result = _with(result, enabled=False)
            else:
                error(where, f"unknown severity {value!r}{did_you_mean(str(value), SEVERITIES)} "
                      "(expected error, warning, note, or off)")
        elif key == "enabled":
            if isinstance(value, bool):
                result = _with(result, enabled=value)
            else:
                error(where, f"enabled must be true or false, found {value!r}")
        elif key == "exceptions":
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                result = _with(result, exceptions=frozenset(v.lower() for v in value))
            else:
                error(where, "exceptions must be a list of flow API names")
        else:
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) \
                    and value >= 0:
                options[key] = int(value) if value == int(value) else Decimal(str(value))
            else:
                error(where, f"{key} must be a number, found {value!r}")
    return _with(result, options=options)
