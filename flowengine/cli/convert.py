"""`flowengine convert IN -o OUT`: flow files between flowengine's YAML and Salesforce's XML."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from flowengine.cli.util import fail

HELP = "convert flows between YAML and Salesforce's .flow-meta.xml, both ways"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "convert", help=HELP,
        description="Convert a flow file, or every flow in a directory, between flowengine's YAML "
                    "and Salesforce's XML (.flow-meta.xml; .flow is read too). A YAML flow becomes "
                    "NAME.flow-meta.xml, written as Salesforce's retrieve writes it, ready to deploy "
                    "with the Salesforce CLI; a Salesforce flow becomes NAME.yaml. What flowengine "
                    "does not interpret is kept under 'xml:' and written back, so a retrieved flow "
                    "converted to YAML and back comes out the same.",
        epilog="Examples: flowengine convert force-app/main/default/flows -o flows/ ; "
               "flowengine convert flows/cancel.yaml -o force-app/main/default/flows/")
    p.add_argument("source", metavar="IN", help="a flow file (.yaml, .flow-meta.xml, .flow) or a "
                   "directory (a Salesforce DX project is searched in its package directories)")
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
    if not files:
        fail(f"no flow files found in {args.source}")
    out = Path(args.output)
    to_dir = source.is_dir() or out.is_dir() or args.output.endswith(("/", os.sep))
    if not to_dir and len(files) > 1:
        fail(f"{args.source} holds {len(files)} flows: -o must name a directory")
    written, failed = 0, 0
    for file in files:
        is_xml = file.name.lower().endswith(XML_SUFFIXES)
        target_format = args.to or ("yaml" if is_xml else "xml")
        try:
            text, name = convert_file(file, target_format)
        except Exception as exc:
            from flowengine.errors import FlowError

            if not isinstance(exc, FlowError):
                raise
            failed += 1
            for line in _problem_lines(exc):
                print(f"error: {line}", file=sys.stderr)
            continue
        suffix = ".flow-meta.xml" if target_format == "xml" else ".yaml"
        target = out / (name + suffix) if to_dir else out
        if target.resolve() == file.resolve():
            fail(f"{target} is the input file: write the conversion elsewhere")
        _write(target, text)
        written += 1
        print(f"{file} → {target}", file=sys.stderr)
    noun = "flow" if written == 1 else "flows"
    print(f"converted {written} {noun}" + (f"; {failed} could not be converted" if failed else ""),
          file=sys.stderr)
    return 2 if failed else 0


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
