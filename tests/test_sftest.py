"""Salesforce Flow Tests (`*.flowtest-meta.xml`): found in a DX project's `flowtests/` folder and
run by pytest, with a triggering record (and its prior values), Salesforce's assertion operators,
skipped with a reason when flowengine cannot run them, and converted to `*.flowtest.yaml` and
back; what flowengine writes is valid `FlowTest` metadata."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import salesforce_schema

from flowengine.cli import main
from flowengine.errors import LoadError
from flowengine.testing import (
    CaseOutcome,
    FlowTestSpecError,
    load_flow_under_test,
    load_flowtest,
    render_failure,
    run_case,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
INVOICING = ROOT / "flows" / "invoicing"
EXAMPLE_TESTS = INVOICING / "force-app" / "main" / "default" / "flowtests"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a subprocess, with the plug-in (see test_flowtest.py)."""
    from importlib.metadata import entry_points

    installed = any(ep.value.startswith("flowengine.testing.plugin")
                    for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "flowengine.testing.plugin"]
    return pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", *args)


# -- writing Flow Tests ---------------------------------------------------------------------------

def record(kind: str, fields: str) -> str:
    return (f"<parameters><leftValueReference>$Record</leftValueReference><type>{kind}</type>"
            f"<value><sobjectValue>{fields}</sobjectValue></value></parameters>")


def start(*parameters: str) -> str:
    return "<testPoints><elementApiName>Start</elementApiName>" + "".join(parameters) + \
        "</testPoints>"


def finish(*assertions: str) -> str:
    return "<testPoints>" + "".join(assertions) + \
        "<elementApiName>Finish</elementApiName></testPoints>"


def assertion(*conditions: str, message: str | None = None) -> str:
    text = f"<errorMessage>{message}</errorMessage>" if message else ""
    return "<assertions>" + "".join(conditions) + text + "</assertions>"


def cond(left: str, op: str, value: str | None = None) -> str:
    right = f"<rightValue>{value}</rightValue>" if value is not None else ""
    return (f"<conditions><leftValueReference>{left}</leftValueReference>"
            f"<operator>{op}</operator>{right}</conditions>")


def flowtest_xml(flow: str, *points: str, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<FlowTest xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<flowApiName>{flow}</flowApiName><label>A test</label>{''.join(points)}{extra}"
            "</FlowTest>\n")


NEW_INVOICE = record("InputTriggeringRecordInitial",
                     '{"Name":"INV-2001","Amount__c":120.50,"Status__c":"Draft"}')
