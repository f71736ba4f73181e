"""Property-based tests (hypothesis): generated flows, formulas, inputs, fixtures and damaged
flow files never end in an internal error or a traceback — always a result or a clear error
(a FlowError with a message), within a time bound (hypothesis' deadline per case).

Two profiles: `ci` (the default: a fixed seed, about 2,500 cases, well under a minute) and
`long` (random seeds, twenty times as many cases), chosen by the environment variable
FLOWENGINE_HYPOTHESIS:

    FLOWENGINE_HYPOTHESIS=long python -m pytest tests/test_properties.py -q

Formulas are kept small (few operators, small numbers, small exponents): how long formulas may
run is the formula language's own bound, tested with it.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ORG_SCHEMAS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flowengine.api import load_flow_text
from flowengine.cli import main
from flowengine.errors import FlowError
from flowengine.formula.functions import FUNCTIONS

CASES = {"flows": 600, "formulas": 600, "inputs": 300, "files": 400, "fixtures": 300,
         "cli": 200}
# capsys and the module's scratch folder are shared by a test's cases on purpose (each case
# reads its own output); a case's time bound is the deadline
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", derandomize=True, database=None, deadline=timedelta(seconds=5),
                          suppress_health_check=SUPPRESSED)
settings.register_profile("long", deadline=timedelta(seconds=5), suppress_health_check=SUPPRESSED)
PROFILE = os.environ.get("FLOWENGINE_HYPOTHESIS", "ci")
SCALE = 20 if PROFILE == "long" else 1


def cases(kind: str) -> settings:
    return settings(settings.get_profile(PROFILE), max_examples=CASES[kind] * SCALE)


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "flows").glob("*.yaml") if not p.name.endswith(".flowtest.yaml"))

# -- building blocks ----------------------------------------------------------------------------

TYPES = ["Text", "Number", "Currency", "Boolean", "Date", "DateTime", "Picklist", "Multipicklist"]
VARIABLES = ["v1", "v2", "v3", "v4", "items"]
ELEMENTS = ["Step_A", "Step_B", "Step_C", "Step_D"]
ASSIGN_OPS = ["Assign", "Add", "Subtract", "AssignCount", "AddItem", "AddAtStart", "RemoveFirst",
              "RemoveAll", "RemoveAfterFirst", "RemoveBeforeFirst", "RemovePosition",
              "RemoveUncommon", "Bogus"]
CONDITION_OPS = ["EqualTo", "NotEqualTo", "GreaterThan", "LessThan", "GreaterThanOrEqualTo",
                 "LessThanOrEqualTo", "StartsWith", "EndsWith", "Contains", "IsNull", "IsBlank",
                 "IsEmpty", "WasSet", "WasVisited", "HasError", "In", "NotIn", "Nope"]

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False).map(str),
    st.sampled_from(["2026-01-31", "2026-02-30", "2026-01-31T09:30:00Z", "abc", "", " ",
                     "1e400", "-0", "NaN", "Infinity", "0a4DM0000000001YAA"]),
    texts)
references = st.one_of(
    st.sampled_from(VARIABLES + ELEMENTS + ["$Flow.CurrentDate", "$Flow.FaultMessage",
                                            "f1", "nowhere"]).map(lambda n: "{!" + n + "}"),
    st.tuples(st.sampled_from(VARIABLES), texts).map(lambda p: f"{{!{p[0]}}} and {p[1]}"))
values = st.one_of(scalars, references, st.lists(st.one_of(scalars, references), max_size=4))


@st.composite
def formulas(draw: st.DrawFn, depth: int = 0) -> str:
    """A small formula: literals, references, operators and functions of the formula language."""
    atoms = st.one_of(
        st.integers(0, 99).map(str), st.sampled_from(["1.5", "0", "TRUE", "FALSE", "NULL"]),
        st.text(st.characters(codec="ascii", exclude_characters='"\\'), max_size=6)
        .map(lambda t: f'"{t}"'),
        st.sampled_from(VARIABLES).map(lambda n: "{!" + n + "}"))
    if depth >= 2 or draw(st.booleans()):
        return draw(atoms)
    shape = draw(st.sampled_from(["binary", "function", "unary", "power", "paren"]))
    if shape == "binary":
        op = draw(st.sampled_from(["+", "-", "*", "/", "&", "=", "<>", "<", ">", "<=", ">=",
                                   "&&", "||"]))
        return f"{draw(formulas(depth + 1))} {op} {draw(formulas(depth + 1))}"
    if shape == "power":       # exponents stay small: big ones are the formula language's bound
        return f"{draw(formulas(depth + 1))} ^ {draw(st.integers(0, 4))}"
    if shape == "unary":
        return f"-{draw(formulas(depth + 1))}"
    if shape == "paren":
        return f"({draw(formulas(depth + 1))})"
    name = draw(st.sampled_from(sorted(FUNCTIONS) + ["NOPE"]))
    args = draw(st.lists(formulas(depth + 1), max_size=3))
    return f"{name}({', '.join(args)})"


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    """A flow document: a few variables and formulas, Assignment, Decision and Loop elements
    wired to each other (or to names that do not exist)."""
    doc: dict[str, Any] = {"flow": draw(st.sampled_from(["Generated", "Bad Name", "x" * 90])),
                           "apiVersion": draw(st.sampled_from([62.0, 56.0, "62.0", 1e400]))}
    variables: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(VARIABLES), unique=True, max_size=5)):
        decl: dict[str, Any] = {"type": draw(st.sampled_from(TYPES + ["Numbr"]))}
        for key, strategy in (("collection", st.booleans()), ("input", st.booleans()),
                              ("output", st.booleans()), ("default", values),
                              ("scale", st.one_of(st.integers(-1, 20), st.booleans()))):
            if draw(st.booleans()):
                decl[key] = draw(strategy)
        variables[name] = decl
    if variables:
        doc["variables"] = variables
    if draw(st.booleans()):
        doc["formulas"] = {"f1": {"type": draw(st.sampled_from(TYPES)), "expression": draw(formulas())}}
    elements: dict[str, Any] = {}
    connect = st.one_of(st.none(), st.sampled_from(ELEMENTS + ["Missing"]))
    for name in draw(st.lists(st.sampled_from(ELEMENTS), unique=True, max_size=4)):
        kind = draw(st.sampled_from(["Assignment", "Decision", "Loop"]))
        if kind == "Assignment":
            element: dict[str, Any] = {"type": kind, "assignments": [
                {"ref": draw(st.sampled_from(VARIABLES + ["v1.field"])),
                 "op": draw(st.sampled_from(ASSIGN_OPS)), "value": draw(values)}
                for _ in range(draw(st.integers(1, 3)))]}
        elif kind == "Decision":
            conditions = [{"left": draw(st.sampled_from(VARIABLES + ELEMENTS)),
                           "op": draw(st.sampled_from(CONDITION_OPS)), "right": draw(values)}
                          for _ in range(draw(st.integers(1, 3)))]
            rule: dict[str, Any] = {"name": "Rule_" + name, "conditions": conditions,
                                    "next": draw(connect)}
            if draw(st.booleans()):
                rule["logic"] = draw(st.sampled_from(["and", "or", "1 AND 2", "1 OR (2 AND 3)",
                                                      "NOT 1", "1 AND", "99", "(1"]))
            element = {"type": kind, "rules": [rule], "default": draw(connect)}
        else:
            element = {"type": kind, "collection": draw(st.sampled_from(VARIABLES)),
                       "each": draw(st.sampled_from(ELEMENTS)), "after": draw(connect)}
        if kind != "Loop" and kind != "Decision":
            element["next"] = draw(connect)
        elements[name] = {k: v for k, v in element.items() if v is not None}
    doc["elements"] = elements
    if elements:
        doc["start"] = draw(st.sampled_from([*elements, "Missing"]))
    return doc


LITERALS = {
    "Text": texts, "Picklist": texts, "Multipicklist": texts,
    "Number": st.one_of(st.integers(-1000, 1000),
                        st.floats(-1000, 1000, allow_nan=False).map(lambda f: round(f, 2))),
    "Currency": st.integers(-1000, 1000), "Boolean": st.booleans(),
    "Date": st.dates().map(lambda d: d.isoformat()),
    "DateTime": st.datetimes().map(lambda d: d.replace(microsecond=0).isoformat() + "Z"),
}
SINGLE_OPS = {"Text": ["Assign", "Add"], "Picklist": ["Assign", "Add"],
              "Multipicklist": ["Assign", "Add", "AddItem"],
              "Number": ["Assign", "Add", "Subtract", "AssignCount"],
              "Currency": ["Assign", "Add", "Subtract"], "Boolean": ["Assign"],
              "Date": ["Assign", "Add", "Subtract"], "DateTime": ["Assign"]}
COLLECTION_OPS = ["Assign", "Add", "AddAtStart", "RemoveFirst", "RemoveAll", "RemoveAfterFirst",
                  "RemoveBeforeFirst", "RemovePosition", "RemoveUncommon"]
ORDERED = ["EqualTo", "NotEqualTo", "GreaterThan", "LessThan", "GreaterThanOrEqualTo",
           "LessThanOrEqualTo", "IsNull", "In", "NotIn"]
TEXTUAL = ["EqualTo", "NotEqualTo", "StartsWith", "EndsWith", "Contains", "IsNull", "IsBlank",
           "WasSet", "In", "NotIn"]
CONDITIONS = {"Text": TEXTUAL, "Picklist": TEXTUAL, "Multipicklist": TEXTUAL,
              "Number": ORDERED, "Currency": ORDERED, "Date": ORDERED, "DateTime": ORDERED,
              "Boolean": ["EqualTo", "NotEqualTo", "IsNull"]}


@st.composite
def typed_flows(draw: st.DrawFn) -> dict[str, Any]:
    """A flow that is mostly valid: every name declared, operators and values that fit their
    types, connectors to elements that exist; so that most cases run, and loops, collection
    operators and conditions meet values of every type."""
    declared = {name: (draw(st.sampled_from(list(LITERALS))), draw(st.booleans()))
                for name in VARIABLES}

    def value_for(kind: str, collection: bool) -> Any:
        same = [n for n, (k, c) in declared.items() if k == kind and (c == collection or c)]
        options = [st.lists(LITERALS[kind], max_size=5)] if collection else [LITERALS[kind]]
        if same:
            options.append(st.sampled_from(same).map(lambda n: "{!" + n + "}"))
        return draw(st.one_of(*options))

    variables = {}
    for name, (kind, collection) in declared.items():
        decl: dict[str, Any] = {"type": kind, "collection": collection, "input": draw(st.booleans()),
                                "output": True}
        if draw(st.booleans()):
            decl["default"] = draw(st.lists(LITERALS[kind], max_size=6)) if collection else \
                draw(LITERALS[kind])
        variables[name] = decl
    names = draw(st.lists(st.sampled_from(ELEMENTS), unique=True, min_size=1, max_size=4))
    connect = st.one_of(st.none(), st.sampled_from(names))
    elements: dict[str, Any] = {}
    for name in names:
        kind_of_element = draw(st.sampled_from(["Assignment", "Assignment", "Decision", "Loop"]))
        if kind_of_element == "Assignment":
            rows = []
            for _ in range(draw(st.integers(1, 3))):
                target = draw(st.sampled_from(VARIABLES))
                kind, collection = declared[target]
                op = draw(st.sampled_from(COLLECTION_OPS if collection else SINGLE_OPS[kind]))
                if op == "RemovePosition":
                    value: Any = draw(st.integers(-1, 6))
                elif op == "AssignCount":
                    value = "{!" + draw(st.sampled_from(VARIABLES)) + "}"
                elif op in ("Add", "Subtract") and kind in ("Number", "Currency", "Date") \
                        and not collection:
                    value = draw(LITERALS["Number"])
                else:
                    value = value_for(kind, collection and op == "Assign" or
                                      collection and draw(st.booleans()))
                    if collection and not isinstance(value, list) and not str(value).startswith("{!"):
                        value = value
                rows.append({"ref": target, "op": op, "value": value})
            element: dict[str, Any] = {"type": "Assignment", "assignments": rows,
                                       "next": draw(connect)}
        elif kind_of_element == "Decision":
            conditions = []
            for _ in range(draw(st.integers(1, 3))):
                left = draw(st.sampled_from(VARIABLES))
                kind, collection = declared[left]
                op = draw(st.sampled_from(["Contains", "IsEmpty", "IsBlank", "IsNull"]
                                          if collection else CONDITIONS[kind]))
                right: Any = draw(st.booleans()) if op in ("IsNull", "IsBlank", "IsEmpty", "WasSet") \
                    else value_for(kind, op in ("In", "NotIn"))
                conditions.append({"left": left, "op": op, "right": right})
            logic = draw(st.sampled_from(["and", "or"] + (
                [" AND ".join(str(i + 1) for i in range(len(conditions))),
                 "NOT (" + " OR ".join(str(i + 1) for i in range(len(conditions))) + ")"])))
            element = {"type": "Decision", "rules": [
                {"name": "Rule_" + name, "logic": logic, "conditions": conditions,
                 "next": draw(connect)}], "default": draw(connect)}
        else:
            collections = [n for n, (_, c) in declared.items() if c]
            if not collections:
                continue
            element = {"type": "Loop", "collection": draw(st.sampled_from(collections)),
                       "order": draw(st.sampled_from(["Asc", "Desc"])),
                       "each": draw(st.sampled_from(names)), "after": draw(connect)}
        elements[name] = {k: v for k, v in element.items() if v is not None}
    doc = {"flow": "Typed", "apiVersion": 62.0, "variables": variables, "elements": elements}
    if elements:
        doc["start"] = next(iter(elements))
    return doc


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def load_or_problem(text: str) -> Any:
    """The flow, or None when it is refused with a clear error."""
    try:
        flow = load_flow_text(text, "generated.yaml")
    except FlowError as exc:
        message = str(exc)
        assert message and "internal error" not in message, message
        for problem in getattr(exc, "problems", None) or []:
            assert problem.message and "internal error" not in problem.message, problem.message
        event(f"refused: {type(exc).__name__}")
        return None
    event("loaded")
    return flow


def run_or_problem(flow: Any, inputs: dict[str, Any]) -> None:
    try:
        # 500 elements: enough for loops to grow collections; a list that grows each step costs
        # linear work per step (RemoveFirst indexes it), which 2,000 steps made ~5 s on a busy machine
        result = flow.run(inputs, trace=True, max_elements=500)
    except FlowError as exc:       # inputs that do not fit, an action without an org
        assert str(exc) and "internal error" not in str(exc), str(exc)
        event(f"not run: {type(exc).__name__}")
        return
    assert result.status in ("Finished", "Failed")
    event(f"ran: {result.status}")
    if result.error is not None:
        assert result.error.message and "internal error" not in result.error.message, \
            result.error.message
    result.to_json(trace=True)


# -- the properties -----------------------------------------------------------------------------

@cases("flows")
@given(st.one_of(typed_flows(), typed_flows(), flows()))
def test_generated_flows_load_and_run_or_are_refused_clearly(doc: dict[str, Any]) -> None:
    flow = load_or_problem(dump(doc))
    if flow is not None:
        run_or_problem(flow, {})


@cases("formulas")
@given(formulas(), st.sampled_from(TYPES),
       st.tuples(*(st.one_of(LITERALS[t], scalars) for t in TYPES[:4])).map(list))
def test_generated_formulas_evaluate_or_are_refused_clearly(expression: str, result_type: str,
                                                            inputs: list[Any]) -> None:
    doc = {"flow": "Formula", "variables": {
        name: {"type": t, "input": True} for name, t in zip(VARIABLES, TYPES[:4])},
        "formulas": {"f1": {"type": result_type, "expression": expression}},
        "elements": {"Step_A": {"type": "Assignment", "assignments": [
            {"ref": "v1", "op": "Assign", "value": "{!f1}"}]}}, "start": "Step_A"}
    flow = load_or_problem(dump(doc))
    if flow is not None:
        run_or_problem(flow, dict(zip(VARIABLES, inputs)))


@cases("inputs")
@given(st.sampled_from(EXAMPLES), st.dictionaries(
    st.sampled_from(["limit", "shipBy", "weights", "parcel", "v1", "firstQuantity"]),
    st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(texts, inner, max_size=3)),
                 max_leaves=6), max_size=3))
def test_any_inputs_give_a_result_or_a_clear_error(example: Path, inputs: dict[str, Any]) -> None:
    flow = load_or_problem(example.read_text(encoding="utf-8"))
    assert flow is not None
    if not flow.compiled.has_actions:
        run_or_problem(flow, inputs)
    else:
        try:
            flow.compiled.prepare_inputs(inputs)
        except FlowError as exc:
            assert "internal error" not in str(exc)


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """An example flow with a few random edits: spans cut, lines doubled, characters (control
    characters and YAML's own included) inserted."""
    text = draw(st.sampled_from(EXAMPLES)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "insert", "double"]))
        if edit == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif edit == "insert":
            text = text[:at] + draw(st.one_of(
                texts, st.sampled_from(["\x00", "\x1b", "{!", "&a", "*a", "!!python/object", ": ",
                                        "\n- ", "\t", "\ufeff", "'", '"', "{{{"]))) + text[at:]
        else:
            end = text.find("\n", at)
            line = text[text.rfind("\n", 0, at) + 1:end if end >= 0 else len(text)]
            text = text[:at] + line + "\n" + text[at:]
    return text


