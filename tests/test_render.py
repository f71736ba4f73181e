"""The canvas (flowengine.render): layout geometry, determinism, SVG/HTML/Mermaid output, the run
report's data, and the `render` command. What a browser shows is in test_render_browser.py."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from flowengine.api import load_flow, load_flow_text
from flowengine.cli import main
from flowengine.render import render_html, render_mermaid, render_report, render_svg, write_run_report
from flowengine.render.canvas import layout_of, source_of
from flowengine.render.layout import Layout
from flowengine.render.report import taken_connectors
from flowengine.render.route import Router, _grid_search
from flowengine.render.sample import generate_flow_yaml, showcase_flow
from flowengine.render.structure import BranchItem, FlowStructure, GoToItem
from flowengine.render.text import text_width, wrap

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "flows").glob("*.yaml") if ".flowtest." not in p.name)
SVG_NS = "{http://www.w3.org/2000/svg}"


def all_flows() -> list[tuple[str, Any]]:
    flows = [(p.stem, load_flow(p)) for p in EXAMPLES]
    flows.append(("showcase", showcase_flow()))
    flows.append(("generated", load_flow_text(generate_flow_yaml(200), "generated.yaml")))
    return flows


# -- geometry ------------------------------------------------------------------------------------

def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_hits(p: tuple[int, int], q: tuple[int, int], r: tuple[int, int, int, int]) -> bool:
    """Whether the axis-parallel segment p–q passes through the inside of rectangle r."""
    x1, y1, x2, y2 = r
    if p[1] == q[1]:
        return y1 < p[1] < y2 and min(p[0], q[0]) < x2 and max(p[0], q[0]) > x1
    return x1 < p[0] < x2 and min(p[1], q[1]) < y2 and max(p[1], q[1]) > y1


def geometry_problems(layout: Layout) -> list[str]:
    problems = []
    boxes = layout.boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if _overlap(a.rect, b.rect):
                problems.append(f"boxes overlap: {a.id} {b.id}")
    for c in layout.connectors:
        for p, q in zip(c.points, c.points[1:]):
            if p[0] != q[0] and p[1] != q[1]:
                problems.append(f"diagonal segment in {c.source}.{c.label}: {p} {q}")
            for box in boxes:
                if _segment_hits(p, q, box.rect):
                    problems.append(f"{c.source}.{c.label} crosses {box.id} at {p}–{q}")
        end = c.points[-1]
        if c.style == "goto-label":
            continue
        x1, y1, x2, y2 = layout.box(c.target_box).rect
        on_border = x1 <= end[0] <= x2 and y1 <= end[1] <= y2 and (end[0] in (x1, x2)
                                                                  or end[1] in (y1, y2))
        if not on_border:
            problems.append(f"{c.source}.{c.label} does not end on {c.target_box}: {end}")
        if c.chip:
            chip = (c.chip.x - c.chip.w // 2, c.chip.y - 9, c.chip.x + c.chip.w // 2, c.chip.y + 9)
            problems += [f"chip {c.chip.text!r} covers {b.id}" for b in boxes if _overlap(chip, b.rect)]
    return problems


@pytest.mark.parametrize("name,flow", all_flows(), ids=lambda v: v if isinstance(v, str) else "")
def test_layout_has_no_overlaps_and_no_connector_through_a_box(name: str, flow: Any) -> None:
    layout = layout_of(source_of(flow))
    assert geometry_problems(layout) == []
    drawn = {b.element for b in layout.boxes}
    assert set(flow.model.elements) <= drawn, "every element is drawn"
    ends = [b for b in layout.boxes if b.kind == "End"]
    assert all(any(c.target_box == e.id for c in layout.connectors) for e in ends)


def test_geometry_check_can_fail() -> None:
    layout = layout_of(source_of(load_flow(ROOT / "flows" / "parcel_weights.yaml")))
    layout.boxes[2].y = layout.boxes[1].y + 5
    problems = geometry_problems(layout)
    assert any("overlap" in p for p in problems)
    assert any("crosses" in p for p in problems)
    assert any("does not end on" in p for p in problems)


def test_every_connector_of_the_model_is_drawn_once() -> None:
    for _, flow in all_flows():
        layout = layout_of(source_of(flow))
        drawn = [(c.source, c.label, c.target) for c in layout.connectors]
        assert len(drawn) == len(set(drawn))
        graph = flow.checked.graph
        expected = {(u, k, v) for u, v, k in graph.edges(keys=True)}
        assert expected <= set(drawn)


def test_decision_branches_sit_side_by_side_and_merge_below() -> None:
    layout = layout_of(source_of(load_flow(ROOT / "flows" / "parcel_weights.yaml")))
    heavy, light, decision = (layout.box(f"el-{n}") for n in ("Count_Heavy", "Note_Light", "Is_Heavy"))
    assert heavy.y == light.y > decision.y and heavy.x + heavy.w < light.x
    assert decision.cx == (heavy.cx + light.cx) // 2
    chips = {c.chip.text for c in layout.connectors if c.chip}
    assert {"Heavy parcel", "Light parcel", "For Each", "After Last"} <= chips


def test_loop_body_returns_to_the_loop_and_after_last_goes_around() -> None:
    layout = layout_of(source_of(load_flow(ROOT / "flows" / "parcel_weights.yaml")))
    loop, body, after = (layout.box(f"el-{n}") for n in ("Each_Weight", "Build_Parcel", "Count_Parcels"))
    back = next(c for c in layout.connectors if c.source == "Build_Parcel")
    assert back.style == "return" and back.target == "Each_Weight"
    assert back.points[-1] == (loop.x, loop.y + loop.h // 2), "enters the loop from the left"
    assert min(p[0] for p in back.points) < body.x
    exit_ = next(c for c in layout.connectors if (c.source, c.label) == ("Each_Weight", "after"))
    assert max(p[0] for p in exit_.points) > body.x + body.w and after.y > body.y + body.h


def test_structure_finds_loop_returns_merges_and_gotos() -> None:
    flow = load_flow(ROOT / "flows" / "parcel_weights.yaml")
    s = FlowStructure(flow.model, flow.checked.graph)
    assert s.loop_returns == {("Build_Parcel", "next"), ("Count_Heavy", "next"), ("Note_Light", "next")}
    assert s.merge["Is_Heavy"] == "Each_Parcel"
    counter = load_flow_text("""
