"""Element kinds: every registered kind goes through every phase (load, check, compile, run with
a trace, graph, canvas, Mermaid, run report, lint, flow tests), and a new kind declared in one
module (here, in this file) works everywhere without touching any other module."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Literal

import pytest

from flowengine.api import load_flow_text
from flowengine.elements import ElementKind, ElementModel, LintFacts, kinds, register, unregister

# A small flow per kind that uses it. A kind registered without an entry here fails
# `test_every_kind_has_a_sample_flow`: add one.
SAMPLES: dict[str, str] = {
    "Assignment": """
        flow: Uses_Assignment
        variables: {n: {type: Number, output: true}}
        elements:
          Set_N: {type: Assignment, assignments: [{ref: n, op: Assign, value: 2}]}
        start: Set_N
    """,
    "Decision": """
        flow: Uses_Decision
        variables: {n: {type: Number, input: true, default: 3}, big: {type: Boolean, output: true}}
        elements:
          Check:
            type: Decision
            rules: [{name: Is_Big, conditions: [{left: n, op: GreaterThan, right: 2}], next: Set_Big}]
          Set_Big: {type: Assignment, assignments: [{ref: big, op: Assign, value: true}]}
        start: Check
    """,
    "Loop": """
        flow: Uses_Loop
        variables:
          items: {type: Number, collection: true, default: [1, 2, 3]}
          total: {type: Number, output: true, default: 0}
        elements:
          Each: {type: Loop, collection: items, each: Add_It}
          Add_It: {type: Assignment, assignments: [{ref: total, op: Add, value: "{!Each}"}], next: Each}
        start: Each
    """,
    "Action": """
        flow: Uses_Action
        variables:
          id: {type: Text, input: true, default: "0a3XX0000000001AAA"}
          lines: {type: Apex, apexClass: ConnectApi.FulfillmentOrderLineItemsToCancelInputRepresentation}
        elements:
          Cancel:
            type: Action
            action: cancelFulfillmentOrderItem
            inputs: {fulfillmentOrderId: "{!id}", cancelFulfillmentOrderItemsInput: "{!lines}"}
            fault: Noted
          Noted: {type: Assignment, assignments: [{ref: id, op: Assign, value: "{!$Flow.FaultMessage}"}]}
        start: Cancel
    """,
    "GetRecords": """
        flow: Uses_GetRecords
        elements:
          Find:
            type: GetRecords
            object: Location
            filters: [{field: Name, op: StartsWith, value: W}]
            firstOnly: true
            storeOutputAutomatically: true
        start: Find
    """,
    "CreateRecords": """
        flow: Uses_CreateRecords
        variables: {id: {type: Text, output: true}}
        elements:
          Create: {type: CreateRecords, object: Location, values: {Name: Warehouse}, storeId: id}
        start: Create
    """,
    "UpdateRecords": """
        flow: Uses_UpdateRecords
        elements:
          Update:
            type: UpdateRecords
            object: Location
            filters: [{field: Name, op: EqualTo, value: Warehouse}]
            values: {LocationType: Store}
        start: Update
    """,
    "DeleteRecords": """
        flow: Uses_DeleteRecords
        elements:
          Delete: {type: DeleteRecords, object: Location, filters: [{field: Name, op: EqualTo, value: Old}]}
        start: Delete
    """,
    "RollbackRecords": """
        flow: Uses_RollbackRecords
        elements:
          Create: {type: CreateRecords, object: Location, values: {Name: Warehouse}, next: Undo}
          Undo: {type: RollbackRecords}
        start: Create
    """,
    "CollectionFilter": """
        flow: Uses_CollectionFilter
        variables:
          items: {type: Number, collection: true, default: [1, 2, 3]}
          currentItem_Big: {type: Number}
        elements:
          Big:
            type: CollectionFilter
            collection: items
            item: currentItem_Big
            conditions: [{left: currentItem_Big, op: GreaterThan, right: 1}]
        start: Big
    """,
    "Subflow": """
        flow: Uses_Subflow
        variables: {counted: {type: Number, output: true}}
        elements:
          Count: {type: Subflow, flow: Counter, inputs: {limit: 2}, outputs: {counter: counted}}
        start: Count
    """,
    "CollectionSort": """
        flow: Uses_CollectionSort
        variables: {items: {type: Number, collection: true, default: [2, 3, 1]}}
        elements:
          Sort_Items: {type: CollectionSort, collection: items, sort: [{order: Desc}], limit: 2}
        start: Sort_Items
    """,
}


# an element kept from Salesforce XML but not run: one sample for each such kind
KEPT_SAMPLE = """
    flow: Uses_{kind}
    variables: {{n: {{type: Number, output: true}}}}
    elements:
      Kept: {{type: {kind}, xml: {{connector: {{targetReference: Set_N}}}}}}
      Set_N: {{type: Assignment, assignments: [{{ref: n, op: Assign, value: 2}}]}}
    start: Kept
