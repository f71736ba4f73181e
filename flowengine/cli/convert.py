"""`flowengine convert IN -o OUT`: flow files and flow tests between flowengine's YAML and
Salesforce's XML (`.flow-meta.xml`; `.flowtest-meta.xml`, one file per test case)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from flowengine.cli.util import fail

HELP = "convert flows and flow tests between YAML and Salesforce's XML, both ways"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "convert", help=HELP,
        description="Convert a flow file, or every flow in a directory, between flowengine's YAML "
                    "and Salesforce's XML (.flow-meta.xml; .flow is read too). A YAML flow becomes "
                    "NAME.flow-meta.xml, written as Salesforce's retrieve writes it, ready to deploy "
                    "with the Salesforce CLI; a Salesforce flow becomes NAME.yaml. What flowengine "
                    "does not interpret is kept under 'xml:' and written back, so a retrieved flow "
                    "converted to YAML and back comes out the same. Flow tests convert too: a "
                    "Salesforce Flow Test (NAME.flowtest-meta.xml) becomes NAME.flowtest.yaml, "
                    "and each case of a .flowtest.yaml becomes CASE.flowtest-meta.xml.",
        epilog="Examples: flowengine convert force-app/main/default/flows -o flows/ ; "
               "flowengine convert flows/cancel.yaml -o force-app/main/default/flows/")
    p.add_argument("source", metavar="IN", help="a flow file (.yaml, .flow-meta.xml, .flow), a "
                   "flow test (.flowtest.yaml, .flowtest-meta.xml) or a directory (a Salesforce "
                   "DX project is searched in its package directories)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="the file to write, or a directory (created if missing) to write into")
    p.add_argument("--to", choices=("yaml", "xml"), default=None,
                   help="the format to write (default: the other one of each input's)")
    p.set_defaults(handler=convert_command)


def convert_command(args: argparse.Namespace) -> int:
    from flowengine.formats.discover import XML_SUFFIXES, expand_paths

    source = Path(args.source)
    if not source.exists():
        fail(f"{args.source}: no such file or directory")
    files = [Path(f) for f in expand_paths([source])]
    tests = flowtest_files(source)
    if source.is_file() and is_flowtest_file(source):
        files = []
    if not files and not tests:
        fail(f"no flow files or flow tests found in {args.source}")
    out = Path(args.output)
    to_dir = source.is_dir() or out.is_dir() or args.output.endswith(("/", os.sep))
    if not to_dir and len(files) + len(tests) > 1:
        fail(f"{args.source} holds {len(files) + len(tests)} flows and flow tests: -o must name "
             "a directory")
    written, failed, tests_written = 0, 0, 0
    for file in files + tests:
        is_xml = file.name.lower().endswith(XML_SUFFIXES) or is_flowtest_xml(file)
        target_format = args.to or ("yaml" if is_xml else "xml")
        try:
            if file in tests:
                outputs = convert_flowtest(file, target_format)
            else:
                text, name = convert_file(file, target_format)
                outputs = [(text, name + (".flow-meta.xml" if target_format == "xml" else ".yaml"))]
            if not to_dir and len(outputs) > 1:
                fail(f"{file} holds {len(outputs)} test cases, each written as a Flow Test of its "
                     "own: -o must name a directory")
        except Exception as exc:
            from flowengine.errors import FlowError

            if not isinstance(exc, FlowError):
                raise
            failed += 1
            for line in _problem_lines(exc):
                print(f"error: {line}", file=sys.stderr)
            continue
        for text, file_name in outputs:
            target = out / file_name if to_dir else out
            if target.resolve() == file.resolve():
                fail(f"{target} is the input file: write the conversion elsewhere")
            _write(target, text)
            if file in tests:
                tests_written += 1
            else:
                written += 1
            print(f"{file} → {target}", file=sys.stderr)
    done = [f"{n} {noun}{'s' if n != 1 else ''}" for n, noun in
            ((written, "flow"), (tests_written, "flow test")) if n or noun == "flow" and not tests]
    print(f"converted {' and '.join(done) or 'nothing'}"
          + (f"; {failed} could not be converted" if failed else ""), file=sys.stderr)
    return 2 if failed else 0


def is_flowtest_file(path: Path) -> bool:
    from flowengine.formats.discover import TEST_SUFFIXES

    return path.name.lower().endswith(TEST_SUFFIXES) or is_flowtest_xml(path)


def flowtest_files(source: Path) -> list[Path]:
    """The flow tests `source` is or holds, sorted. In a directory: Salesforce's Flow Tests, and
    the `*.flowtest.yaml` files that name their flow by its API name as a Flow Test does;
    flowengine's own tests of a flow file (with mocks, expected outputs...) stay as they are."""
    if source.is_file():
        return [source] if is_flowtest_file(source) else []
    return sorted(p for p in source.rglob("*") if p.is_file() and is_flowtest_file(p)
                  and (is_flowtest_xml(p) or _names_flow_by_api_name(p)))