flow: Back_Jump
variables: {n: {type: Number, default: 0}}
elements:
  Inc: {type: Assignment, assignments: [{ref: n, op: Add, value: 1}], next: Check}
  Check:
    type: Decision
    rules: [{name: Again, conditions: [{left: n, op: LessThan, right: 3}], next: Inc}]
start: Inc
""")
    s = FlowStructure(counter.model, counter.checked.graph)
    assert s.back_edges == {("Check", "Again")} and not s.loop_returns
    branch = s.roots[0].items[-1]
    assert isinstance(branch, BranchItem) and isinstance(branch.children[0].items[0], GoToItem)
    layout = layout_of(source_of(counter))
    goto = next(c for c in layout.connectors if c.style == "goto")
    assert goto.target == "Inc" and geometry_problems(layout) == []


def test_fault_path_leaves_the_action_on_the_right_in_red() -> None:
    layout = layout_of(source_of(showcase_flow()))
    fault = next(c for c in layout.connectors if c.kind == "fault")
    action = layout.box("el-Reserve")
    assert fault.points[0] == (action.x + action.w, action.y + action.h // 2)
    assert fault.chip is not None and fault.chip.text == "Fault"
    svg = render_svg(showcase_flow())
    assert 'class="edge edge-fault"' in svg and "#c23934" in svg


def test_unreachable_elements_are_still_drawn() -> None:
    flow = load_flow_text("""
flow: Island
variables: {n: {type: Number, default: 0}}
elements:
  A: {type: Assignment, assignments: [{ref: n, op: Add, value: 1}]}
  B: {type: Assignment, assignments: [{ref: n, op: Add, value: 2}], next: A}
start: A
""")
    layout = layout_of(source_of(flow))
    assert {"A", "B"} <= {b.element for b in layout.boxes}
    assert geometry_problems(layout) == []


def _path_clear(path: list[tuple[int, int]], rects: list[tuple[int, int, int, int]]) -> bool:
    return all(not _segment_hits(p, q, r) for p, q in zip(path, path[1:]) for r in rects)


def test_router_goes_around_boxes_and_through_channels() -> None:
    # a target with neighbours left and right at its height, and boxes under the start
    target = (400, 400, 600, 460)
    boxes = [(100, 400, 300, 460), (700, 400, 900, 460), (380, 80, 620, 140), (380, 200, 620, 260)]
    router = Router(boxes + [target], (100, 80, 900, 460))
    path = router.route((500, 160), target)
    assert path is not None and path[0] == (500, 160)
    assert _path_clear(path, [router.inflate(b) for b in boxes])
    end = path[-1]
    assert end[0] in (400, 600) or end[1] in (400, 460)


def test_grid_search_finds_a_way_out_of_a_pocket_and_gives_up_when_walled_in() -> None:
    target = (0, 0, 100, 40)
    pocket = [(180, 100, 200, 320), (300, 100, 320, 320), (170, 300, 330, 330)]   # open at the top
    window = (-50, -50, 400, 400)
    path = _grid_search((250, 250), target, pocket + [target], window)
    assert path is not None and _path_clear(path, pocket)
    assert path[-1] in {(50, 40), (100, 20), (50, 0), (0, 20)}
    walled = pocket + [(170, 80, 330, 110)]
    assert _grid_search((250, 250), target, walled + [target], window) is None


def test_a_go_to_without_a_way_is_labelled(monkeypatch: Any) -> None:
    monkeypatch.setattr(Router, "route", lambda self, start, target: None)
    flow = load_flow_text("""
