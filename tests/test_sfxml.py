"""The Salesforce XML front end: reading `.flow-meta.xml` with every part's line, hostile XML
refused, elements flowengine cannot run kept and named, and `flowengine convert` both ways."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import cpu_seconds

from flowengine.api import load_flow
from flowengine.cli import main
from flowengine.errors import LoadError, UnsupportedError, ValidationError
from flowengine.formats import load_source
from flowengine.formats.sfxml import to_xml_text
from flowengine.formats.xmltree import canonical, parse_xml
from flowengine.model.structure import build_model

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def xml_flow(tmp_path: Path, body: str, name: str = "Sample") -> Path:
    path = tmp_path / f"{name}.flow-meta.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<Flow {NS}>\n'
                    + textwrap.dedent(body).strip("\n") + "\n</Flow>\n", encoding="utf-8")
    return path


COUNTER = """
    <apiVersion>62.0</apiVersion>
    <assignments>
        <name>Count</name>
        <label>Count</label>
        <locationX>176</locationX>
        <locationY>134</locationY>
        <assignmentItems>
            <assignToReference>counter</assignToReference>
            <operator>Add</operator>
            <value>
                <numberValue>1.0</numberValue>
            </value>
        </assignmentItems>
        <connector>
            <targetReference>Enough</targetReference>
        </connector>
    </assignments>
    <decisions>
        <name>Enough</name>
        <label>Enough?</label>
        <locationX>176</locationX>
        <locationY>254</locationY>
        <defaultConnector>
            <isGoTo>true</isGoTo>
            <targetReference>Count</targetReference>
        </defaultConnector>
        <defaultConnectorLabel>Not yet</defaultConnectorLabel>
        <rules>
            <name>Done</name>
            <conditionLogic>and</conditionLogic>
            <conditions>
                <leftValueReference>counter</leftValueReference>
                <operator>GreaterThanOrEqualTo</operator>
                <rightValue>
                    <elementReference>limit</elementReference>
                </rightValue>
            </conditions>
            <label>Done</label>
        </rules>
    </decisions>
    <formulas>
        <name>message</name>
        <dataType>String</dataType>
        <expression>&quot;Counted &quot; &amp; TEXT({!counter})</expression>
    </formulas>
    <label>Counter</label>
    <processType>AutoLaunchedFlow</processType>
    <start>
        <locationX>50</locationX>
        <locationY>0</locationY>
        <connector>
            <targetReference>Count</targetReference>
        </connector>
    </start>
    <status>Active</status>
    <variables>
        <name>counter</name>
        <dataType>Number</dataType>
        <isCollection>false</isCollection>
        <isInput>false</isInput>
        <isOutput>true</isOutput>
        <scale>0</scale>
        <value>
            <numberValue>0.0</numberValue>
        </value>
    </variables>
    <variables>
        <name>limit</name>
        <dataType>Number</dataType>
        <isCollection>false</isCollection>
        <isInput>true</isInput>
        <isOutput>false</isOutput>
        <scale>0</scale>
    </variables>