SENT = record("InputTriggeringRecordInitial", '{"Name":"INV-7","Status__c":"Sent"}')
PAID = record("InputTriggeringRecordUpdated", '{"Name":"INV-7","Status__c":"Paid"}')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the invoicing example (a DX project) without its flow tests."""
    dest = tmp_path / "invoicing"
    shutil.copytree(INVOICING, dest, ignore=shutil.ignore_patterns("*.flowtest*", "*.sqlite"))
    (dest / "force-app" / "main" / "default" / "flowtests").mkdir(exist_ok=True)
    return dest


def write_test(project: Path, name: str, text: str) -> Path:
    path = project / "force-app" / "main" / "default" / "flowtests" / f"{name}.flowtest-meta.xml"
    path.write_text(text, encoding="utf-8")
    return path


def run_flowtest(path: Path) -> CaseOutcome:
    test = load_flowtest(path)
    return run_case(test, test.cases[0], load_flow_under_test(test))


# -- the triggering record ------------------------------------------------------------------------

def test_a_create_test_runs_the_flow_on_its_triggering_record(project: Path) -> None:
    path = write_test(project, "Due", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("$Record.Due_Date__c", "IsNull", "<booleanValue>false</booleanValue>")))))
    test = load_flowtest(path)
    assert test.cases[0].name == "Due"
    assert test.cases[0].record == {"Name": "INV-2001", "Amount__c": pytest.approx(120.5),
                                    "Status__c": "Draft"}
    assert test.cases[0].prior is None
    outcome = run_flowtest(path)
    assert outcome.passed, render_failure(test, outcome)
    assert [step.get("element") for step in outcome.result.trace or []] == ["Set_Due_Date"]


def test_an_update_test_gives_the_prior_record_and_the_updated_one(project: Path) -> None:
    path = write_test(project, "Paid", flowtest_xml(
        "Announce_Payment", start(SENT, PAID),
        finish(assertion(cond("$Record__Prior.Status__c", "EqualTo", "<stringValue>Sent</stringValue>"),
                         cond("$Record.Status__c", "EqualTo", "<stringValue>Paid</stringValue>"),
                         cond("$Record.Status__c", "IsChanged", "<booleanValue>true</booleanValue>"),
                         cond("$Record.Name", "IsChanged", "<booleanValue>false</booleanValue>"),
                         cond("Publish", "WasVisited", "<booleanValue>true</booleanValue>")))))
    test = load_flowtest(path)
    assert (test.cases[0].prior, test.cases[0].record) == (
        {"Name": "INV-7", "Status__c": "Sent"}, {"Name": "INV-7", "Status__c": "Paid"})
    outcome = run_flowtest(path)
    assert outcome.passed, render_failure(test, outcome)


def test_an_update_that_does_not_meet_the_entry_conditions_fails_saying_so(project: Path) -> None:
    already_paid = record("InputTriggeringRecordInitial", '{"Name":"INV-7","Status__c":"Paid"}')
    path = write_test(project, "Still_Paid", flowtest_xml(
        "Announce_Payment", start(already_paid, PAID),
        finish(assertion(cond("Publish", "WasVisited", "<booleanValue>true</booleanValue>")))))
    outcome = run_flowtest(path)
    assert not outcome.passed
    text = render_failure(load_flowtest(path), outcome)
    assert "entry conditions" in text and "Status__c EqualTo \"Paid\"" in text
    assert "the flow does not start" in text


def test_an_updated_record_without_its_initial_one_is_refused(project: Path) -> None:
    path = write_test(project, "Half", flowtest_xml("Announce_Payment", start(PAID)))
    with pytest.raises(FlowTestSpecError, match=r"Half.flowtest-meta.xml:2:\d+: error: an "
                       r"InputTriggeringRecordUpdated parameter .* needs an "
                       r"InputTriggeringRecordInitial one"):
        load_flowtest(path)


def test_a_create_test_of_an_update_flow_does_not_fit(project: Path) -> None:
    path = write_test(project, "Create_Only", flowtest_xml("Announce_Payment", start(SENT)))
    test = load_flowtest(path)
    with pytest.raises(Exception, match="give prior: too, the record before the update"):
        run_case(test, test.cases[0], load_flow_under_test(test))


def test_a_field_the_object_does_not_have_is_an_error(project: Path) -> None:
    bad = record("InputTriggeringRecordInitial", '{"Name":"X","Amount_c":1}')
    path = write_test(project, "Typo", flowtest_xml("Invoice_Defaults", start(bad)))
    test = load_flowtest(path)
    with pytest.raises(Exception, match="Amount_c"):
        run_case(test, test.cases[0], load_flow_under_test(test))


# -- assertions -----------------------------------------------------------------------------------

NUMBER, TEXT, BOOL = "<numberValue>{}</numberValue>", "<stringValue>{}</stringValue>", \
    "<booleanValue>{}</booleanValue>"

# Salesforce's Flow Test operators, each with a condition that holds and one that does not, on
# INV-2001 (Amount__c 120.50, Status__c Draft) after Invoice_Defaults gave it a due date
OPERATORS = [
    ("EqualTo", "$Record.Amount__c", NUMBER.format("120.5"), NUMBER.format("99")),
    ("NotEqualTo", "$Record.Status__c", TEXT.format("Paid"), TEXT.format("Draft")),
    ("GreaterThan", "$Record.Amount__c", NUMBER.format("100"), NUMBER.format("120.5")),
    ("LessThan", "$Record.Amount__c", NUMBER.format("121"), NUMBER.format("120.5")),
    ("GreaterThanOrEqualTo", "$Record.Amount__c", NUMBER.format("120.5"), NUMBER.format("121")),
    ("LessThanOrEqualTo", "$Record.Amount__c", NUMBER.format("120.5"), NUMBER.format("120")),
    ("StartsWith", "$Record.Name", TEXT.format("INV-"), TEXT.format("2001")),
    ("EndsWith", "$Record.Name", TEXT.format("2001"), TEXT.format("INV")),
    ("Contains", "$Record.Name", TEXT.format("V-20"), TEXT.format("zz")),
    ("IsNull", "$Record.Due_Date__c", BOOL.format("false"), BOOL.format("true")),
    ("IsChanged", "$Record.Name", BOOL.format("false"), BOOL.format("true")),   # a create test
    ("WasSet", "$Record.Due_Date__c", BOOL.format("true"), BOOL.format("false")),
    ("WasVisited", "Set_Due_Date", BOOL.format("true"), BOOL.format("false")),
]


@pytest.mark.parametrize(("op", "left", "holds", "fails"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_every_assertion_operator_passes_and_fails(project: Path, op: str, left: str, holds: str,
                                                   fails: str) -> None:
    good = write_test(project, "Good", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE), finish(assertion(cond(left, op, holds)))))
    outcome = run_flowtest(good)
    assert outcome.passed, render_failure(load_flowtest(good), outcome)
    bad = write_test(project, "Bad", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond(left, op, fails), message=f"{op} does not hold"))))
    outcome = run_flowtest(bad)
    assert not outcome.passed
    assert f"{op} does not hold" in render_failure(load_flowtest(bad), outcome)


def test_a_screen_choice_operator_is_skipped_with_its_reason(project: Path) -> None:
    path = write_test(project, "Choice", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("Pick", "WasSelected", BOOL.format("true"))))))
    assert "WasSelected (Pick): it tests a screen choice" in (load_flowtest(path).cases[0].skip or "")


def test_an_unknown_operator_is_refused_with_a_suggestion(project: Path) -> None:
    path = write_test(project, "Op", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("$Record.Name", "EqualsTo", TEXT.format("x"))))))
    with pytest.raises(FlowTestSpecError, match=r"Op.flowtest-meta.xml:2:\d+: error: unknown operator "
                       r"'EqualsTo'; did you mean 'EqualTo'\?"):
        load_flowtest(path)


def test_the_conditions_of_an_assertion_must_all_hold(project: Path) -> None:
    path = write_test(project, "Both", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("$Record.Status__c", "EqualTo", TEXT.format("Draft")),
                         cond("$Record.Amount__c", "EqualTo", NUMBER.format("1")),
                         message="amount and status"))))
    outcome = run_flowtest(path)
    assert not outcome.passed
    text = render_failure(load_flowtest(path), outcome)
    assert "amount and status" in text and "120.5" in text


YAML_TEST = """\
flow: Invoice_Defaults
cases:
  new_invoice:
    record: {{Name: INV-2001, Amount__c: 120.50, Status__c: Draft}}
    expect:
      assertions:
        - conditions:
            - {{left: $Record.Status__c, op: EqualTo, right: Paid}}
            - {{left: $Record.Amount__c, op: EqualTo, right: 120.5}}
            - {{left: $Record.Name, op: StartsWith, right: INV}}
          logic: {logic}
          errorMessage: logic does not hold