"""


def _sample(kind: str) -> str:
    from flowengine.elements import kind_named

    return SAMPLES[kind] if kind in SAMPLES or kind_named(kind).runs else \
        KEPT_SAMPLE.format(kind=kind)  # type: ignore[union-attr]


def _flow(text: str) -> Any:
    return load_flow_text(textwrap.dedent(text).lstrip("\n"), "sample.yaml")


def test_every_kind_has_a_sample_flow() -> None:
    assert {k.name for k in kinds() if k.runs} <= set(SAMPLES), "add a sample flow for each new kind"


@pytest.mark.parametrize("kind", [k.name for k in kinds()])
def test_every_kind_goes_through_every_phase(kind: str, tmp_path: Path, om_org: Path) -> None:
    from flowengine.elements import kind_named
    from flowengine.errors import UnsupportedError
    from flowengine.formats import parse_source
    from flowengine.formats.sfxml import parse as parse_xml
    from flowengine.formats.sfxml import to_xml_text
    from flowengine.lint import LintConfig
    from flowengine.lint.rules import RULES, LintContext
    from flowengine.render import render_html, render_mermaid, render_report, render_svg
    from flowengine.runtime.trace import format_trace_entry

    flow = _flow(_sample(kind))                                          # load and check
    assert kind in {e.type for e in flow.model.elements.values()}
    xml = to_xml_text(flow.model)                                        # Salesforce XML
    assert parse_xml(xml, "Sample.flow-meta.xml").data["elements"].keys() == flow.model.elements.keys()
    if not kind_named(kind).runs:                                        # kept, drawn, not run
        assert [p.code for p in flow.checked.warnings] == ["unsupported"]
        with pytest.raises(UnsupportedError, match="'Kept' is not supported yet"):
            flow.run({})
        assert f'data-type="{kind}"' in render_svg(flow)
        assert "Kept" in render_mermaid(flow)
        return
    result = flow.run({}, org=str(om_org), trace=True, rollback=True)   # compile and run
    assert result.status == "Finished", result.error
    ran = [e for e in result.trace if e["type"] == kind]
    assert ran, result.trace
    assert all(format_trace_entry(e).startswith(f"  {e['step']:>4}. {e['element']} ({kind})")
               for e in ran)
    graph = flow.checked.graph                                           # graph
    assert all(graph.nodes[e["element"]]["type"] == kind for e in ran)
    svg = render_svg(flow)                                               # canvas
    assert f'data-type="{kind}"' in svg
    assert f'data-type="{kind}"' in render_html(flow)
    assert render_mermaid(flow).startswith("flowchart TD")              # Mermaid
    assert "visited" in render_report(flow, result)                     # run report
    doc = parse_source(textwrap.dedent(_sample(kind)).lstrip("\n"), "sample.yaml")
    ctx = LintContext(doc, flow.checked)
    for rule in RULES.values():                                          # lint
        list(rule.check(ctx, {**rule.options, **LintConfig.default().rule(rule.id).options}))


@pytest.fixture
def om_org(tmp_path: Path) -> Path:
    from flowengine.org import open_org

    path = tmp_path / "org.sqlite"
    open_org(path).close()
    return path


# -- a new element kind, declared in this module only -------------------------------------------

class StampElement(ElementModel):
    """`Stamp`: writes a fixed text into a Text variable."""

    type: Literal["Stamp"]
    target: str
    text: str
    next: str | None = None


class StampKind(ElementKind):
    name = "Stamp"
    model = StampElement

    def check(self, ctx: Any, name: str, element: StampElement) -> None:
        from flowengine.types import FlowType

        target = ctx.writable_target(element.target, ("elements", name, "target"))
        if target is not None and target.type != FlowType("Text"):
            ctx.error(("elements", name, "target"), f"a Stamp writes text, and "
                      f"{element.target!r} is {target.type}", "stamp.target")

    def compile(self, ctx: Any, name: str, element: StampElement) -> Any:
        from flowengine.runtime.nodes import Node

        setter = ctx.values.converting_setter(element.target, _text())
        text = element.text

        class StampNode(Node):
            def run(self, st: Any) -> Any:
                setter(st, text)
                return self.next

            def run_traced(self, st: Any, entry: dict[str, Any]) -> Any:
                entry["stamped"] = text
                return self.run(st)
        return StampNode(name, "Stamp")

    def trace_text(self, entry: dict[str, Any]) -> list[str]:
        return [f"        stamped {entry['stamped']!r}"]

    def facts(self, element: StampElement) -> LintFacts:
        return LintFacts(writes=(element.target,))


def _text() -> Any:
    from flowengine.types import FlowType

    return FlowType("Text")


@pytest.fixture
def stamp_kind() -> Any:
    kind = register(StampKind())
    yield kind
    unregister("Stamp")


STAMP_FLOW = """
flow: Stamped
variables:
  note: {type: Text, output: true}
  count: {type: Number}
elements:
  Stamp_It: {type: Stamp, target: note, text: approved, next: Done}
  Done: {type: Assignment, assignments: [{ref: count, op: Assign, value: 1}]}