flow: Back_Jump
variables: {n: {type: Number, default: 0}}
elements:
  Inc: {type: Assignment, label: Add one, assignments: [{ref: n, op: Add, value: 1}], next: Check}
  Check:
    type: Decision
    rules: [{name: Again, conditions: [{left: n, op: LessThan, right: 3}], next: Inc}]
start: Inc
""")
    layout = layout_of(source_of(flow))
    goto = next(c for c in layout.connectors if c.source == "Check" and c.label == "Again")
    assert goto.style == "goto-label" and goto.chip is not None and goto.chip.text == "Go to Add one"
    assert geometry_problems(layout) == []


def test_labels_wrap_inside_their_box() -> None:
    lines = wrap("Cancel Fulfillment Order Item and reallocate everything", 154, 13, bold=True)
    assert len(lines) > 1 and all(text_width(line, 13, True) <= 154 for line in lines)
    assert wrap("x" * 200, 100, 13, max_lines=2)[-1].endswith("…")
    layout = layout_of(source_of(showcase_flow()))
    question = layout.box("el-Check_Quantity")
    assert len(question.title) == 2 and question.h > layout.box("el-Warn").h - 1


# -- output ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,flow", all_flows(), ids=lambda v: v if isinstance(v, str) else "")
def test_svg_is_well_formed_and_names_every_element(name: str, flow: Any) -> None:
    root = ET.fromstring(render_svg(flow))
    assert root.tag == f"{SVG_NS}svg"
    ids = {g.get("data-element") for g in root.iter(f"{SVG_NS}g") if "node" in (g.get("class") or "")}
    assert set(flow.model.elements) <= ids


def test_html_is_self_contained() -> None:
    html = render_html(showcase_flow())
    assert "<script>" in html and "<style>" in html
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?!#)[^"']*""", html)
    assert external == []
    assert re.findall(r"https?://(?!www\.w3\.org/2000/svg)", html) == []
    assert html.count('class="details"') == len(showcase_flow().model.elements)


def test_same_file_renders_byte_identical_across_processes(tmp_path: Path) -> None:
    path = ROOT / "flows" / "parcel_weights.yaml"
    here = {fmt: fn(load_flow(path)) for fmt, fn in
            (("svg", render_svg), ("html", render_html), ("mermaid", render_mermaid))}
    script = ("import sys, json; from flowengine.api import load_flow; import flowengine.render as r;"
              "f = load_flow(sys.argv[1]);"
              "print(json.dumps({'svg': r.render_svg(f), 'html': r.render_html(f), "
              "'mermaid': r.render_mermaid(f)}))")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert json.loads(out.stdout) == here
    result = showcase_flow().run({"qty": 7}, trace=True)
    assert render_report(showcase_flow(), result) == render_report(showcase_flow(), result)


def test_mermaid_has_shapes_labels_and_red_faults() -> None:
    text = render_mermaid(showcase_flow())
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert 'Check_Quantity{"How many items did the customer order?"}' in text
    assert 'Each_Item{{"Each item"}}' in text and 'Warn["Note that it is a lot"]' in text
    assert 'Reserve[["Reserve stock<br/><small>Inventory</small>"]]' in text
    assert 'Check_Quantity -->|"More than ten"| Warn' in text
    assert 'Each_Item -->|"After Last"| Notify' in text
    edges = [line for line in lines if "-->" in line]
    style = next(line for line in lines if line.strip().startswith("linkStyle"))
    index = int(style.split()[1])
    assert edges[index].strip() == 'Reserve -->|"Fault"| Count_Try' and "#c23934" in style
    assert sum(1 for line in lines if '(("End"))' in line) == 3


def test_mermaid_avoids_reserved_words() -> None:
    flow = load_flow_text("""
flow: Words
variables: {n: {type: Number, default: 0}}
elements:
  end: {type: Assignment, label: 'a "quoted" | label', assignments: [{ref: n, op: Add, value: 1}]}
start: end
""")
    text = render_mermaid(flow)
    assert 'end__el["a #quot;quoted#quot; #124; label"]' in text
    assert "flow__start --> end__el" in text