"""


@pytest.mark.parametrize(("logic", "passes"), [("and", False), ("or", True),
                                               ("1 AND (2 OR 3)", False), ("(1 OR 2) AND 3", True)])
def test_condition_logic_of_yaml_flow_tests(project: Path, logic: str, passes: bool) -> None:
    path = project / "defaults.flowtest.yaml"
    path.write_text(YAML_TEST.format(logic=repr(logic)), encoding="utf-8")
    outcome = run_flowtest(path)
    assert outcome.passed is passes


def test_condition_logic_other_than_and_cannot_be_written_as_a_flow_test(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "defaults.flowtest.yaml"
    path.write_text(YAML_TEST.format(logic="or"), encoding="utf-8")
    assert main(["convert", str(path), "-o", str(project / "out") + "/"]) == 2
    err = capsys.readouterr().err
    assert "defaults.flowtest.yaml:11:" in err and "logic 'or' cannot be written" in err


# -- what flowengine cannot run, and what it refuses -----------------------------------------------

SCREEN_FLOW = """\
<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>62.0</apiVersion>
    <assignments>
        <name>Greet</name>
        <label>Greet</label>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <assignmentItems>
            <assignToReference>greeting</assignToReference>
            <operator>Assign</operator>
            <value>
                <stringValue>hello</stringValue>
            </value>
        </assignmentItems>
    </assignments>
    <label>Hello</label>
    <processType>Flow</processType>
    <start>
        <locationX>0</locationX>
        <locationY>0</locationY>
        <connector>
            <targetReference>Greet</targetReference>
        </connector>
    </start>
    <status>Active</status>
    <variables>
        <name>greeting</name>
        <dataType>String</dataType>
        <isCollection>false</isCollection>
        <isInput>false</isInput>
        <isOutput>true</isOutput>
    </variables>