start: Stamp_It
"""


def test_a_new_kind_in_one_module_is_loaded_checked_run_drawn_and_linted(
        stamp_kind: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flowengine.cli import main
    from flowengine.render import render_mermaid, render_svg

    path = tmp_path / "stamped.yaml"
    path.write_text(STAMP_FLOW)
    flow = _flow(STAMP_FLOW)
    result = flow.run({}, trace=True)
    assert (result.status, result.outputs) == ("Finished", {"note": "approved"})
    assert 'data-type="Stamp"' in render_svg(flow)
    assert 'Stamp_It["Stamp It"]' in render_mermaid(flow)
    assert main(["run", str(path), "--trace"]) == 0
    assert "stamped 'approved'" in capsys.readouterr().out
    assert main(["lint", str(path), "--format", "json"]) in (0, 1)
    assert "Stamp_It" not in capsys.readouterr().out      # an element with a way in and out


def test_a_new_kind_has_its_checks_and_the_common_ones(stamp_kind: Any) -> None:
    from flowengine.errors import ValidationError

    bad = STAMP_FLOW.replace("target: note", "target: count").replace("next: Done", "next: Gone")
    with pytest.raises(ValidationError) as info:
        _flow(bad)
    messages = [p.message for p in info.value.problems if p.severity == "error"]
    assert "a Stamp writes text, and 'count' is Number" in messages
    assert any("goes to 'Gone', which is not an element" in m for m in messages)
    with pytest.raises(ValidationError, match="unknown key 'txt'"):
        _flow(STAMP_FLOW.replace("text: approved", "txt: approved"))


def test_an_unregistered_kind_is_an_unknown_element_type() -> None:
    from flowengine.errors import ValidationError

    with pytest.raises(ValidationError, match="unknown element type 'Stamp'"):
        _flow(STAMP_FLOW)


# -- the built-in kinds are imported on first use ----------------------------------------------

def _in_fresh_python(code: str) -> Any:
    """What `code` (ending with `print(json.dumps(...))`) prints, run by a new interpreter."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parent.parent)
    return json.loads(done.stdout)


def test_a_flow_imports_only_the_kinds_it_uses() -> None:
    loaded = _in_fresh_python("""
        import json, sys
        from flowengine.api import load_flow_text
        flow = load_flow_text('''
        flow: Small
        variables: {n: {type: Number, output: true}}
        elements:
          Set_N: {type: Assignment, assignments: [{ref: n, op: Assign, value: 2}]}
        start: Set_N
        ''')
        assert flow.run().outputs["n"] == 2
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("flowengine.elements.",
                                                                        "flowengine.org")))))
    """)
    assert loaded == ["flowengine.elements.assignment", "flowengine.elements.base"]


def test_kinds_keep_their_order_whatever_order_they_are_imported_in() -> None:
    order = [k.name for k in kinds()]
    assert order[:3] == ["Assignment", "Decision", "Loop"] and order.index("Screen") > \
        order.index("CollectionSort")   # the unsupported kinds after those sharing their XML tags
    shuffled = _in_fresh_python("""
        import json
        from flowengine.elements import kind_named, kind_names, kinds, registered
        before = registered()
        for name in ("OrchestratedStage", "Loop", "CollectionSort", "GetRecords"):
            assert kind_named(name).name == name
        middle = registered()
        print(json.dumps([kind_names(), [k.name for k in kinds()], before == middle == registered()]))
    """)
    assert shuffled == [order, order, True]    # the cache key does not depend on what is imported


def test_an_unknown_element_type_names_every_kind() -> None:
    from flowengine.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        _flow(STAMP_FLOW.replace("type: Stamp", "type: Asignment"))
    message = next(p.message for p in info.value.problems if p.code == "schema.unknown-element-type")
    assert "did you mean 'Assignment'?" in message
    assert all(kind.name in message for kind in kinds())


def test_a_built_in_name_is_taken_before_its_module_is_imported() -> None:
    refused = _in_fresh_python("""
        import json
        from flowengine.elements import kind_named, register
        from flowengine.elements.assignment import KIND
        class Impostor(type(KIND)):
            name = "Subflow"
        try:
            register(Impostor())
            print(json.dumps(None))
        except ValueError as exc:
            print(json.dumps([str(exc), type(kind_named("Subflow")).__name__]))
    """)
    assert refused == ["element kind 'Subflow' is already registered", "SubflowKind"]


def test_running_a_flow_with_formulas_imports_no_calendar_or_html() -> None:
    run = """
        import json, sys
        from flowengine.api import load_flow
        load_flow("flows/counter.yaml").run({"limit": 2})
        print(json.dumps([m for m in ("calendar", "html") if m in sys.modules]))
    """
    _in_fresh_python(run)   # parsing a flow imports calendar (pydantic's plug-in lookup does)
    # from the flow cache: imported by ADDMONTHS and HYPERLINK only, when a formula uses them
    assert _in_fresh_python(run) == []
