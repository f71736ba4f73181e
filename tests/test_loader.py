"""The loader (spec 1, 2 and 6): YAML → data with line/column marks, hostile input bounded."""
from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from flowengine.errors import LoadError, ValidationError
from flowengine.formats import read_text
from flowengine.formats.yaml import MAX_DEPTH, MAX_NODES, parse_yaml, read_yaml


def parse(text: str):
    return parse_yaml(textwrap.dedent(text).lstrip("\n"), "flow.yaml")


def load_error(text: str) -> LoadError:
    with pytest.raises(LoadError) as info:
        parse(text)
    return info.value


# -- data and marks -------------------------------------------------------------------------------

def test_values_keys_and_their_marks() -> None:
    doc = parse("""
        flow: Demo
        variables:
          quantity: {type: Number, default: 2.50}
          when: {type: Date, default: 2026-01-31}
        list:
          - first
          - 3
    """)
    assert doc.data["variables"]["quantity"]["default"] == Decimal("2.50")
    assert isinstance(doc.data["variables"]["quantity"]["default"], Decimal)
    assert doc.data["variables"]["when"]["default"] == dt.date(2026, 1, 31)
    assert doc.data["list"] == ["first", 3]
    assert doc.marks[("flow",)] == (1, 7)
    assert doc.key_marks[("variables", "quantity")] == (3, 3)
    assert doc.marks[("variables", "quantity", "default")] == (3, 37)
    assert doc.marks[("list", 1)] == (7, 5)
    # a path without a mark of its own falls back to its nearest ancestor
    assert doc.locate(("variables", "quantity", "default", "nope")) == (3, 37)
    assert doc.locate(("variables", "quantity"), key=True) == (3, 3)


def test_keys_are_always_text_and_quoted_scalars_stay_text() -> None:
    doc = parse("""
        1: one
        true: yes
        quoted: "2.5"
        date: "2026-01-31"
    """)
    assert doc.data == {"1": "one", "true": True, "quoted": "2.5", "date": "2026-01-31"}


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfflow: Demo\n")
    assert read_yaml(path).data == {"flow": "Demo"}


# -- duplicate keys ------------------------------------------------------------------------------

def test_a_duplicate_key_is_reported_never_overwritten() -> None:
    doc = parse("""
        flow: Demo
        variables:
          total: {type: Number}
          total: {type: Text}
    """)
    [problem] = doc.problems
    assert (problem.code, problem.line, problem.column, problem.path) == \
        ("duplicate-key", 4, 3, "variables.total")
    assert problem.message.startswith("duplicate key 'total' in variables, first defined on line 3")
    assert doc.data["variables"]["total"] == {"type": "Number"}   # the first one is kept


def test_a_duplicate_key_inside_a_flow_mapping() -> None:
    doc = parse("""
        flow: Demo
        variables:
          total: {type: Number, type: Text}
    """)
    [problem] = doc.problems
    assert (problem.line, problem.column, problem.path) == (3, 25, "variables.total.type")


def test_a_duplicate_key_fails_the_flow_with_the_other_problems() -> None:
    from flowengine.api import load_flow_text

    with pytest.raises(ValidationError) as info:
        load_flow_text("flow: Demo\nflow: Again\nlabel: [x]\n", "flow.yaml")
    assert [(p.code, p.line) for p in info.value.problems] == \
        [("duplicate-key", 2), ("schema.type", 3)]


