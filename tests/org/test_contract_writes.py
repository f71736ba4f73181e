"""The contract of writes as Salesforce's DML makes them: the system fields the store sets (from
its clock and running user), auto-numbers, owners, and every status code a write answers with."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from org_backends import NOW, Backend

from flowengine.errors import OrgError
from flowengine.org.base import OrgStore
from flowengine.org.fieldtypes import make_field
from flowengine.org.schema import ObjectSchema
from flowengine.org.system import DEFAULT_USER_ID, RUNNING_USER, AutoNumber

TICKET = ObjectSchema("Ticket__c", "a07", (
    make_field("Name", "AutoNumber", read_only=True, default=AutoNumber("T-{YYYY}-{0000}")),
    make_field("Subject__c", "Text", length=10, required=True),
    make_field("Code__c", "Text", length=20, unique=True),
    make_field("Hours__c", "Number", precision=4, scale=1),
    make_field("Kind__c", "Picklist", picklist=("Bug", "Idea")),
    make_field("Level__c", "Picklist", picklist=("Low", "High"), restricted=True),
    make_field("Due__c", "Date"),
    make_field("Parent__c", "Lookup", reference_to="Ticket__c"),
    make_field("Owner__c", "Lookup", reference_to="User"),
    make_field("OwnerId", "Lookup", reference_to="User", required=True, default=RUNNING_USER),
))
NOTE = ObjectSchema("Note__e", "e02", (make_field("Text__c", "Text", length=20),), is_event=True)


@pytest.fixture
def tickets(backend: Backend) -> OrgStore:
    return backend.open([TICKET, NOTE])


def test_the_store_sets_the_system_fields_from_its_clock_and_running_user(
        tickets: OrgStore, backend: Backend) -> None:
    with tickets.begin() as tx:
        first = tx.insert("Ticket__c", {"Subject__c": "one"})
        created = tx.get("Ticket__c", first)
    assert (created["CreatedDate"], created["LastModifiedDate"], created["SystemModstamp"]) == \
        (NOW, NOW, NOW)
    assert created["CreatedById"] == created["LastModifiedById"] == created["OwnerId"] == \
        DEFAULT_USER_ID
    assert created["IsDeleted"] is False
    later = backend.clock.advance(hours=2)
    with tickets.begin() as tx:
        other_user = tx.insert("User", {"Username": "u@x.test", "LastName": "U", "Alias": "u",
                                        "Email": "u@x.test", "TimeZoneSidKey": "GMT",
                                        "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
                                        "EmailEncodingKey": "UTF-8",
                                        "ProfileId": tx.query("Profile")[0]["Id"]})
    tickets.running_user_id = other_user
    with tickets.begin() as tx:
        tx.update("Ticket__c", first, {"Hours__c": 1})
        second = tx.insert("Ticket__c", {"Subject__c": "two"})
        updated, made = tx.get("Ticket__c", first), tx.get("Ticket__c", second)
    assert (updated["CreatedDate"], updated["CreatedById"]) == (NOW, DEFAULT_USER_ID)
    assert (updated["LastModifiedDate"], updated["SystemModstamp"]) == (later, later)
    assert updated["LastModifiedById"] == other_user
    assert updated["OwnerId"] == DEFAULT_USER_ID                     # an update keeps the owner
    assert (made["OwnerId"], made["CreatedById"]) == (other_user, other_user)


def test_every_store_starts_with_its_default_user_and_profile(tickets: OrgStore) -> None:
    with tickets.begin(write=False) as tx:
        user = tx.get("User", DEFAULT_USER_ID)
        assert user is not None and user["IsActive"] is True and user["Name"] == "Flow Admin"
        assert tx.get("Profile", user["ProfileId"])["Name"] == "System Administrator"
    tickets.wipe()
    with tickets.begin(write=False) as tx:
        assert [u["Id"] for u in tx.query("User")] == [DEFAULT_USER_ID]


def test_auto_numbers_count_per_field_and_cannot_be_set(tickets: OrgStore) -> None:
    with tickets.begin() as tx:
        ids = tx.insert_many("Ticket__c", [{"Subject__c": "a"}, {"Subject__c": "b"}])
        tx.insert("Ticket__c", {"Subject__c": "c"})
        assert [r["Name"] for r in tx.query("Ticket__c")] == \
            ["T-2026-0001", "T-2026-0002", "T-2026-0003"]
        with pytest.raises(OrgError, match="Ticket__c.Name: cannot be set: it is an auto-number "
                                           "field, numbered by the store") as caught:
            tx.update("Ticket__c", ids[0], {"Name": "mine"})
        assert caught.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


@pytest.mark.parametrize("name", ["CreatedDate", "CreatedById", "LastModifiedDate",
                                  "LastModifiedById", "SystemModstamp", "IsDeleted"])
def test_system_fields_cannot_be_written(tickets: OrgStore, name: str) -> None:
    value = DEFAULT_USER_ID if name.endswith("Id") else False if name == "IsDeleted" else NOW
    with tickets.begin() as tx:
        ticket = tx.insert("Ticket__c", {"Subject__c": "x"})
        for write in (lambda: tx.insert("Ticket__c", {"Subject__c": "y", name: value}),
                      lambda: tx.update("Ticket__c", ticket, {name: value})):
            with pytest.raises(OrgError, match=f"Ticket__c.{name}: cannot be set: it is a system "
                                               "field, set by the store") as caught:
                write()
            assert caught.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_loads_may_set_the_audit_fields(tickets: OrgStore) -> None:
    old = dt.datetime(2020, 5, 1, 12, tzinfo=dt.UTC)
    with tickets.begin() as tx:
        (ticket,) = tx.insert_many("Ticket__c", [{"Subject__c": "old", "CreatedDate": old,
                                                  "LastModifiedDate": old}],
                                   set_audit_fields=True)
        record = tx.get("Ticket__c", ticket)
        assert (record["CreatedDate"], record["LastModifiedDate"], record["SystemModstamp"]) == \
            (old, old, NOW)
        with pytest.raises(OrgError, match="SystemModstamp: cannot be set"):
            tx.insert_many("Ticket__c", [{"Subject__c": "x", "SystemModstamp": old}],
                           set_audit_fields=True)


@pytest.mark.parametrize("fields, code, message", [
    ({"Subject__c": "x" * 11}, "STRING_TOO_LONG",
     r"Ticket__c.Subject__c: data value too large: the text 'xxxxxxxxxxx' has 11 characters "
     r"\(max length=10\)"),
    ({"Subject__c": "x", "Hours__c": 1000}, "NUMBER_OUTSIDE_VALID_RANGE",
     r"Hours__c: value outside of valid range on numeric field: 1000.0 has 4 digits before the "
     r"decimal point; the field holds 3 \(precision 4, scale 1\)"),
    ({"Subject__c": "x", "Level__c": "Medium"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     r"Level__c: the text 'Medium' is not one of its picklist values \(Low, High\)"),
    ({"Subject__c": "x", "Hours__c": "many"}, "INVALID_TYPE_ON_FIELD_IN_RECORD",
     "Hours__c: the text 'many' does not fit Number"),
    ({"Subject__c": "x", "Due__c": "31/01/2026"}, "INVALID_TYPE_ON_FIELD_IN_RECORD",
     r"Due__c: the text '31/01/2026' does not fit Date \(expected YYYY-MM-DD\)"),
    ({}, "REQUIRED_FIELD_MISSING", "Ticket__c.Subject__c: is required, found no value"),
    ({"Subject__c": "x", "Parent__c": DEFAULT_USER_ID}, "FIELD_INTEGRITY_EXCEPTION",
     r"Parent__c: id value of incorrect type: 005XX0000000001YAA is the Id of a User record; "
     r"expected a Ticket__c Id \(key prefix a07\)"),
    ({"Subject__c": "x", "Parent__c": "a07XX0000000099"}, "INVALID_CROSS_REFERENCE_KEY",
     "Parent__c: no Ticket__c record has Id a07XX0000000099YAA"),
    ({"Subject__c": "x", "Owner__c": "005XX000000000"}, "INVALID_ID",
     "'005XX000000000' is not an Id"),
    ({"Subject__c": "x", "Code__c": "ABC"}, "DUPLICATE_VALUE",
     r"Code__c: duplicate value found: Code__c duplicates value on record with id: "
     r"a07XX0000000001YAA \(the text 'abc'\)"),
    ({"Subject__c": "x", "Nope__c": 1}, "INVALID_FIELD", "Ticket__c.Nope__c: no such field"),
])
def test_each_status_code_of_a_refused_write(tickets: OrgStore, fields: dict[str, Any],
                                             code: str, message: str) -> None:
    with tickets.begin() as tx:
        tx.insert("Ticket__c", {"Subject__c": "first", "Code__c": "abc"})
        before = tx.query("Ticket__c")
        with pytest.raises(OrgError, match=message) as caught:
            tx.insert("Ticket__c", fields)
        assert caught.value.error_code == code
        assert tx.query("Ticket__c") == before


def test_unique_values_differ_within_a_batch_and_ignore_letter_case(tickets: OrgStore) -> None:
    with tickets.begin() as tx:
        a, b = tx.insert_many("Ticket__c", [{"Subject__c": "a", "Code__c": "X-1"},
                                            {"Subject__c": "b", "Code__c": "X-2"}])
        with pytest.raises(OrgError, match=r"duplicates value on record \[0\] of the batch "
                                           r".*\(record \[1\] of the batch\)") as caught:
            tx.insert_many("Ticket__c", [{"Subject__c": "c", "Code__c": "y"},
                                         {"Subject__c": "d", "Code__c": "Y"}])
        assert caught.value.error_code == "DUPLICATE_VALUE"
        with pytest.raises(OrgError, match=f"duplicates value on record with id: {a}"):
            tx.update("Ticket__c", b, {"Code__c": "x-1"})
        tx.update("Ticket__c", a, {"Code__c": "x-1", "Hours__c": 2})   # its own value: fine
        tx.update("Ticket__c", b, {"Code__c": None})
        tx.insert("Ticket__c", {"Subject__c": "e"})                     # nulls never clash


def test_an_unrestricted_picklist_takes_other_values(tickets: OrgStore) -> None:
    with tickets.begin() as tx:
        ticket = tx.insert("Ticket__c", {"Subject__c": "x", "Kind__c": "Question"})
        assert tx.get("Ticket__c", ticket)["Kind__c"] == "Question"


def test_platform_events_are_published_not_stored_as_records(tickets: OrgStore) -> None:
    with tickets.begin() as tx:
        event_id = tx.insert("Note__e", {"Text__c": "hi"})       # creating an event publishes it
        (event,) = tx.events()
        assert (event["event"], event["Text__c"], event["ReplayId"]) == ("Note__e", "hi", 1)
        assert event_id == tx.event_id(event) and event_id.startswith("e")
        with pytest.raises(OrgError, match="Note__e is a platform event: an event is published, "
                                           "never stored, so it cannot be updated") as caught:
            tx.update("Note__e", event_id, {"Text__c": "bye"})
        assert caught.value.error_code == "INVALID_TYPE"
        with pytest.raises(OrgError, match="cannot be queried"):
            tx.get("Note__e", "e02XX0000000001")
