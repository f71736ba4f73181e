"""How long pytest takes to run 100 Salesforce Flow Tests (`*.flowtest-meta.xml`).

Writes, in a temporary folder, a copy of the invoicing example project (flows/invoicing) with 100
generated Flow Tests of its two record-triggered flows: 50 create tests of Invoice_Defaults (a
before-save flow) and 50 update tests of Announce_Payment (an after-save flow that publishes a
platform event into a fresh org), each with three assertions. Beside it, the yardstick: a file of
100 trivial pytest tests. Each is run by `python -m pytest -q` in a fresh process, taking turns;
the table gives the median wall time of the runs (interpreter start and collection included).

    python bench/bench_flowtests.py              # 5 runs of each
    python bench/bench_flowtests.py --runs 9     # steadier medians on a busy machine
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVOICING = ROOT / "flows" / "invoicing"
COUNT = 100

CREATE_TEST = """\
<?xml version="1.0" encoding="UTF-8"?>
<FlowTest xmlns="http://soap.sforce.com/2006/04/metadata">
    <flowApiName>Invoice_Defaults</flowApiName>
    <label>Due date {n}</label>
    <testPoints>
        <elementApiName>Start</elementApiName>
        <parameters>
            <leftValueReference>$Record</leftValueReference>
            <type>InputTriggeringRecordInitial</type>
            <value>
                <sobjectValue>{{"Name":"INV-{n}","Amount__c":{n}.50,"Status__c":"Draft"}}</sobjectValue>
            </value>
        </parameters>
    </testPoints>
{finish}</FlowTest>
"""

UPDATE_TEST = """\
<?xml version="1.0" encoding="UTF-8"?>
<FlowTest xmlns="http://soap.sforce.com/2006/04/metadata">
    <flowApiName>Announce_Payment</flowApiName>
    <label>Payment {n}</label>
    <testPoints>
        <elementApiName>Start</elementApiName>
        <parameters>
            <leftValueReference>$Record</leftValueReference>
            <type>InputTriggeringRecordInitial</type>
            <value>
                <sobjectValue>{{"Id":"aIZDM00000000014AA","Name":"INV-{n}","Amount__c":{n},"Status__c":"Sent"}}</sobjectValue>
            </value>
        </parameters>
        <parameters>
            <leftValueReference>$Record</leftValueReference>
            <type>InputTriggeringRecordUpdated</type>
            <value>
                <sobjectValue>{{"Id":"aIZDM00000000014AA","Name":"INV-{n}","Amount__c":{n},"Status__c":"Paid"}}</sobjectValue>
            </value>
        </parameters>
    </testPoints>
{finish}</FlowTest>
"""

ASSERTION = """\
        <assertions>
            <conditions>
                <leftValueReference>{left}</leftValueReference>
                <operator>{op}</operator>
                <rightValue>
                    <{kind}>{value}</{kind}>
                </rightValue>
            </conditions>
        </assertions>
"""


def finish(*assertions: tuple[str, str, str, str]) -> str:
    """The Finish test point with an assertion of one condition per (left, op, kind, value)."""
    return ("    <testPoints>\n" + "".join(ASSERTION.format(left=left, op=op, kind=kind, value=value)
                                       for left, op, kind, value in assertions)
            + "        <elementApiName>Finish</elementApiName>\n    </testPoints>\n")


CREATE_FINISH = finish(("$Record.Due_Date__c", "IsNull", "booleanValue", "false"),
                       ("$Record.Amount__c", "EqualTo", "numberValue", "{n}.5"),
                       ("Set_Due_Date", "WasVisited", "booleanValue", "true"))
UPDATE_FINISH = finish(("$Record.Status__c", "IsChanged", "booleanValue", "true"),
                       ("Publish", "WasVisited", "booleanValue", "true"),
                       ("failure", "IsNull", "booleanValue", "true"))


def write_flow_tests(folder: Path) -> Path:
    """The invoicing project with COUNT generated Flow Tests instead of its own tests."""
    project = folder / "invoicing"
    shutil.copytree(INVOICING, project, ignore=shutil.ignore_patterns("*.flowtest*", "*.sqlite"))
    tests = project / "force-app" / "main" / "default" / "flowtests"
    tests.mkdir(exist_ok=True)
    for n in range(1, COUNT + 1):
        template, points = (CREATE_TEST, CREATE_FINISH) if n % 2 else (UPDATE_TEST, UPDATE_FINISH)
        text = template.replace("{finish}", points.replace("{n}", str(n))).format(n=n)
        (tests / f"Test_{n:03}.flowtest-meta.xml").write_text(text, encoding="utf-8")
    return tests


def write_trivial_tests(folder: Path) -> Path:
    """COUNT trivial pytest tests: the cost of pytest itself."""
    path = folder / "trivial" / "test_trivial.py"
    path.parent.mkdir()
    path.write_text("".join(f"def test_{n:03}():\n    assert {n} == {n}\n\n"
                            for n in range(1, COUNT + 1)), encoding="utf-8")
    return path.parent


def timed_run(target: Path) -> float:
    installed = any(ep.value.startswith("flowengine.testing.plugin")
                    for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "flowengine.testing.plugin"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
               "--rootdir", str(target), str(target)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=target)
    elapsed = time.perf_counter() - start
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    if done.returncode != 0 or f"{COUNT} passed" not in last:
        sys.exit(f"pytest did not pass {COUNT} tests in {target}:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flow_tests = write_flow_tests(Path(tmp))
        trivial = write_trivial_tests(Path(tmp))
        times: dict[str, list[float]] = {"flow": [], "trivial": []}
        for _ in range(args.runs):               # taking turns: both see the same load
            times["trivial"].append(timed_run(trivial))
            times["flow"].append(timed_run(flow_tests))
    flow, base = statistics.median(times["flow"]), statistics.median(times["trivial"])
    print(f"{COUNT} tests, median of {args.runs} runs (wall time, a fresh process each)\n")
    print("| run | seconds | ms per test |")
    print("|---|---:|---:|")
    print(f"| {COUNT} trivial pytest tests (yardstick) | {base:.2f} | {base * 1000 / COUNT:.1f} |")
    print(f"| {COUNT} Flow Tests | {flow:.2f} | {flow * 1000 / COUNT:.1f} |")
    print(f"| difference: what the Flow Tests add | {flow - base:.2f} | "
          f"{(flow - base) * 1000 / COUNT:.1f} |")


if __name__ == "__main__":
    main()