"""


# -- reading ------------------------------------------------------------------------------------

def test_a_salesforce_flow_loads_and_runs(tmp_path: Path) -> None:
    flow = load_flow(xml_flow(tmp_path, COUNTER, "Counter_Flow"))
    assert flow.name == "Counter_Flow"              # named by its file, as in Salesforce
    result = flow.run({"limit": 3})
    assert (result.status, result.outputs["counter"]) == ("Finished", 3)
    assert flow.checked.formulas["message"] is not None


def test_the_data_is_the_flow_models_shape(tmp_path: Path) -> None:
    data = load_source(xml_flow(tmp_path, COUNTER)).data
    assert data["variables"]["counter"] == {"type": "Number", "output": True, "scale": 0,
                                            "default": 0}
    assert data["elements"]["Count"] == {
        "type": "Assignment", "assignments": [{"ref": "counter", "op": "Add", "value": 1}],
        "next": "Enough", "location": [176, 134]}
    assert data["elements"]["Enough"]["xml"] == {"defaultConnector": {"isGoTo": "true"}}
    assert data["elements"]["Enough"]["defaultLabel"] == "Not yet"
    assert data["start"] == "Count" and data["startLocation"] == [50, 0]
    assert "status" not in data and "processType" not in data      # Active, AutoLaunchedFlow


def test_problems_point_into_the_xml(tmp_path: Path) -> None:
    path = xml_flow(tmp_path, COUNTER.replace("<elementReference>limit</elementReference>",
                                              "<elementReference>limt</elementReference>")
                    .replace("<targetReference>Enough</targetReference>",
                             "<targetReference>Enuf</targetReference>"))
    with pytest.raises(ValidationError) as info:
        load_flow(path)
    found = {(p.line, p.column, p.message) for p in info.value.problems if p.severity == "error"}
    assert (16, 5, "connector 'next' of element Count goes to 'Enuf', which is not an element; "
            "did you mean 'Enough'?") in found
    assert (37, 17, "unknown name 'limt'; did you mean 'limit'? (no variable, constant, formula, "
            "template or element has that name)") in found


def test_a_formula_error_points_inside_the_expression(tmp_path: Path) -> None:
    path = xml_flow(tmp_path, COUNTER.replace("TEXT({!counter})", "TEXT({!counter}) + FOO(1)"))
    with pytest.raises(ValidationError) as info:
        load_flow(path)
    problem = next(p for p in info.value.problems if p.code == "formula")
    line = path.read_text().splitlines()[problem.line - 1]
    # the column counts the file's characters: &quot; and &amp; are one character of the formula
    assert line[problem.column - 1:].startswith("FOO(1)"), (problem, line)


def test_a_flow_is_named_by_its_file_name(tmp_path: Path) -> None:
    path = xml_flow(tmp_path, COUNTER, "my-flow")
    with pytest.raises(ValidationError, match="flow name 'my-flow' is not valid"):
        load_flow(path)


def test_the_older_dot_flow_files_are_read(tmp_path: Path) -> None:
    path = xml_flow(tmp_path, COUNTER, "Legacy")
    old = path.with_name("Legacy.flow")
    path.rename(old)
    assert load_flow(old).run({"limit": 1}).outputs["counter"] == 1


# -- elements flowengine cannot run yet ----------------------------------------------------------

SCREEN = COUNTER.replace("<connector>\n            <targetReference>Count</targetReference>\n"
                         "        </connector>\n    </start>", """<connector>
            <targetReference>Ask</targetReference>
        </connector>
    </start>
    <screens>
        <name>Ask</name>
        <label>Ask</label>
        <locationX>176</locationX>
        <locationY>50</locationY>
        <allowBack>true</allowBack>
        <connector>
            <targetReference>Count</targetReference>
        </connector>
        <showFooter>true</showFooter>
    </screens>""")


def test_an_element_that_cannot_run_is_kept_named_and_drawn(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = xml_flow(tmp_path, SCREEN)
    flow = load_flow(path)
    warning = next(p for p in flow.warnings if p.code == "unsupported")
    assert (warning.line, warning.message) == (
        57, "Screen 'Ask' is not supported yet: flowengine reads, draws and converts it, but "
        "cannot run it")
    with pytest.raises(UnsupportedError, match=r"Sample.flow-meta.xml:57:1: error: Screen 'Ask'"):
        flow.run({"limit": 1})
    assert main(["validate", str(path)]) == 0
    assert "warning: Screen 'Ask' is not supported yet" in capsys.readouterr().out
    assert main(["run", str(path), "-i", "limit=1"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}:57:1: Screen 'Ask' is not supported")
    assert main(["render", str(path), "-o", str(tmp_path / "s.svg")]) == 0
    assert 'data-element="Ask" data-type="Screen"' in (tmp_path / "s.svg").read_text()
    kept = build_model(load_source(path)).model.elements["Ask"]
    assert kept.xml == {"allowBack": "true", "connector": {"targetReference": "Count"},
                        "showFooter": "true"}


def test_an_unknown_xml_element_is_kept_through_a_round_trip(tmp_path: Path) -> None:
    body = COUNTER.replace("<label>Counter</label>",
                           "<label>Counter</label>\n    <futureSetting><a>1</a></futureSetting>")
    path = xml_flow(tmp_path, body)
    model = build_model(load_source(path)).model
    assert model.xml == {"futureSetting": {"a": "1"}}
    original = parse_xml(path.read_text())
    original.children.sort(key=lambda c: c.tag)      # Salesforce's order, which the writer keeps
    assert canonical(parse_xml(to_xml_text(model))) == canonical(original)


# -- hostile XML -----------------------------------------------------------------------------------

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
                    for i in range(1, 10))
          + f']>\n<Flow {NS}><label>&lol9;</label></Flow>\n')


@pytest.mark.parametrize(("name", "text", "message"), [
    ("laughs", LAUGHS, ":2:16: error: a document type declaration (<!DOCTYPE ...>) is not allowed"),
    ("external", f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
                 f"<Flow {NS}><label>&e;</label></Flow>",
     ":2:13: error: a document type declaration"),
    ("deep", f"<Flow {NS}>" + "<a>" * 150 + "</a>" * 150 + "</Flow>",
     ":1:352: error: nesting deeper than 100 levels; refusing to load it"),
    ("foreign", '<Flow xmlns="http://example.com/other"><label>x</label></Flow>',
     ":1:1: error: element <{http://example.com/other}Flow> is not in the Salesforce metadata"),
])
def test_hostile_xml_is_refused_at_once(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / f"{name}.flow-meta.xml"
    path.write_text(text)
    started = cpu_seconds()
    done = subprocess.run([sys.executable, "-m", "flowengine", "validate", str(path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1"})
    assert cpu_seconds() - started < 5
    assert done.returncode in (1, 2)
    assert message in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "root:" not in done.stdout


def test_a_huge_xml_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Huge.flow-meta.xml"
    with open(path, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(LoadError, match="file is 50.0 MB; flow files are limited to 10 MB"):
        load_source(path)


def test_malformed_xml_says_where(tmp_path: Path) -> None:
    path = xml_flow(tmp_path, "<label>Broken</labl>")
    with pytest.raises(LoadError) as info:
        load_source(path)
    assert (info.value.problem.line, info.value.problem.message) == (3, "invalid XML: mismatched tag")


# -- convert ----------------------------------------------------------------------------------------

def test_convert_both_ways_gives_the_same_model(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    examples = [p for p in sorted(FLOWS.glob("*.yaml")) if ".flowtest." not in p.name]
    assert main(["convert", str(FLOWS), "-o", str(tmp_path / "xml"), "--to", "xml"]) == 0
    assert main(["convert", str(tmp_path / "xml"), "-o", str(tmp_path / "yaml")]) == 0
    written = sorted(p.name for p in (tmp_path / "xml").glob("*.flow-meta.xml"))
    # the YAML examples, and the flows of the DX project examples under flows/
    assert "Remind_Overdue_Invoices.flow-meta.xml" in written and len(written) > len(examples)
    assert f"converted {len(written)} flows" in capsys.readouterr().err
    for example in examples:
        original = build_model(load_source(example)).model
        xml = tmp_path / "xml" / f"{original.flow}.flow-meta.xml"
        again = tmp_path / "yaml" / f"{original.flow}.yaml"
        assert build_model(load_source(xml)).model == original, example.name
        assert build_model(load_source(again)).model == original, example.name


def test_convert_refuses_a_yaml_flow_with_structural_errors(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: Bad\nelements:\n  A: {type: Assignment, assignmnts: []}\nstart: A\n")
    assert main(["convert", str(bad), "-o", str(tmp_path / "Bad.flow-meta.xml")]) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}:3:25: unknown key 'assignmnts'; did you mean 'assignments'?" in err
    assert not (tmp_path / "Bad.flow-meta.xml").exists()


def test_convert_never_writes_over_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = xml_flow(tmp_path, COUNTER)
    before = path.read_bytes()
    assert main(["convert", str(path), "-o", str(path), "--to", "xml"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert path.read_bytes() == before


# -- Salesforce DX projects ------------------------------------------------------------------------------

def test_validate_dot_finds_every_flow_of_a_dx_project(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    flows = project / "force-app" / "main" / "default" / "flows"
    flows.mkdir(parents=True)
    (project / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}')
    xml_flow(flows, COUNTER, "Counter")
    xml_flow(project, COUNTER, "Outside")        # not in a package directory: not a source
    cwd = os.getcwd()
    os.chdir(project)
    try:
        assert main(["validate", "."]) == 0
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert out.strip() == "1 file checked: ok"


def test_a_broken_sfdx_project_file_is_a_clear_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sfdx-project.json").write_text('{"packageDirectories": 3}')
    assert main(["validate", str(tmp_path)]) == 2
    assert "expected \"packageDirectories\": a list" in capsys.readouterr().err


# -- the examples as a Salesforce DX project ---------------------------------------------------------

SFDX_FLOWS = FLOWS / "sfdx" / "force-app" / "main" / "default" / "flows"


@pytest.mark.parametrize("example", ["cancel_fulfillment_order_items", "cancel_and_reallocate"])
def test_the_dx_project_holds_the_examples_as_convert_writes_them(example: str) -> None:
    model = build_model(load_source(FLOWS / f"{example}.yaml")).model
    committed = (SFDX_FLOWS / f"{model.flow}.flow-meta.xml").read_text(encoding="utf-8")
    assert committed == to_xml_text(model), (
        f"run: flowengine convert flows/{example}.yaml -o {SFDX_FLOWS.relative_to(ROOT)}/")


def test_the_main_job_runs_on_the_xml_form(demo_org: Path) -> None:
    from flowengine.api import run_flow

    result = run_flow(SFDX_FLOWS / "Cancel_Fulfillment_Order_Items.flow-meta.xml",
                      {"fulfillmentOrderId": "0a3DM0000000001YAA",
                       "firstLineItemId": "0a4DM0000000001YAA", "firstQuantity": 2},
                      org=str(demo_org))
    assert result.status == "Finished" and result.outputs["linesCanceled"] == 1


def test_render_no_check_draws_an_org_flow_flowengine_cannot_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = COUNTER.replace("<start>", """<actionCalls>
        <name>Notify</name>
        <label>Notify</label>
        <locationX>176</locationX>
        <locationY>374</locationY>
        <actionName>emailSimple</actionName>
        <actionType>emailSimple</actionType>
    </actionCalls>
    <start>""")
    path = xml_flow(tmp_path, body)
    out = tmp_path / "org.svg"
    assert main(["render", str(path), "-o", str(out)]) == 2
    assert "unknown action 'emailSimple'" in capsys.readouterr().err
    assert main(["render", str(path), "-o", str(out), "--no-check"]) == 0
    assert "does not pass its checks" in capsys.readouterr().err
    assert 'data-element="Notify" data-type="Action"' in out.read_text()
