"""The canvas in a real browser: headless Chromium opens the rendered pages (every example, the
showcase, a generated 200-element flow, and run reports) and reports what a person sees: where
each box is, whether it is on top, whether a connector passes through a box, what a click shows,
which path a report highlights. One Chromium launch for the whole module: a harness page holds
each rendered page in an iframe, and each page posts its measurements to the harness, which
writes them into its DOM for `--dump-dom`.

Without Chromium the tests skip, except under CI (CI=true), where they fail: .ci/run installs it.
"""
from __future__ import annotations

import html as html_lib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine.api import load_flow, load_flow_text
from flowengine.render import render_html, render_report
from flowengine.render.browser import dump_dom, find_chromium
from flowengine.render.sample import generate_flow_yaml, showcase_flow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "flows").glob("*.yaml") if ".flowtest." not in p.name)

ERRORS_JS = """<script>window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });</script>"""

MEASURE_JS = r"""<script>
window.addEventListener("load", function () { setTimeout(function () {
  var out = {name: document.documentElement.dataset.page, errors: window.__errors};
  function R(r) { return [r.left, r.top, r.right, r.bottom].map(function (v) { return Math.round(v * 10) / 10; }); }
  var vp = document.getElementById("fe-viewport"), svg = vp.querySelector("svg");
  out.viewportWidth = vp.clientWidth; out.svg = R(svg.getBoundingClientRect());
  out.scale = window.flowCanvas.scale();
  out.naturalWidth = +svg.getAttribute("viewBox").split(" ")[2];
  var nodes = [].slice.call(svg.querySelectorAll(".node"));
  var boxes = nodes.map(function (n) { return [n.id, n.querySelector(".box").getBoundingClientRect()]; });
  out.nodes = nodes.map(function (n, i) {
    var cs = getComputedStyle(n), box = boxes[i][1];
    return {id: n.id, element: n.dataset.element, type: n.dataset.type, cls: n.getAttribute("class"),
      box: R(box), display: cs.display, visibility: cs.visibility, opacity: +cs.opacity,
      texts: [].map.call(n.querySelectorAll("text.title, text.caption, text.end-label"),
                         function (t) { return [t.textContent, R(t.getBoundingClientRect())]; }),
      badges: [].map.call(n.querySelectorAll(".badge"), function (b) {
        return [b.getAttribute("class"), b.textContent]; })};
  });
  out.chips = [].map.call(svg.querySelectorAll(".chip"), function (c) {
    return [c.textContent, R(c.querySelector("rect").getBoundingClientRect())]; });
  out.edges = []; out.crossings = []; out.samples = 0;
  svg.querySelectorAll(".edge").forEach(function (e) {
    var p = e.querySelector("path"), L = p.getTotalLength(), m = p.getScreenCTM();
    for (var s = 0; s <= L; s += 3) {
      var q = p.getPointAtLength(s), x = q.x * m.a + q.y * m.c + m.e, y = q.x * m.b + q.y * m.d + m.f;
      out.samples++;
      for (var i = 0; i < boxes.length; i++) {
        var b = boxes[i][1];
        if (x > b.left + 1 && x < b.right - 1 && y > b.top + 1 && y < b.bottom - 1) {
          out.crossings.push([e.id, boxes[i][0], Math.round(x), Math.round(y)]); break;
        }
      }
    }
    out.edges.push({id: e.id, source: e.dataset.source, label: e.dataset.label,
                    target: e.dataset.target, cls: e.getAttribute("class")});
  });
  out.covered = [];
  nodes.forEach(function (n) {
    var shape = n.querySelector(".tile-end") || n.querySelector(".box");
    n.scrollIntoView({block: "center", inline: "center"});
    var r = shape.getBoundingClientRect();
    var hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    if (!hit || hit.closest(".node") !== n) out.covered.push([n.id, hit ? (hit.closest("[id]") || hit).id : null]);
  });
  function shown() { return [].filter.call(document.querySelectorAll(".details"), function (d) {
    return !d.hidden; }).map(function (d) { return d.dataset.element; }); }
  var elements = nodes.filter(function (n) { return n.dataset.element && n.dataset.element !== "$start"; });
  var hover = elements[elements.length - 1], pick = svg.querySelector(".node-decision") || elements[0];
  hover.dispatchEvent(new MouseEvent("mouseenter"));
  out.hover = {element: hover.dataset.element, shown: shown()};
  hover.dispatchEvent(new MouseEvent("mouseleave"));
  out.hover.afterLeave = shown();
  pick.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var panel = document.querySelector(".details:not([hidden])");
  out.click = {element: pick.dataset.element, shown: shown(), selected: pick.classList.contains("selected"),
               text: panel ? panel.innerText : ""};
  var status = document.getElementById("fe-status");
  out.status = status ? status.textContent : null;
  out.steps = [].map.call(document.querySelectorAll("#fe-steps > li"), function (li) {
    return [li.dataset.element, +li.dataset.step, li.className]; });
  window.flowCanvas.fitWidth();
  out.fitted = {scale: window.flowCanvas.scale(), svg: R(svg.getBoundingClientRect())};
  parent.postMessage(JSON.stringify(out), "*");
}, 50); });
</script>"""

HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<script>
var expected = {count}, results = {{}};
window.addEventListener("message", function (e) {{
  var d = JSON.parse(e.data); results[d.name] = d;
  if (Object.keys(results).length === expected) {{
    var pre = document.createElement("pre"); pre.id = "results";
    pre.textContent = JSON.stringify(results); document.body.appendChild(pre);
  }}
}});
</script>
{frames}
</body></html>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = ("chromium is not installed (apt-get install chromium); the browser tests of the "
                  "canvas need it")
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}, and under CI they must run: .ci/run installs it")
        pytest.skip(reason)
    return path


def _runs() -> dict[str, tuple[Any, Any]]:
    showcase = showcase_flow()
    parcels = load_flow(ROOT / "flows" / "parcel_weights.yaml")
    return {
        "report-parcels": (parcels, parcels.run(trace=True)),
        "report-retry": (showcase, showcase.run({"qty": 7}, trace=True)),
        "report-loop": (showcase, showcase.run({"qty": 3}, trace=True)),
        "report-failed": (showcase, showcase.run({"qty": 20}, trace=True)),
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[Any, Any]]:
    return _runs()


@pytest.fixture(scope="module")
def pages(chromium: str, runs: dict[str, tuple[Any, Any]],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("canvas")
    html: dict[str, str] = {p.stem: render_html(load_flow(p)) for p in EXAMPLES}
    html["showcase"] = render_html(showcase_flow())
    html["generated"] = render_html(load_flow_text(generate_flow_yaml(200), "generated.yaml"))
    html.update({name: render_report(flow, result) for name, (flow, result) in runs.items()})
    frames = []
    for name, text in html.items():
        text = text.replace("<html lang=\"en\">", f'<html lang="en" data-page="{name}">', 1)
        text = text.replace("<head>", "<head>" + ERRORS_JS, 1).replace("</body>", MEASURE_JS + "</body>")
        (folder / f"{name}.html").write_text(text, encoding="utf-8")
        frames.append(f'<iframe src="{name}.html" width="1280" height="800"></iframe>')
    harness = folder / "harness.html"
    harness.write_text(HARNESS.format(count=len(html), frames="\n".join(frames)), encoding="utf-8")
    dom = dump_dom(harness, budget_ms=15000)
    found = re.search(r'<pre id="results">(.*?)</pre>', dom, re.S)
    assert found, f"the pages did not report back; DOM: {dom[:2000]}"
    results = json.loads(html_lib.unescape(found.group(1)))
    assert sorted(results) == sorted(html)
    yield results


def canvas_pages() -> list[str]:
    return [p.stem for p in EXAMPLES] + ["showcase", "generated"]


def _overlap(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


@pytest.mark.parametrize("name", canvas_pages() + list(_runs()))
def test_every_element_is_visible_and_no_boxes_overlap(pages: dict[str, Any], name: str) -> None:
    page = pages[name]
    assert page["errors"] == []
    nodes = page["nodes"]
    flow_elements = {n["element"] for n in nodes} - {"", "$start"}
    assert len(nodes) >= len(flow_elements) + 2
    scale = page["scale"]
    fit = min(1, (page["viewportWidth"] - 8) / page["naturalWidth"])
    assert scale == pytest.approx(max(fit, 0.5) if fit < 1 else 1, abs=0.01), "opens readable"
    for n in nodes:
        x1, y1, x2, y2 = n["box"]
        assert (x2 - x1) / scale > 30 and (y2 - y1) / scale > 30, n["id"]
        assert n["display"] != "none" and n["visibility"] == "visible" and n["opacity"] > 0.3
        assert page["svg"][0] - 1 <= x1 and x2 <= page["svg"][2] + 1, f"{n['id']} outside the canvas"
        for text, (tx1, ty1, tx2, ty2) in n["texts"]:
            assert x1 - 0.5 <= tx1 and tx2 <= x2 + 0.5 and y1 - 0.5 <= ty1 and ty2 <= y2 + 0.5, \
                f"{text!r} spills out of {n['id']}"
    overlaps = [(a["id"], b["id"]) for i, a in enumerate(nodes) for b in nodes[i + 1:]
                if _overlap(a["box"], b["box"])]
    assert overlaps == []
    chips_on_boxes = [(text, n["id"]) for text, rect in page["chips"] for n in nodes
                      if _overlap(rect, n["box"])]
    assert chips_on_boxes == []
    assert page["covered"] == [], "an element is hidden under something else"
    fitted = page["fitted"]["svg"]
    assert fitted[2] - fitted[0] <= page["viewportWidth"], "Fit width shows the whole width"


@pytest.mark.parametrize("name", canvas_pages())
def test_no_connector_passes_through_a_box(pages: dict[str, Any], name: str) -> None:
    page = pages[name]
    assert page["samples"] > 10 * len(page["edges"]) > 0
    assert page["crossings"] == []


def test_large_flow_opens_readable_and_fits_the_width_on_demand(pages: dict[str, Any]) -> None:
    page = pages["generated"]
    assert len({n["element"] for n in page["nodes"]}) >= 200
    assert page["scale"] == 0.5 and page["fitted"]["scale"] < 0.5


@pytest.mark.parametrize("name", canvas_pages())
def test_hover_and_click_show_the_element_details(pages: dict[str, Any], name: str) -> None:
    page = pages[name]
    assert page["hover"]["shown"] == [page["hover"]["element"]]
    assert page["hover"]["afterLeave"] == []
    click = page["click"]
    assert click["shown"] == [click["element"]] and click["selected"]
    assert "connectors" in click["text"].lower()


def test_details_list_the_decision_rules_and_targets(pages: dict[str, Any]) -> None:
    click = pages["showcase"]["click"]
    assert click["element"] == "Check_Quantity"
    for text in ("How many items did the customer order?", "Decision", "More than ten",
                 "qty", "GreaterThan", "Note that it is a lot", "A normal amount", "Reserve stock"):
        assert text.lower() in click["text"].lower()


@pytest.mark.parametrize("name", list(_runs()))
def test_report_highlights_exactly_the_path_of_the_trace(pages: dict[str, Any],
                                                         runs: dict[str, tuple[Any, Any]],
                                                         name: str) -> None:
    page = pages[name]
    _, result = runs[name]
    trace = result.trace
    assert page["status"] == result.status
    assert [(s[0], s[1]) for s in page["steps"]] == [(e["element"], e["step"]) for e in trace]
    visits = Counter(e["element"] for e in trace)
    first: dict[str, int] = {}
    for e in trace:
        first.setdefault(e["element"], e["step"])
    lit = {n["element"]: n for n in page["nodes"]
           if re.search(r"\b(visited|failed)\b", n["cls"]) and n["element"] not in ("", "$start")}
    assert set(lit) == set(visits)
    for element, node in lit.items():
        badges = [text for _, text in node["badges"]]
        expected = [str(first[element])] + ([f"×{visits[element]}"] if visits[element] > 1 else [])
        assert badges == expected, element
    pairs = {("$start", trace[0]["element"])} | {(a["element"], b["element"])
                                                for a, b in zip(trace, trace[1:])}
    taken = {(e["source"], e["target"]) for e in page["edges"]
             if re.search(r"\btaken\b", e["cls"]) and e["target"]}
    assert taken == pairs
    ends = [n for n in page["nodes"] if n["type"] == "End" and "visited" in n["cls"]]
    assert len(ends) == (1 if result.status == "Finished" else 0)
    failed = [n["element"] for n in page["nodes"] if re.search(r"\bfailed\b", n["cls"])]
    assert failed == ([result.error.element] if result.error else [])
