"""The short paths of bulk loads give what the long ones give: records of a known shape (their
field names, in order) against records that are not plain dicts (which take the long way), save
hooks that say they do not act on an object, runs of generated Ids."""
from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from helpers import ORG_SCHEMAS

from flowengine.errors import OrgError
from flowengine.org import ids, open_org
from flowengine.org.fixtures import export_records, load_records


def _not_dicts(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    """The same fixture with every record a read-only mapping: the long way."""
    return {name: [types.MappingProxyType(r) for r in records] for name, records in data.items()}


def _load(tmp_path: Path, name: str, data: Any) -> tuple[str, Any]:
    store = open_org(tmp_path / f"{name}.sqlite", ORG_SCHEMAS)
    try:
        try:
            loaded = load_records(store, data, source="fixture")
        except OrgError as exc:
            return "error", (exc.message, exc.error_code, export_records(store))
        return "loaded", (loaded, export_records(store))
    finally:
        store.close()


CASES = {
    "good": {
        "InvoiceLine": [{"InvoiceId": "a01XX0000000100", "Quantity": q, "UnitPrice": 2}
                        for q in range(5)],
        "Invoice": [{"Id": "a01XX0000000100", "Name": "INV-1"},
                    {"Id": "a01XX0000000101YAA", "Name": "INV-2", "Paid": 3}],
        "Counter": [{"Name": f"c{i}", "Value": i} for i in range(10)],
    },
    "bad values, ids and fields of a known shape": {
        "Counter": [{"Name": "a", "Value": 1}, {"Name": "b", "Value": "x"},
                    {"Name": "c" * 300, "Value": 2}, {"Name": "d", "Value": 4},
                    {"Id": "a03XX0000000001", "Name": "e"}, {"Id": "a03XX0000000001", "Name": "f"},
                    {"Id": "a03XX000000000!", "Name": "g"}, {"Id": "a01XX0000000001", "Name": "h"},
                    {"Id": "a03XX0000000002", "Name": "i"}, {"Name": "j", "Colour": "red"},
                    {"Name": "k", "Value": 1}, {"Name": "l", "Colour": "blue"}],
    },
    "read-only fields and bad references": {
        "Invoice": [{"Name": "a", "Total": 3}, {"Name": "b"}, {"Name": "c", "Total": 4}],
        "InvoiceLine": [{"InvoiceId": "a01XX0000000999", "Quantity": 1},
                        {"InvoiceId": "bad", "Quantity": 1},
                        {"InvoiceId": "a03XX0000000001", "Quantity": 1}],
    },
    "a missing required field": {
        "Invoice": [{"Name": "a"}, {"Paid": 2}, {"Name": "c"}],
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_records_of_a_known_shape_load_as_other_mappings_do(tmp_path: Path, case: str) -> None:
    data = CASES[case]
    short = _load(tmp_path, "short", data)
    long = _load(tmp_path, "long", _not_dicts(data))
    assert short == long
    assert (short[0] == "loaded") == (case == "good")


def test_load_records_leaves_the_callers_records_as_they_were(tmp_path: Path) -> None:
    data = {"Counter": [{"Id": "a03XX0000000005", "Name": "a", "Value": 1}],
            "InvoiceLine": [{"InvoiceId": "a01XX0000000100", "Quantity": 1}],
            "Invoice": [{"Id": "a01XX0000000100", "Name": "INV-1"}]}
    before = {k: [dict(r) for r in v] for k, v in data.items()}
    assert _load(tmp_path, "kept", data)[0] == "loaded"
    assert data == before


class _Recording:
    """A save hook that records what it was given, and may say which objects it acts on."""

    def __init__(self, saves: set[str] | None) -> None:
        self.calls: list[tuple[str, str, int]] = []
        if saves is not None:
            self.saves = lambda object_name: object_name in saves

    def before_save(self, tx: Any, object_name: str, changes: Any) -> None:
        self.calls.append(("before", object_name, len(changes)))

    def after_save(self, tx: Any, object_name: str, changes: Any) -> None:
        self.calls.append(("after", object_name, len(changes)))

    def before_delete(self, tx: Any, object_name: str, rows: Any) -> None:
        pass


@pytest.mark.parametrize("saves", [None, {"Counter"}, set()])
def test_a_hook_that_does_not_save_an_object_is_not_called_for_it(tmp_path: Path,
                                                                  saves: set[str] | None) -> None:
    hook = _Recording(saves)
    store = open_org(tmp_path / "org.sqlite", ORG_SCHEMAS, hooks=[hook])
    try:
        with store.begin() as tx:
            tx.insert_many("Counter", [{"Name": "a"}, {"Name": "b"}])
            tx.insert_many("Invoice", [{"Name": "INV-1"}])
            with pytest.raises(OrgError, match="Invoice.Name: is required, found no value "
                                               r"\(record \[1\] of the batch\)"):
                tx.insert_many("Invoice", [{"Name": "x"}, {"Paid": 1}])
    finally:
        store.close()
    objects = {"Counter", "Invoice"} if saves is None else saves
    assert hook.calls == [(when, name, count) for name, count in
                          (("Counter", 2), ("Invoice", 1)) if name in objects
                          for when in ("before", "after")] + \
        ([("before", "Invoice", 2)] if "Invoice" in objects else [])


@pytest.mark.parametrize("prefix", ["001", "a0B", "zzz", "ABC", "1Os"])
@pytest.mark.parametrize("first", [1, 99, 10 ** 10 - 5])
def test_a_run_of_generated_ids_is_make_id_of_each(prefix: str, first: int) -> None:
    assert ids.make_ids(prefix, first, 5) == [ids.make_id(prefix, n)
                                              for n in range(first, first + 5)]
    with pytest.raises(ValueError, match="out of range"):
        ids.make_ids(prefix, 10 ** 10 - 2, 5)


# -- YAML export: records written as the dumper writes them ---------------------------------------

def _dumped_chunks(objects: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """What `write_chunks("yaml", ...)` wrote when each chunk was dumped by PyYAML."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump(data: Any) -> str:
        text: str = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True,
                              width=1000)
        return text

    chunks, empty = [], True
    for name, records in objects:
        for start in range(0, len(records), 1000):
            batch = records[start:start + 1000]
            chunks.append(dump({name: batch}) if start == 0 else dump(batch))
        empty = empty and not records
    return chunks + ([dump({})] if empty else [])


TEXTS = ["", " ", "a ", " a", "-", "- a", "-a", "?", "? a", ":", ": a", ":a", "a:", "a: b", "a:b",
         "a #b", "a#b", "#a", "---", "--- a", "...", "....", "yes", "No", "ON", "off", "y", "n",
         "Y", "null", "Null", "~", "true", "FALSE", "1", "01", "0x1f", "1.5", "1e5", "1_000",
         "2026-01-31", "2026-01-31T10:00:00Z", "12:30", ".inf", ".nan", "-.inf", "=", "<<",
         "it's", "'a'", '"a"', "a'b", "x" * 900, "x " * 500, "a  b", "a\tb", "café", "a\nb",
         "\ufeffx", "!x", "&a", "*a", "%a", "@a", "`a", "|a", ">a", "a|", "a>", "[a]", "{a}",
         "a,b", "a, b", "+1", "-1", "+a", ".a", "._", "_a", "0o17", "0b1", "1:30:00",
         "190:20:30", "6.8523015e+5", "\U0001F4A5", "a\x85b", "a\u2028b"]
VALUES = [*TEXTS, None, True, False, 0, -5, 10 ** 20, 0.5, -1e-7, 1e16, 123456.789, 1.0,
          float("inf"), float("-inf"), float("nan"), 2.5e-300]


def test_yaml_export_writes_what_the_dumper_writes() -> None:
    import random
    import string

    from flowengine.org.fixture_files import write_chunks

    rnd = random.Random(7)
    alphabet = string.ascii_letters[:6] + string.digits[:4] + " :#-?'\"!&*,[]{}|>%@`.~=<+_/\\" \
        "\t\né€\U0001F4A5\x85\u2028"
    keys = ["Name", "Id", "Yes", "No", "on", "null", "a_b", "X1", "y" * 120]
    objects: list[tuple[str, list[dict[str, Any]]]] = []
    for name in ["Account", "Yes", "No", "y", "Contact"]:
        records: list[dict[str, Any]] = []
        for _ in range(2100):
            record = {}
            for key in rnd.sample(keys, rnd.randint(1, 5)):
                record[key] = rnd.choice(VALUES) if rnd.random() < 0.6 else \
                    "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
            records.append(record)
        records.append({})
        objects.append((name, records))
    objects += [("One", [{"V": value}]) for value in VALUES]
    assert list(write_chunks("yaml", objects)) == _dumped_chunks(objects)
    assert list(write_chunks("yaml", [])) == _dumped_chunks([]) == ["{}\n"]
