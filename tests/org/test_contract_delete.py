"""The contract of `delete_many`: master-detail cascades, lookups cleared or the delete refused,
roll-ups current, deleted Ids remembered — all or nothing, on every backend."""
from __future__ import annotations

from decimal import Decimal

import pytest
from org_backends import Backend

from flowengine.errors import OrgError
from flowengine.org.base import OrgStore, OrgTransaction
from flowengine.org.fieldtypes import make_field
from flowengine.org.schema import FieldDef, ObjectSchema, Rollup
from flowengine.org.system import DEFAULT_USER_ID

MASTER = ObjectSchema("Master", "m01", (
    make_field("Name", "Text", length=80),
    FieldDef("Total", make_field("Total", "Number").type, rollup=Rollup("Detail", "MasterId",
                                                                        "Amount")),
))
DETAIL = ObjectSchema("Detail", "m02", (
    make_field("MasterId", "MasterDetail", reference_to="Master"),
    make_field("Amount", "Number", precision=18, scale=2),
))
PART = ObjectSchema("Part", "m03", (          # a detail of a detail: cascades two levels down
    make_field("DetailId", "MasterDetail", reference_to="Detail"),
))
LOOSE = ObjectSchema("Loose", "m04", (        # an optional lookup: cleared
    make_field("MasterId", "Lookup", reference_to="Master"),
    make_field("DetailId", "Lookup", reference_to="Detail"),
))
KEEPER = ObjectSchema("Keeper", "m05", (      # a lookup that restricts deletion
    make_field("MasterId", "Lookup", reference_to="Master", on_delete="restrict"),
))
NEEDY = ObjectSchema("Needy", "m06", (        # a required lookup: cannot be cleared
    make_field("MasterId", "Lookup", reference_to="Master", required=True),
))
EVENT = ObjectSchema("Ping__e", "e01", (), is_event=True)
SCHEMAS = (MASTER, DETAIL, PART, LOOSE, KEEPER, NEEDY, EVENT)


@pytest.fixture
def org(backend: Backend) -> OrgStore:
    return backend.open(SCHEMAS)


def _family(tx: OrgTransaction) -> tuple[str, list[str], list[str], str]:
    """A master with two details (amounts 5 and 7), a part of the first detail, and a loose
    record that points at the master and the second detail."""
    master = tx.insert("Master", {"Name": "M"})
    details = tx.insert_many("Detail", [{"MasterId": master, "Amount": 5},
                                        {"MasterId": master, "Amount": 7}])
    parts = tx.insert_many("Part", [{"DetailId": details[0]}])
    loose = tx.insert("Loose", {"MasterId": master, "DetailId": details[1]})
    return master, details, parts, loose


def _counts(tx: OrgTransaction) -> dict[str, int]:
    return {name: len(tx.query(name)) for name in ("Master", "Detail", "Part", "Loose", "Keeper")}


def test_deleting_a_master_deletes_its_details_and_clears_lookups(org: OrgStore) -> None:
    with org.begin() as tx:
        master, details, parts, loose = _family(tx)
        tx.delete_many("Master", [master[:15]])
        assert _counts(tx) == {"Master": 0, "Detail": 0, "Part": 0, "Loose": 1, "Keeper": 0}
        assert tx.get("Loose", loose)["MasterId"] is None      # lookups to the deleted: cleared
        assert tx.get("Loose", loose)["DetailId"] is None      # ...including cascaded ones
        assert tx.get("Detail", details[0]) is None and tx.get("Part", parts[0]) is None


def test_deleting_details_keeps_the_masters_rollups_current(org: OrgStore) -> None:
    with org.begin() as tx:
        master, details, _, loose = _family(tx)
        assert tx.get("Master", master)["Total"] == 12
        tx.delete_many("Detail", [details[1]])
        assert tx.get("Master", master)["Total"] == 5
        assert tx.get("Loose", loose)["DetailId"] is None
        tx.delete_many("Detail", [details[0]])
        assert tx.get("Master", master)["Total"] == 0 and tx.query("Part") == []