</Flow>
"""


def test_a_screen_flow_is_skipped_never_passed(project: Path) -> None:
    from flowengine.testing.runner import skip_reason

    (project / "force-app" / "main" / "default" / "flows" / "Hello.flow-meta.xml").write_text(
        SCREEN_FLOW, encoding="utf-8")
    path = write_test(project, "Hello_Test", flowtest_xml(
        "Hello", finish(assertion(cond("greeting", "EqualTo", TEXT.format("hello"))))))
    reason = skip_reason(load_flow_under_test(load_flowtest(path)))
    assert reason is not None and "Hello is a screen flow" in reason


@pytest.mark.parametrize(("extra", "reason"), [
    ("<flowTestDataSources><apexClass>Data</apexClass><dataSourceType>ApexClass</dataSourceType>"
     "</flowTestDataSources>", "test data from an Apex class"),
    ("<parameters><leftValueReference>Path_1</leftValueReference><type>ScheduledPath</type>"
     "<value><stringValue>x</stringValue></value></parameters>", "a scheduled path"),
    ("<isUseMockOutput>true</isUseMockOutput>", "mocked outputs"),
    ("<parameters><leftValueReference>Get_X</leftValueReference><type>MockElementOutput</type>"
     "<value><stringValue>x</stringValue></value></parameters>", "mocked element outputs"),
])
def test_what_flowengine_cannot_run_is_skipped_with_the_reason(project: Path, extra: str,
                                                                reason: str) -> None:
    if extra.startswith("<flowTestDataSources>"):
        text = flowtest_xml("Invoice_Defaults", start(NEW_INVOICE), extra=extra)
    else:
        text = flowtest_xml("Invoice_Defaults", start(NEW_INVOICE, extra))
    path = write_test(project, "Cannot", text)
    assert reason in (load_flowtest(path).cases[0].skip or "")


def test_an_unknown_element_is_refused_by_name(project: Path) -> None:
    path = write_test(project, "Unknown", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE), extra="<flowVersion>3</flowVersion>"))
    with pytest.raises(FlowTestSpecError, match=r"Unknown.flowtest-meta.xml:2:\d+: error: unknown "
                       r"element <flowVersion> in a FlowTest"):
        load_flowtest(path)
    path = write_test(project, "Unknown", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE.replace("</parameters>", "<note>x</note></parameters>"))))
    with pytest.raises(FlowTestSpecError, match=r"unknown element <note> in a parameter"):
        load_flowtest(path)


def test_an_unknown_parameter_type_is_refused(project: Path) -> None:
    path = write_test(project, "Kind", flowtest_xml(
        "Invoice_Defaults", start(record("InputTriggeringRecord", "{}"))))
    with pytest.raises(FlowTestSpecError, match=r"unknown parameter type "
                       r"'InputTriggeringRecord'; did you mean 'InputTriggeringRecord(Initial|Updated)'"):
        load_flowtest(path)


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE FlowTest [<!ENTITY x "boom">]>',
    '<!DOCTYPE FlowTest [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE FlowTest SYSTEM "file:///etc/passwd">',
])
def test_hostile_xml_is_refused_clearly(project: Path, doctype: str) -> None:
    text = flowtest_xml("Invoice_Defaults").replace("\n", "\n" + doctype, 1)
    path = write_test(project, "Hostile", text)
    with pytest.raises(LoadError, match=r"Hostile.flowtest-meta.xml:2:\d+: .*(DOCTYPE|DTD)"):
        load_flowtest(path)


def test_a_flow_the_project_does_not_have_is_named_with_a_suggestion(project: Path) -> None:
    path = write_test(project, "Missing", flowtest_xml("Invoice_Default", start(NEW_INVOICE)))
    with pytest.raises(LoadError, match=r"Missing.flowtest-meta.xml:2:\d+: error: no flow "
                       r"'Invoice_Default' in the project .*did you mean 'Invoice_Defaults'\?"):
        load_flow_under_test(load_flowtest(path))


def test_a_flow_test_without_its_flow_api_name_is_refused(project: Path) -> None:
    path = write_test(project, "Nameless", flowtest_xml("x").replace(
        "<flowApiName>x</flowApiName>", ""))
    with pytest.raises(FlowTestSpecError, match="a FlowTest needs <flowApiName>"):
        load_flowtest(path)


# -- an org fixture beside the test or named in pyproject.toml -------------------------------------

def remind_test(project: Path) -> Path:
    as_of = ("<parameters><leftValueReference>asOf</leftValueReference><type>InputVariable</type>"
             "<value><dateValue>2026-06-30</dateValue></value></parameters>")
    return write_test(project, "Reminds", flowtest_xml(
        "Remind_Overdue_Invoices", start(as_of),
        finish(assertion(cond("reminded", "EqualTo", NUMBER.format("2"))))))


def test_without_a_fixture_the_org_is_empty(project: Path) -> None:
    assert not run_flowtest(remind_test(project)).passed


def test_a_fixture_beside_the_flow_test_seeds_its_org(project: Path) -> None:
    path = remind_test(project)
    shutil.copy(project / "fixtures" / "invoices.yaml", path.parent / "Reminds.fixture.yaml")
    outcome = run_flowtest(path)
    assert outcome.passed, render_failure(load_flowtest(path), outcome)


def test_a_fixture_named_in_pyproject_seeds_the_org(project: Path) -> None:
    path = remind_test(project)
    (project / "pyproject.toml").write_text(
        '[tool.flowengine.flowtests]\nfixture = "fixtures/invoices.yaml"\n', encoding="utf-8")
    outcome = run_flowtest(path)
    assert outcome.passed, render_failure(load_flowtest(path), outcome)


def test_an_unknown_key_in_the_pyproject_table_is_refused(project: Path) -> None:
    path = remind_test(project)
    (project / "pyproject.toml").write_text(
        '[tool.flowengine.flowtests]\nfixtures = "fixtures/invoices.yaml"\n', encoding="utf-8")
    with pytest.raises(LoadError, match=r"pyproject.toml: error: unknown key 'fixtures' in "
                       r"\[tool.flowengine.flowtests\]; did you mean 'fixture'\?"):
        load_flowtest(path)


# -- under pytest ---------------------------------------------------------------------------------

def test_pytest_collects_a_projects_flow_tests_and_reports_each(pytester: pytest.Pytester,
                                                                project: Path) -> None:
    write_test(project, "Sets_Due_Date", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("$Record.Due_Date__c", "IsNull", BOOL.format("false"))))))
    write_test(project, "Wrong_Amount", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE),
        finish(assertion(cond("$Record.Amount__c", "EqualTo", NUMBER.format("99")),
                         message="The amount changed."))))
    write_test(project, "Scheduled", flowtest_xml(
        "Invoice_Defaults", start(NEW_INVOICE), extra="<flowTestDataSources><apexClass>D"
        "</apexClass><dataSourceType>ApexClass</dataSourceType></flowTestDataSources>"))
    # the metadata format's name for a Flow Test, in a flowtests folder
    (project / "force-app" / "main" / "default" / "flowtests" / "Old_Style.flowtest").write_text(
        flowtest_xml("Invoice_Defaults", start(NEW_INVOICE)), encoding="utf-8")
    result = run(pytester, str(project / "force-app"), "-rs", "-v")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    out = result.stdout.str()
    assert "Old_Style.flowtest::Old_Style PASSED" in out
    assert "Sets_Due_Date.flowtest-meta.xml::Sets_Due_Date PASSED" in out
    assert "test data from an Apex class" in out
    failure = out[out.index("Wrong_Amount"):]
    assert "assertions[0]: The amount changed." in failure
    assert "expected:" in failure and "actual:" in failure and "120.5" in failure
    assert "Set_Due_Date" in failure                                  # the trace


def test_the_examples_flow_tests_pass() -> None:
    tests = sorted(EXAMPLE_TESTS.glob("*.flowtest-meta.xml"))
    assert len(tests) >= 3
    flows = {load_flowtest(t).flow_name for t in tests}
    assert {"Invoice_Defaults", "Announce_Payment"} <= flows
    for path in tests:
        outcome = run_flowtest(path)
        assert outcome.passed, render_failure(load_flowtest(path), outcome)


# -- convert: Flow Test XML <-> *.flowtest.yaml ----------------------------------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLE_TESTS.glob("*.flowtest-meta.xml")), ids=lambda p: p.name)
def test_a_flow_test_converts_to_yaml_and_back_unchanged(tmp_path: Path, path: Path) -> None:
    assert main(["convert", str(path), "-o", str(tmp_path / "yaml") + "/"]) == 0
    written = tmp_path / "yaml" / path.name.replace(".flowtest-meta.xml", ".flowtest.yaml")
    assert main(["convert", str(written), "-o", str(tmp_path / "xml") + "/"]) == 0
    back = tmp_path / "xml" / path.name
    assert back.read_bytes() == path.read_bytes()


YAML_UPDATE_TEST = """\
flow: Announce_Payment
cases:
  Announces_A_Payment:
    label: Announces a payment
    description: An invoice that becomes Paid is announced.
    prior: {Name: INV-7, Status__c: Sent, Amount__c: 10.00}
    record: {Status__c: Paid}
    expect:
      assertions:
        - {left: $Record.Status__c, op: IsChanged, right: true, errorMessage: not changed}
        - left: Publish
          op: WasVisited
          right: true
  Create_Is_Not_Update:
    prior: {Name: INV-8, Status__c: Paid}
    record: {Status__c: Paid}
    expect:
      assertions:
        - {left: Publish, op: WasVisited, right: false}