@cases("files")
@given(damaged())
def test_damaged_flow_files_are_refused_clearly(text: str) -> None:
    flow = load_or_problem(text)
    if flow is not None and not flow.compiled.has_actions:
        run_or_problem(flow, {})


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@cases("cli")
@given(st.one_of(flows().map(dump), damaged()), st.sampled_from(["validate", "lint", "render"]))
def test_the_cli_never_shows_a_traceback(scratch: Path, capsys: pytest.CaptureFixture[str],
                                         text: str, command: str) -> None:
    path = scratch / "flow.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    argv = {"validate": ["validate", str(path)], "lint": ["lint", str(path), "--format", "sarif"],
            "render": ["render", str(path), "--format", "mermaid"]}[command]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (code, err)
    assert "internal error" not in out + err and "Traceback" not in out + err, err


FIXTURE_OBJECTS = [s.name for s in ORG_SCHEMAS] + ["Nope"]
FIXTURE_FIELDS = sorted({f.name for s in ORG_SCHEMAS for f in s.fields} | {"Id", "Bogus"})


@pytest.fixture(scope="module")
def fixture_store(scratch: Path) -> Iterator[Any]:
    from flowengine.org import open_org

    store = open_org(scratch / "org.sqlite", ORG_SCHEMAS)
    yield store
    store.close()


@cases("fixtures")
@given(st.dictionaries(
    st.sampled_from(FIXTURE_OBJECTS),
    st.lists(st.dictionaries(st.sampled_from(FIXTURE_FIELDS),
                             st.one_of(scalars, st.just("a01000000000001AAA"),
                                       st.lists(scalars, max_size=2)), max_size=5),
             max_size=4), max_size=3),
    st.sampled_from(["yaml", "json"]))
def test_any_fixture_loads_whole_or_is_refused_clearly(scratch: Path, fixture_store: Any,
                                                       data: dict[str, Any], fmt: str) -> None:
    import json

    from flowengine.org.fixtures import load_records, read_fixture

    path = scratch / f"fixture.{fmt}"
    text = json.dumps(data, default=str) if fmt == "json" else dump(data)
    path.write_text(text, encoding="utf-8")
    try:
        records = load_records(fixture_store, read_fixture(path), source=str(path))
    except FlowError as exc:
        assert str(exc) and "internal error" not in str(exc), str(exc)
        event("fixture refused")
        return
    event("fixture loaded")
    assert sum(map(len, records.values())) == sum(
        len(v) for v in data.values() if isinstance(v, list))
    fixture_store.wipe()