@pytest.mark.parametrize("child, message", [
    ("Keeper", r"Keeper.MasterId: refers to Master record m01XX0000000001YAA, which cannot be "
               r"deleted while Keeper record m05XX0000000001YAA refers to it \(MasterId is a "
               r"lookup that restricts deletion\)"),
    ("Needy", r"Needy record m06XX0000000001YAA refers to it \(MasterId is a required field, "
              r"which cannot be cleared\)"),
])
def test_a_restricting_or_required_lookup_refuses_the_delete(org: OrgStore, child: str,
                                                             message: str) -> None:
    with org.begin() as tx:
        master, details, _, _ = _family(tx)
        tx.insert(child, {"MasterId": master})
        before = {name: tx.query(name) for name in ("Master", "Detail", "Part", "Loose")}
        with pytest.raises(OrgError, match=message) as caught:
            tx.delete_many("Master", [master])
        assert caught.value.error_code == "DELETE_FAILED"
        assert {name: tx.query(name) for name in before} == before   # nothing deleted
        tx.delete_many("Detail", details)                             # the details may go
        assert tx.get("Master", master)["Total"] == 0


def test_deleted_ids_are_remembered(org: OrgStore) -> None:
    with org.begin() as tx:
        master, details, parts, _ = _family(tx)
        tx.delete_many("Master", [master])
        for call in (lambda: tx.update("Master", master, {"Name": "back"}),
                     lambda: tx.update_many("Detail", {details[0]: {"Amount": 1}}),
                     lambda: tx.delete_many("Part", [parts[0]])):
            with pytest.raises(OrgError, match="was (already )?deleted") as caught:
                call()
            assert caught.value.error_code == "ENTITY_IS_DELETED"
        with pytest.raises(OrgError, match=r"Loose.MasterId: entity is deleted: the Master "
                                           f"record {master} was deleted") as caught:
            tx.insert("Loose", {"MasterId": master})
        assert caught.value.error_code == "ENTITY_IS_DELETED"
        with pytest.raises(OrgError, match="the Id of a deleted record") as caught:
            tx.insert("Master", {"Id": master, "Name": "again"})
        assert caught.value.error_code == "ENTITY_IS_DELETED"
        assert tx.get("Master", master) is None
        assert tx.insert("Master", {"Name": "new"}) == "m01XX0000000002YAA"   # no Id reused


def test_a_savepoint_undoes_a_delete_and_forgets_the_deleted_ids(org: OrgStore) -> None:
    with org.begin() as tx:
        master, details, _, loose = _family(tx)
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.delete_many("Master", [master])
                raise RuntimeError("the flow failed")
        assert _counts(tx) == {"Master": 1, "Detail": 2, "Part": 1, "Loose": 1, "Keeper": 0}
        assert tx.get("Loose", loose)["MasterId"] == master
        tx.update("Detail", details[0], {"Amount": 1})              # not deleted after all
        assert tx.get("Master", master)["Total"] == Decimal(8)


@pytest.mark.parametrize("ids, code, message", [
    (["m01XX0000000009"], "INVALID_CROSS_REFERENCE_KEY", "no Master record has Id "
                                                          "m01XX0000000009YAA"),
    (["m01XX000000000"], "INVALID_ID", "'m01XX000000000' is not an Id"),
    (["m02XX0000000001"], "INVALID_ID", r"is not a Master Id \(key prefix m01\)"),
    (["MASTER", "MASTER"], "DUPLICATE_VALUE", "is deleted twice in one batch"),
    ("m01XX0000000001", "INVALID_ARGUMENT", "must be a list of Ids, found the text"),
])
def test_bad_deletes_are_refused_whole(org: OrgStore, ids: list[str], code: str,
                                       message: str) -> None:
    with org.begin() as tx:
        master, *_ = _family(tx)
        named = [master if i == "MASTER" else i for i in ids] if isinstance(ids, list) else ids
        with pytest.raises(OrgError, match=message) as caught:
            tx.delete_many("Master", named)
        assert caught.value.error_code == code
        assert _counts(tx)["Master"] == 1


def test_deletes_of_users_events_and_in_read_only_transactions_are_refused(
        org: OrgStore) -> None:
    with org.begin() as tx:
        tx.delete_many("Master", [])                    # nothing to delete: nothing happens
        with pytest.raises(OrgError, match="users cannot be deleted; deactivate them") as caught:
            tx.delete_many("User", [DEFAULT_USER_ID])
        assert caught.value.error_code == "DELETE_FAILED"
        with pytest.raises(OrgError, match="Ping__e is a platform event.*cannot be deleted"):
            tx.delete_many("Ping__e", ["e01XX0000000001"])
        with pytest.raises(OrgError, match="platform event.*cannot be updated"):
            tx.update("Ping__e", "e01XX0000000001", {})
    reader = org.begin(write=False)
    with pytest.raises(OrgError, match="read-only"):
        reader.delete_many("Master", [])
    reader.rollback()