"""


def test_a_yaml_flow_test_with_records_becomes_flow_tests_of_salesforce(
        project: Path, tmp_path: Path) -> None:
    source = project / "payments.flowtest.yaml"
    source.write_text(YAML_UPDATE_TEST, encoding="utf-8")
    assert run_flowtest(source).passed
    out = project / "force-app" / "main" / "default" / "flowtests"
    assert main(["convert", str(source), "-o", str(out) + "/"]) == 0
    written = out / "Announces_A_Payment.flowtest-meta.xml"
    text = written.read_text(encoding="utf-8")
    assert "<type>InputTriggeringRecordInitial</type>" in text
    assert "<type>InputTriggeringRecordUpdated</type>" in text
    assert "<label>Announces a payment</label>" in text
    outcome = run_flowtest(written)
    assert outcome.passed, render_failure(load_flowtest(written), outcome)
    assert (out / "Create_Is_Not_Update.flowtest-meta.xml").is_file()


def test_what_a_flow_test_cannot_hold_is_refused_with_its_line(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = project / "rich.flowtest.yaml"
    source.write_text(textwrap.dedent("""\
        flow: Invoice_Defaults
        cases:
          rich:
            record: {Name: X}
            maxElements: 10
            expect:
              outputs: {x: 1}
        """), encoding="utf-8")
    assert main(["convert", str(source), "-o", str(project / "out") + "/"]) == 2
    err = capsys.readouterr().err
    assert "rich.flowtest.yaml:5:" in err and "cannot hold a limit on executed elements" in err
    assert "rich.flowtest.yaml:7:" in err and "expect.outputs cannot be written" in err
    assert not (project / "out" / "rich.flowtest-meta.xml").exists()


# -- written Flow Tests are valid FlowTest metadata -------------------------------------------------

@pytest.fixture(scope="module")
def flowtest_schema() -> Any:
    return salesforce_schema()


def test_written_flow_tests_are_valid_flowtest_metadata(project: Path, tmp_path: Path,
                                                        flowtest_schema: Any) -> None:
    source = project / "payments.flowtest.yaml"
    source.write_text(YAML_UPDATE_TEST, encoding="utf-8")
    out = tmp_path / "xml"
    assert main(["convert", str(source), "-o", str(out) + "/"]) == 0
    for path in EXAMPLE_TESTS.glob("*.flowtest-meta.xml"):
        assert main(["convert", str(path), "-o", str(tmp_path / "yaml") + "/"]) == 0
    assert main(["convert", str(tmp_path / "yaml"), "-o", str(out) + "/", "--to", "xml"]) == 0
    written = sorted(out.glob("*.flowtest-meta.xml"))
    assert len(written) >= 4
    for path in written:
        assert [str(e) for e in flowtest_schema.iter_errors(str(path))] == [], path.name


def test_the_schema_check_can_fail(flowtest_schema: Any) -> None:
    wrong = flowtest_xml("X").replace("<label>A test</label>", "")      # label is required
    assert list(flowtest_schema.iter_errors(wrong))


def test_converting_a_project_converts_its_flow_tests_and_leaves_flowengines_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(INVOICING), "-o", str(tmp_path / "yaml")]) == 0
    names = sorted(p.name for p in (tmp_path / "yaml").glob("*.flowtest.yaml"))
    assert names == sorted(p.name.replace("-meta.xml", ".yaml")
                           for p in EXAMPLE_TESTS.glob("*.flowtest-meta.xml"))
    assert f"converted 5 flows and {len(names)} flow tests" in capsys.readouterr().err