# -- run report data -------------------------------------------------------------------------------

def test_taken_connectors_follow_the_trace() -> None:
    flow = showcase_flow()
    result = flow.run({"qty": 7}, trace=True)
    taken = taken_connectors(result.trace, None)
    assert ("Reserve", "fault") in taken and ("Retry", "Again") in taken and ("Retry", "default") in taken
    assert ("Reserve", "next") not in taken
    failed = flow.run({"qty": 20}, trace=True)
    assert failed.status == "Failed"
    assert taken_connectors(failed.trace, "Notify") == {("$start", "start"), ("Check_Quantity", "Many"),
                                                       ("Warn", "next")}


def test_report_shows_status_outputs_steps_and_failure(tmp_path: Path) -> None:
    flow = showcase_flow()
    result = flow.run({"qty": 20}, trace=True)
    out = tmp_path / "report.html"
    write_run_report(flow, result, out)
    html = out.read_text(encoding="utf-8")
    assert 'class="status Failed"' in html and "MAIL_REJECTED" in html
    assert re.search(r'id="el-Notify" class="node node-action failed"', html)
    assert html.count('<li data-element=') == len(result.trace)
    assert "too many" in html                     # the assignment's after value
    ok = flow.run({"qty": 3}, trace=True)
    html = render_report(flow, ok)
    assert "Iteration 2: current item = b" in html and "No more items: After Last" in html
    assert "Outcome taken: B" in html and "×4" in html          # Each_Item ran 4 times
    assert [p for p in tmp_path.iterdir()] == [out], "no temporary file left behind"


# -- command line ----------------------------------------------------------------------------------

def test_render_command_writes_svg_html_and_prints_mermaid(tmp_path: Path, capsys: Any) -> None:
    flow = str(ROOT / "flows" / "parcel_weights.yaml")
    assert main(["render", flow, "-o", str(tmp_path / "a.svg")]) == 0
    assert main(["render", flow, "-o", str(tmp_path / "a.html")]) == 0
    assert (tmp_path / "a.svg").read_text().startswith("<svg")
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    capsys.readouterr()
    assert main(["render", flow, "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")
    (tmp_path / "a.svg").write_text("old")
    assert main(["render", flow, "-o", str(tmp_path / "a.svg")]) == 0
    assert (tmp_path / "a.svg").read_text() == render_svg(load_flow(flow))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "a.svg"]


@pytest.mark.parametrize("args,message", [
    (["missing.yaml", "-o", "x.svg"], r"^error: .*missing\.yaml"),
    (["{flow}", "-o", "x.png"], r"^error: cannot tell the format of 'x\.png'"),
    (["{flow}"], r"^error: say where to draw"),
    (["{flow}", "-o", "{tmp}/no/such/dir/x.svg"], r"^error: cannot write .*x\.svg"),
    (["{bad}", "-o", "x.svg"], r"^error: .*bad\.yaml:5:"),
])
def test_render_command_errors(args: list[str], message: str, tmp_path: Path, capsys: Any,
                               monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: Bad\nelements:\n  A:\n    type: Assignment\n    assignments: [{ref: nope, op: Add, value: 1}]\n"
                   "start: A\n")
    filled = [a.format(flow=ROOT / "flows" / "parcel_weights.yaml", tmp=tmp_path, bad=bad) for a in args]
    assert main(["render", *filled]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err, re.M), err
    assert "Traceback" not in err


def test_run_report_option_writes_the_report(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "run.html"
    assert main(["run", str(ROOT / "flows" / "parcel_weights.yaml"), "--report", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'class="status Finished"' in html and "totalKg" in html


INVOICING_FLOWS = Path(__file__).resolve().parent.parent / "flows" / "invoicing" / "force-app" / \
    "main" / "default" / "flows"


@pytest.mark.parametrize("name, caption", [
    ("Announce_Payment", ["Invoice__c updated, after", "save"]),
    ("Thank_Customer", ["Platform event:", "Payment_Received__e"]),
])
def test_the_start_of_a_triggered_flow_says_what_starts_it(name: str, caption: list[str]) -> None:
    flow = load_flow(INVOICING_FLOWS / f"{name}.flow-meta.xml")
    texts = [t.text for t in ET.fromstring(render_svg(flow)).iter("{http://www.w3.org/2000/svg}text")
             if t.text]
    start = texts.index("Start")
    assert texts[start + 1:start + 1 + len(caption)] == caption
    details = render_html(flow)
    assert "Trigger" in details and ("Platform event" in details) == (name == "Thank_Customer")

