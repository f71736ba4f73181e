"""The contract of `select`: every filter operator, logic, nulls, letter case, order, limit,
fields and long IN lists — what every backend must answer, in the database."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from org_backends import Backend

from flowengine.errors import OrgError
from flowengine.org.base import OrgStore, OrgTransaction
from flowengine.org.fieldtypes import make_field
from flowengine.org.query import RecordFilter, Sort
from flowengine.org.schema import ObjectSchema

F = RecordFilter
THING = ObjectSchema("Thing", "t01", (
    make_field("Name", "Text", length=80),
    make_field("Code", "Text", length=20),
    make_field("Amount", "Currency"),
    make_field("Score", "Number", precision=18, scale=4),
    make_field("Active", "Checkbox"),
    make_field("Due", "Date"),
    make_field("Seen", "DateTime"),
    make_field("Stage", "Picklist", picklist=("New", "Done"), restricted=True),
    make_field("ParentId", "Lookup", reference_to="Thing"),
))
EVENT = ObjectSchema("Ping__e", "e01", (make_field("Note__c", "Text", length=20),),
                     is_event=True)
# name, Code, Amount, Score, Active, Due, Stage
ROWS = [
    ("alpha", "A-1", "10", "2.5", True, "2026-01-01", "New"),
    ("Beta", "b_2", "9.99", "2.50", False, "2026-02-01", "Done"),
    ("gamma", "C%3", "100", "-1", True, None, "New"),
    ("Delta", None, None, None, False, "2025-12-31", None),
    ("Ärger", "ä-5", "0", "0", False, "2026-01-01", "Done"),
]


@pytest.fixture
def things(backend: Backend) -> OrgStore:
    store = backend.open([THING, EVENT])
    with store.begin() as tx:
        ids = tx.insert_many("Thing", [
            {"Name": n, "Code": c, "Amount": a, "Score": s, "Active": act, "Due": d, "Stage": st}
            for n, c, a, s, act, d, st in ROWS])
        tx.update("Thing", ids[1], {"ParentId": ids[0]})
        tx.update("Thing", ids[2], {"ParentId": ids[0], "Seen": "2026-01-15T09:30:00Z"})
    return store


def names(tx: OrgTransaction, *filters: RecordFilter, logic: str = "and") -> list[str]:
    """The names of the matching things, in Id order."""
    return [r["Name"] for r in tx.select("Thing", filters, logic, fields=["Name"])]


@pytest.mark.parametrize("filters, expected", [
    # text ignores letter case, as SOQL does; beyond ASCII too
    ([F("Name", "EqualTo", "ALPHA")], ["alpha"]),
    ([F("Name", "NotEqualTo", "alpha")], ["Beta", "gamma", "Delta", "Ärger"]),
    ([F("Name", "StartsWith", "b")], ["Beta"]),
    ([F("Name", "EndsWith", "TA")], ["Beta", "Delta"]),
    ([F("Name", "Contains", "l")], ["alpha", "Delta"]),
    ([F("Name", "EqualTo", "ärger")], ["Ärger"]),
    ([F("Code", "Contains", "Ä")], ["Ärger"]),
    ([F("Name", "GreaterThan", "c")], ["gamma", "Delta", "Ärger"]),
    ([F("Name", "LessThanOrEqualTo", "BETA")], ["alpha", "Beta"]),
    # % and _ are letters like any other, not wildcards
    ([F("Code", "Contains", "%")], ["gamma"]),
    ([F("Code", "StartsWith", "b_")], ["Beta"]),
    ([F("Code", "EndsWith", "_")], []),
    # numbers compare by value, exactly, however they were written
    ([F("Score", "EqualTo", "2.5000")], ["alpha", "Beta"]),
    ([F("Amount", "GreaterThan", 9.99)], ["alpha", "gamma"]),
    ([F("Amount", "GreaterThanOrEqualTo", "9.99")], ["alpha", "Beta", "gamma"]),
    ([F("Amount", "LessThan", 10)], ["Beta", "Ärger"]),
    ([F("Score", "LessThanOrEqualTo", 0)], ["gamma", "Ärger"]),
    ([F("Score", "In", [Decimal("-1"), "2.5"])], ["alpha", "Beta", "gamma"]),
    ([F("Amount", "NotIn", [10, 100])], ["Beta", "Ärger"]),
    # dates, date-times, Booleans and picklists
    ([F("Due", "EqualTo", dt.date(2026, 1, 1))], ["alpha", "Ärger"]),
    ([F("Due", "GreaterThan", "2026-01-01")], ["Beta"]),
    ([F("Seen", "GreaterThanOrEqualTo", "2026-01-15T09:30:00Z")], ["gamma"]),
    ([F("Active", "EqualTo", True)], ["alpha", "gamma"]),
    ([F("Stage", "EqualTo", "done")], ["Beta", "Ärger"]),
    ([F("Stage", "In", ["NEW"])], ["alpha", "gamma"]),
    # a value the field cannot hold matches nothing rather than failing
    ([F("Stage", "EqualTo", "Lost")], []),
    ([F("Code", "EqualTo", "x" * 50)], []),
])
def test_each_operator_compares_as_salesforce_does(things: OrgStore, filters: list[RecordFilter],
                                                   expected: list[str]) -> None:
    with things.begin(write=False) as tx:
        assert names(tx, *filters) == expected


def test_ids_and_lookups_compare_exactly(things: OrgStore) -> None:
    with things.begin(write=False) as tx:
        alpha = tx.select("Thing", [F("Name", "EqualTo", "alpha")])[0]["Id"]
        assert names(tx, F("ParentId", "EqualTo", alpha[:15])) == ["Beta", "gamma"]
        assert names(tx, F("Id", "In", [alpha, alpha.lower()[:15] + "AAA"])) == ["alpha"]
        assert names(tx, F("Id", "StartsWith", alpha[:15])) == ["alpha"]
        assert names(tx, F("Id", "StartsWith", alpha[:15].lower())) == []
        assert names(tx, F("ParentId", "EqualTo", "a01XX0000000001")) == []  # another object's


def test_nulls_follow_the_contract(things: OrgStore) -> None:
    with things.begin(write=False) as tx:
        assert names(tx, F("Code", "IsNull", True)) == ["Delta"]
        assert names(tx, F("Code", "IsNull", False)) == ["alpha", "Beta", "gamma", "Ärger"]
        assert names(tx, F("Code", "EqualTo", None)) == ["Delta"]
        assert names(tx, F("Code", "NotEqualTo", None)) == ["alpha", "Beta", "gamma", "Ärger"]
        # NotEqualTo a value is true of a null field, as SOQL's != is; any other comparison with
        # a null field is false, and its negation true
        assert "Delta" in names(tx, F("Amount", "NotEqualTo", 10))
        assert names(tx, F("Amount", "GreaterThan", 0), logic="NOT 1") == ["Delta", "Ärger"]
        assert names(tx, F("Code", "NotIn", ["A-1"])) == ["Beta", "gamma", "Ärger"]
        assert names(tx, F("Code", "In", [None, "a-1"])) == ["alpha", "Delta"]
        assert names(tx, F("Code", "In", [])) == []
        assert names(tx, F("Amount", "GreaterThan", None)) == []


@pytest.mark.parametrize("logic, expected", [
    ("and", []),
    ("OR", ["alpha", "Beta", "gamma", "Ärger"]),
    ("1 AND (2 OR NOT 3)", ["alpha", "gamma"]),
    ("(1 AND 2) OR 3", ["alpha", "Beta", "Ärger"]),
    ("NOT (1 OR 3) OR NOT 2", ["gamma", "Delta", "Ärger"]),   # Delta: null compares false
])
def test_filters_join_by_and_or_or_custom_logic(things: OrgStore, logic: str,
                                                 expected: list[str]) -> None:
    filters = [F("Active", "EqualTo", True), F("Score", "GreaterThan", 0),
               F("Stage", "EqualTo", "Done")]
    with things.begin(write=False) as tx:
        assert names(tx, *filters, logic=logic) == expected


def test_order_puts_nulls_first_ascending_and_last_descending(things: OrgStore) -> None:
    def ordered(*sorts: Sort, limit: int | None = None) -> list[str]:
        return [r["Name"] for r in tx.select("Thing", order_by=sorts, limit=limit)]

    with things.begin(write=False) as tx:
        assert ordered(Sort("Amount")) == ["Delta", "Ärger", "Beta", "alpha", "gamma"]
        assert ordered(Sort("Amount", descending=True)) == \
            ["gamma", "alpha", "Beta", "Ärger", "Delta"]
        assert ordered(Sort("Name")) == ["alpha", "Beta", "Delta", "gamma", "Ärger"]  # any case
        assert ordered(Sort("Due"), Sort("Score", descending=True)) == \
            ["gamma", "Delta", "alpha", "Ärger", "Beta"]
        assert ordered(Sort("Score")) == ["Delta", "gamma", "Ärger", "alpha", "Beta"]  # then Id
        assert ordered(Sort("Amount"), limit=2) == ["Delta", "Ärger"]
        assert ordered(limit=0) == []
        assert [r["Name"] for r in tx.select("Thing")] == [row[0] for row in ROWS]   # by Id


def test_fields_are_the_ones_asked_for_and_id(things: OrgStore) -> None:
    with things.begin(write=False) as tx:
        (record,) = tx.select("Thing", [F("Name", "EqualTo", "beta")], fields=["Score", "Stage"])
        assert list(record) == ["Id", "Score", "Stage"]
        assert record["Score"] == Decimal("2.5000")
        everything = tx.select("Thing", [F("Name", "EqualTo", "beta")])[0]
        assert {"Name", "Amount", "CreatedDate", "SystemModstamp"} <= set(everything)


def test_long_in_lists_run_in_one_query(backend: Backend) -> None:
    store = backend.open([THING])
    tx = store.begin()
    try:
        ids = tx.insert_many("Thing", [{"Name": f"t{i}", "Score": i} for i in range(40_000)])
        wanted = ids[::2] + ["t01XX9999999999"]
        found = tx.select("Thing", [F("Id", "In", wanted), F("Score", "LessThan", 30_000)],
                          order_by=[Sort("Score", descending=True)], limit=3, fields=["Score"])
        assert [r["Score"] for r in found] == [29_998, 29_996, 29_994]
        assert len(tx.select("Thing", [F("Name", "In", [f"T{i}" for i in range(0, 40_000, 4)])],
                             fields=[])) == 10_000
        assert len(tx.select("Thing", [F("Score", "NotIn", list(range(39_000)))], fields=[])) \
            == 1_000
    finally:
        tx.rollback()


@pytest.mark.parametrize("call, code, message", [
    (dict(object_name="Thng"), "INVALID_TYPE", "unknown object 'Thng'; did you mean 'Thing'"),
    (dict(filters=[F("Nmae", "EqualTo", "x")]), "INVALID_FIELD",
     r"Thing.Nmae: no such field on Thing; did you mean 'Name'\?"),
    (dict(filters=[F("Amount", "EqualTo", "lots")]), "INVALID_TYPE",
     r"Thing: filter 1 \(Amount EqualTo\): the text 'lots' does not fit Currency"),
    (dict(filters=[F("Id", "EqualTo", "t01")]), "INVALID_TYPE", "'t01' is not an Id"),
    (dict(filters=[F("Code", "IsNull", "yes")]), "INVALID_TYPE",
     "IsNull takes true or false, found the text 'yes'"),
    (dict(filters=[F("Code", "In", "A-1")]), "INVALID_TYPE",
     "In takes a list of values, found the text 'A-1'"),
    (dict(filters=[F("Amount", "Contains", "1")]), "INVALID_QUERY_FILTER_OPERATOR",
     "Contains matches text; Amount is a Currency field"),
    (dict(filters=[F("Active", "GreaterThan", True)]), "INVALID_QUERY_FILTER_OPERATOR",
     "GreaterThan does not apply to a Boolean field"),
    (dict(filters=[F("Code", "Equals", "x")]), "INVALID_ARGUMENT",  # type: ignore[arg-type]
     "unknown operator 'Equals'.*did you mean 'EqualTo'"),
    (dict(filters=[F("Code", "EqualTo", "x")], logic="1 OR 2"), "INVALID_ARGUMENT",
     "logic: custom logic names condition 2, but there is only 1"),
    (dict(filters=[F("Code", "EqualTo", "x"), F("Name", "EqualTo", "y")], logic="1 AND 2 OR 1"),
     "INVALID_ARGUMENT", "mixes AND and OR without parentheses"),
    (dict(filters=F("Code", "EqualTo", "x")), "INVALID_ARGUMENT",
     "filters must be a list of RecordFilter"),
    (dict(order_by=["Name"]), "INVALID_ARGUMENT", r"order_by\[1\] must be a Sort"),
    (dict(order_by=[Sort("Nme")]), "INVALID_FIELD", "did you mean 'Name'"),
    (dict(limit=-1), "INVALID_ARGUMENT", "limit must be a whole number of at least 0"),
    (dict(limit=True), "INVALID_ARGUMENT", "found the Boolean true"),
    (dict(fields=["Name", "Scor"]), "INVALID_FIELD", "Thing.Scor: no such field"),
    (dict(fields="Name"), "INVALID_ARGUMENT", "fields must be a list of field names"),
    (dict(object_name="Ping__e"), "INVALID_TYPE",
     "Ping__e is a platform event: an event is published, never stored, so it cannot be queried"),
])
def test_bad_queries_are_refused_with_a_code(things: OrgStore, call: dict[str, Any], code: str,
                                            message: str) -> None:
    arguments = {"object_name": "Thing", **call}
    with things.begin(write=False) as tx:
        with pytest.raises(OrgError, match=message) as caught:
            tx.select(**arguments)
        assert caught.value.error_code == code


def test_query_is_select_with_in_filters(things: OrgStore) -> None:
    with things.begin(write=False) as tx:
        assert [r["Name"] for r in tx.query("Thing", {"Stage": ["new", "DONE"],
                                                      "Score": "2.5"})] == ["alpha", "Beta"]
        assert [r["Name"] for r in tx.query("Thing", order_by=["Amount"])][:2] == \
            ["Delta", "Ärger"]