# -- unquoted merge fields -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "field", "column"), [
    ("{!quantity}", "{!quantity}", 16),
    ("{!item.quantity}", "{!item.quantity}", 16),
    ("{!$Flow.CurrentDate}", "{!$Flow.CurrentDate}", 16),
    ("{! quantity}", "{! quantity}", 16),
    ("[{!quantity}]", "{!quantity}", 17),            # not YAML: found in the parser's error
    ("{!quantity} and more", "{!quantity}", 16),     # not YAML either
])
def test_unquoted_merge_fields_are_recognised(value: str, field: str, column: int) -> None:
    error = load_error(f"""
        flow: Demo
        elements:
          A:
            type: Assignment
            assignments:
              - ref: total
                value: {value}
    """)
    problem = error.problem
    assert (problem.code, problem.line) == ("unquoted-merge-field", 7)
    assert problem.column == column
    assert problem.message == (f'merge fields must be quoted: found {field} without quotes, write '
                               f'"{field}" (unquoted, YAML reads {{ as the start of a mapping)')


def test_an_unquoted_merge_field_inside_a_flow_mapping() -> None:
    error = load_error("""
        flow: Demo
        elements:
          A: {type: Assignment, assignments: [{ref: total, op: Assign, value: {!qty}}]}
    """)
    assert (error.problem.line, error.problem.column) == (3, 71)
    assert "found {!qty} without quotes" in error.problem.message


def test_quoted_merge_fields_and_text_with_merge_fields_load_as_text() -> None:
    doc = parse("""
        a: "{!quantity}"
        b: Canceled {!qty} of {!id}
    """)
    assert doc.data == {"a": "{!quantity}", "b": "Canceled {!qty} of {!id}"}


# -- tags -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("x: !!python/object:os.system {}", "!!python/object:os.system"),
    ("x: !!python/object/apply:os.system ['echo hi']", "!!python/object/apply:os.system"),
    ("x: !!python/name:os.system ''", "!!python/name:os.system"),
    ("x: !!binary aGVsbG8=", "!!binary"),
    ("x: !!set {a: null}", "!!set"),
    ("x: !Ref Other", "!Ref"),
])
def test_tags_other_than_plain_data_are_refused(text: str, shown: str) -> None:
    error = load_error("flow: Demo\n" + text + "\n")
    assert (error.problem.code, error.problem.line, error.problem.column) == ("yaml", 2, 4)
    assert error.problem.message.startswith(f"YAML tag {shown} is not allowed in flow files")


def test_standard_tags_for_plain_data_are_allowed() -> None:
    assert parse("a: !!str 12\nb: !!int '3'\n").data == {"a": "12", "b": 3}


# -- hostile input -----------------------------------------------------------------------------------

def test_an_alias_bomb_is_refused() -> None:
    lines = ["flow: Demo", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    error = load_error("\n".join(lines) + "\n")
    assert error.problem.code == "limit"
    assert error.problem.message == (f"the document expands to more than {MAX_NODES:,} nodes (YAML "
                                     "aliases that multiply, a 'billion laughs' file?); refusing "
                                     "to load it")
    assert error.problem.line == 7      # where the expansion crosses the limit


def test_aliases_below_the_limit_are_expanded() -> None:
    doc = parse("base: &b {type: Number}\ncopy: *b\n")
    assert doc.data["copy"] == {"type": "Number"}


@pytest.mark.parametrize("nested", [
    "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
    "{a: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5),
])
def test_deep_nesting_is_refused(nested: str) -> None:
    error = load_error(f"flow: Demo\nx: {nested}\n")
    assert (error.problem.code, error.problem.line) == ("limit", 2)
    assert error.problem.message.startswith(f"nesting deeper than {MAX_DEPTH} levels")


def test_nesting_just_below_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1                      # the root mapping is one level
    doc = parse("x: " + "[" * depth + "]" * depth + "\n")
    node = doc.data["x"]
    for _ in range(depth - 1):
        node = node[0]
    assert node == []


def test_aliases_cannot_stack_nesting_past_the_limit() -> None:
    # each anchor nests the previous one 60 levels deeper: only aliases make it deep
    lines = ["flow: Demo", "a0: &a0 x"]
    lines += [f"a{i}: &a{i} " + "[" * 60 + f"*a{i - 1}" + "]" * 60 for i in range(1, 20)]
    error = load_error("\n".join(lines) + "\n")
    assert error.problem.code == "limit"
    assert error.problem.line == 4 and "nesting deeper than" in error.problem.message


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:                # sparse: costs no time or disk
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(LoadError) as info:
        read_text(path)
    assert info.value.problem.message == "file is 50.0 MB; flow files are limited to 10 MB"
    assert info.value.problem.file == str(path)


def test_text_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(LoadError, match=r"text is larger than 10 MB"):
        parse_yaml("flow: Demo\ndescription: " + "x" * (10 * 1024 * 1024) + "\n")


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"flow: Demo\nlabel: caf\xe9\n")
    with pytest.raises(LoadError) as info:
        read_text(path)
    assert (info.value.problem.line, info.value.problem.message) == \
        (2, "file is not UTF-8 text (byte 21)")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as info:
        read_text(tmp_path / "nope.yaml")
    assert (info.value.problem.code, info.value.problem.message) == ("file", "file not found")
    with pytest.raises(LoadError, match="is a directory, expected a flow YAML file"):
        read_yaml(tmp_path)