def _names_flow_by_api_name(path: Path) -> bool:
    from flowengine.errors import FlowError
    from flowengine.formats.yaml import read_yaml
    from flowengine.testing.reader import API_NAME

    try:
        data = read_yaml(path).data
    except FlowError:
        return True             # converting it reports why it cannot be read
    flow = data.get("flow") if isinstance(data, dict) else None
    return isinstance(flow, str) and API_NAME.fullmatch(flow.strip()) is not None


def is_flowtest_xml(path: Path) -> bool:
    from flowengine.formats.sftest import is_flowtest_xml as is_xml

    return is_xml(path)


def convert_flowtest(file: Path, target_format: str) -> list[tuple[str, str]]:
    """A flow test in `target_format`: (text, file name) for each file to write. A Salesforce
    Flow Test becomes one `NAME.flowtest.yaml`; each case of a `.flowtest.yaml` becomes a
    `CASE.flowtest-meta.xml` (a Flow Test is one test). What a Flow Test cannot hold (mocks,
    expectations other than assertions...) is refused, with its line."""
    from flowengine.formats import sftest
    from flowengine.formats.yaml import dump_flow_yaml, read_yaml
    from flowengine.testing.reader import parse_flowtest

    salesforce = is_flowtest_xml(file)
    doc = sftest.load(file) if salesforce else read_yaml(file)
    test = parse_flowtest(doc, salesforce=salesforce)     # every problem, with its line
    data: dict[str, Any] = doc.data
    if target_format == "yaml":
        name = sftest.flowtest_name_of(file) if salesforce else file.name.split(".")[0]
        return [(dump_flow_yaml(data), f"{name}.flowtest.yaml")]
    flow_api_name = test.flow_name or _flow_api_name(test.flow_path)
    out = []
    for name, case in data["cases"].items():
        text = sftest.to_flowtest_xml(str(name), flow_api_name, case or {}, doc,
                                      ("cases", name))
        out.append((text, f"{name}.flowtest-meta.xml"))
    return out


def _flow_api_name(flow_file: Path | None) -> str:
    """The API name of the flow in `flow_file` (a FlowTest names its flow so)."""
    from flowengine.formats import load_source

    assert flow_file is not None
    data = load_source(flow_file).data
    return str(data.get("flow") if isinstance(data, dict) else flow_file.stem)


def convert_file(file: Path, target_format: str) -> tuple[str, str]:
    """The text of `file` in `target_format` ("yaml" or "xml"), and the flow's name."""
    from flowengine.formats import load_source

    doc = load_source(file)
    if target_format == "yaml":
        from flowengine.formats.yaml import dump_flow_yaml

        data = doc.data if isinstance(doc.data, dict) else {}
        return dump_flow_yaml(data), str(data.get("flow") or file.stem)
    from flowengine.errors import ValidationError
    from flowengine.formats.sfxml import to_xml_text
    from flowengine.model.structure import build_model

    structure = build_model(doc)
    errors = [p for p in structure.problems if p.severity == "error"]
    if errors:
        raise ValidationError(errors)
    return to_xml_text(structure.model), structure.model.flow


def _write(target: Path, text: str) -> None:
    from flowengine.output import WriteError, write_atomically

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, text)
    except (OSError, WriteError) as exc:
        fail(f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}")


def _problem_lines(exc: Exception) -> list[str]:
    problems = [p for p in getattr(exc, "problems", None) or [] if p.severity == "error"]
    return [f"{p.location()}: {p.message}" + (f" [{p.path}]" if p.path else "")
            for p in problems] or [str(exc)]