# -- malformed YAML ------------------------------------------------------------------------------

def test_several_documents_are_refused() -> None:
    error = load_error("flow: A\n---\nflow: B\n")
    assert (error.problem.line, error.problem.message) == \
        (2, "expected one YAML document, found several ('---')")


def test_a_list_as_a_mapping_key_is_refused_with_its_line() -> None:
    error = load_error("flow: Demo\n? [a, b]\n: 1\n")
    assert (error.problem.line, error.problem.column) == (2, 3)
    assert error.problem.message.startswith("a mapping or list cannot be used as a mapping key")


def test_an_unknown_alias() -> None:
    error = load_error("flow: Demo\nx: *nothing\n")
    assert (error.problem.line, error.problem.message) == (2, "unknown alias *nothing")


def test_invalid_yaml_points_at_the_problem() -> None:
    error = load_error("flow: Demo\nlabel: 'unterminated\n")
    assert (error.problem.code, error.problem.line) == ("yaml", 3)
    assert error.problem.message == ("invalid YAML: while scanning a quoted scalar found "
                                     "unexpected end of stream")


# -- positions inside text scalars (for errors inside formulas) ---------------------------------------

@pytest.mark.parametrize(("yaml_text", "expected"), [
    ('f: "a + * 2"\n', (1, 9)),
    ("f: 'it''s + * 2'\n", (1, 13)),
    ('f: "\\"q\\" + * 2"\n', (1, 13)),
    ("f: a + * 2\n", (1, 8)),
    ("f: |\n  IF(x,\n     a + * 2)\n", (3, 10)),
    ("f: >-\n  IF(x,\n     a + * 2)\n", (3, 10)),
    ('f: "IF(x,\n     a + * 2)"\n', (2, 10)),
])
def test_an_offset_inside_a_scalar_maps_to_its_line_and_column(yaml_text: str,
                                                               expected: tuple[int, int]) -> None:
    doc = parse_yaml(yaml_text)
    value = doc.data["f"]
    assert doc.position_in(("f",), value.index("*")) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("2026-02-30", "cannot read '2026-02-30' as a date: day is out of range for month (quote it "
                   "to mean text)"),
])
def test_plain_scalars_that_yaml_cannot_read(value: str, message: str) -> None:
    error = load_error(f"flow: Demo\nlabel: {value}\n")
    assert (error.problem.line, error.problem.column, error.problem.message) == (2, 8, message)


def test_a_whole_number_longer_than_python_converts_is_still_a_number() -> None:
    from flowengine.api import load_flow_text
    from flowengine.errors import FlowError

    with pytest.raises(FlowError) as info:
        load_flow_text("flow: Demo\nlabel: " + "9" * 5000 + "\n")
    assert "2:8: error: expected text for 'label', found the number 99999" in str(info.value)
