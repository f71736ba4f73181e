"""The platform's behaviour around writes (the plug-in's save hook): the Order Management events
it publishes — when, with which fields, one batch per write, never after a rollback — and the
quantities a fulfilled fulfillment order fulfills."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from om_helpers import call, published

from flowengine.org.base import SaveHook
from flowengine.org.standard import standard_object
from flowengine.plugins.registry import plugin_problems
from flowengine_order_management import plugin
from flowengine_order_management.hooks import OrderManagementHook
from flowengine_order_management.sample import (
    SampleOrder,
    build_sample_order,
    cancel_input,
    fulfillment_group,
    fulfillment_order_input,
)

pytestmark = pytest.mark.usefixtures("invariants_hold")

CREATED, STATUS, FO_STATUS = ("OrderSummaryCreatedEvent", "OrderSumStatusChangedEvent",
                              "FOStatusChangedEvent")


@pytest.fixture
def om_store(platform_store: Any) -> Any:
    return platform_store


@pytest.fixture
def sample(org: Any) -> SampleOrder:
    """Two products and a delivery charge, all on one Allocated fulfillment order, with tax."""
    return build_sample_order(org, 2, delivery_charge=True)


def publish_calls(org: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From now on, each `publish` call of the transaction as (event object, number of events)."""
    calls: list[tuple[str, int]] = []
    real: Callable[..., Any] = org.publish

    def spy(event_name: str, events: Any) -> Any:
        calls.append((event_name, len(events)))
        return real(event_name, events)

    monkeypatch.setattr(org, "publish", spy)
    return calls


# ---------------------------------------------------------------------------------------------
# the hook and the events' fields

def test_the_plugin_registers_the_hook_and_the_registry_accepts_it() -> None:
    [hook] = plugin.save_hooks
    assert isinstance(hook, OrderManagementHook) and isinstance(hook, SaveHook)
    assert plugin_problems(plugin) == []


@pytest.mark.parametrize("event, fields", [
    (CREATED, {"OrderSummaryId": "OrderSummary", "OrderId": "Order", "UserLocale": None}),
    (STATUS, {"OrderSummaryId": "OrderSummary", "OrderId": "Order", "OldStatus": None,
              "NewStatus": None}),
    (FO_STATUS, {"FulfillmentOrderId": "FulfillmentOrder", "OrderSummaryId": "OrderSummary",
                 "OldStatus": None, "NewStatus": None, "OldStatusCategory": None,
                 "NewStatusCategory": None}),
])
def test_events_have_salesforces_documented_fields(event: str, fields: dict[str, Any]) -> None:
    schema = standard_object(event)
    assert schema is not None and schema.is_event
    assert {name: schema.field(name).reference_to for name in fields  # type: ignore[union-attr]
            } == fields
    kinds = {f.name: f.type.kind for f in schema.fields}
    assert all(kinds[name] == "Picklist" for name in fields if "Status" in name)


def test_status_categories_of_the_fo_event_are_restricted_to_the_fulfillment_orders() -> None:
    schema = standard_object(FO_STATUS)
    assert schema is not None
    new = schema.field("NewStatusCategory")
    assert new is not None and new.restricted and new.required
    assert set(new.picklist) == {"DRAFT", "ACTIVATED", "FULFILLING", "CLOSED", "CANCELLED",
                                 "REJECTED"}


# ---------------------------------------------------------------------------------------------
# OrderSummaryCreatedEvent

def test_creating_an_order_summary_publishes_order_summary_created_event(org: Any) -> None:
    user = org.query("User")[0]
    account = org.insert("Account", {"Name": "Ada Lovelace"})
    order = org.insert("Order", {"AccountId": account, "EffectiveDate": "2026-01-15"})
    summary = org.insert("OrderSummary", {"OrderNumber": "1", "OriginalOrderId": order})
    assert published(org) == [{"event": CREATED, "OrderSummaryId": summary, "OrderId": order,
                               "UserLocale": user["LocaleSidKey"]}]
    (event,) = org.events()
    assert (event["CreatedById"], event["ReplayId"]) == (user["Id"], 1)


def test_one_insert_of_many_order_summaries_publishes_one_batch(
        org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = publish_calls(org, monkeypatch)
    ids = org.insert_many("OrderSummary", [{"OrderNumber": str(n)} for n in range(3)])
    assert calls == [(CREATED, 3)]
    events = org.events()
    assert [e["OrderSummaryId"] for e in events] == ids
    assert [e["ReplayId"] for e in events] == [1, 2, 3]


def test_unmanaged_order_summaries_publish_it_too(org: Any) -> None:
    summary = org.insert("OrderSummary", {"OrderNumber": "1", "OrderLifeCycleType": "UNMANAGED"})
    assert [e["OrderSummaryId"] for e in org.events(names=[CREATED])] == [summary]


def test_a_failed_write_publishes_nothing(org: Any) -> None:
    with pytest.raises(Exception, match="OrderLifeCycleType"):
        org.insert_many("OrderSummary", [{"OrderNumber": "1"},
                                         {"OrderNumber": "2", "OrderLifeCycleType": "Other"}])
    assert org.events() == []


def test_events_published_inside_a_savepoint_that_fails_are_undone(org: Any) -> None:
    build_sample_order(org, 1)
    with pytest.raises(RuntimeError), org.savepoint():
        org.update("OrderSummary", org.query("OrderSummary")[0]["Id"], {"Status": "Approved"})
        raise RuntimeError("undo")
    assert [e["event"] for e in org.events()] == [CREATED]


# ---------------------------------------------------------------------------------------------
# OrderSumStatusChangedEvent

def test_a_status_change_publishes_old_and_new_status(org: Any, sample: SampleOrder) -> None:
    order = org.insert("Order", {"AccountId": org.insert("Account", {"Name": "A"}),
                                 "EffectiveDate": "2026-01-15"})
    org.update("OrderSummary", sample.order_summary_id, {"OriginalOrderId": order})
    assert published(org, STATUS) == []
    org.update("OrderSummary", sample.order_summary_id, {"Status": "Approved"})
    org.update("OrderSummary", sample.order_summary_id, {"Status": "Waiting to Fulfill"})
    assert published(org, STATUS) == [
        {"event": STATUS, "OrderSummaryId": sample.order_summary_id, "OrderId": order,
         "OldStatus": "Created", "NewStatus": "Approved"},
        {"event": STATUS, "OrderSummaryId": sample.order_summary_id, "OrderId": order,
         "OldStatus": "Approved", "NewStatus": "Waiting to Fulfill"}]


def test_a_write_that_leaves_the_status_alone_publishes_nothing(
        org: Any, sample: SampleOrder, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = publish_calls(org, monkeypatch)
    org.update("OrderSummary", sample.order_summary_id, {"GrandTotalAmount": Decimal(1)})
    org.update("OrderSummary", sample.order_summary_id, {"Status": "Created"})   # unchanged
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"DeliverToName": "Ada"})
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Allocated"})
    assert calls == []


def test_any_org_defined_order_summary_status_is_taken(org: Any, sample: SampleOrder) -> None:
    org.update("OrderSummary", sample.order_summary_id, {"Status": "On Hold"})
    assert published(org, STATUS)[0]["NewStatus"] == "On Hold"


# ---------------------------------------------------------------------------------------------
# FOStatusChangedEvent

def test_a_fulfillment_order_status_change_publishes_statuses_and_categories(
        org: Any, sample: SampleOrder) -> None:
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Pickpack"})
    assert published(org, FO_STATUS) == [{
        "event": FO_STATUS, "FulfillmentOrderId": sample.fulfillment_order_id,
        "OrderSummaryId": sample.order_summary_id, "OldStatus": "Allocated",
        "NewStatus": "Pickpack", "OldStatusCategory": "ACTIVATED",
        "NewStatusCategory": "FULFILLING"}]


def test_creating_a_fulfillment_order_is_no_status_change(org: Any) -> None:
    sample = build_sample_order(org, 1, unallocated=Decimal(1))
    call(org, "createFulfillmentOrder", fulfillmentOrderInput=fulfillment_order_input(
        sample.order_summary_id, sample.delivery_group_id,
        fulfillment_group(sample.location_ids[1], (sample.summary_ids[0], 1))))
    assert published(org, FO_STATUS) == []


def test_one_update_of_many_fulfillment_orders_publishes_one_batch(
        org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_sample_order(org, 1)
    second = build_sample_order(org, 1, order_number="00000102")
    calls = publish_calls(org, monkeypatch)
    org.update_many("FulfillmentOrder", {first.fulfillment_order_id: {"Status": "Fulfilled"},
                                         second.fulfillment_order_id: {"Status": "Assigned"}})
    assert calls == [(FO_STATUS, 2)]
    assert [(e["FulfillmentOrderId"], e["NewStatusCategory"]) for e in org.events(
        names=[FO_STATUS])] == [(first.fulfillment_order_id, "CLOSED"),
                                (second.fulfillment_order_id, "FULFILLING")]


def test_canceling_every_line_publishes_the_cancelled_status(org: Any,
                                                              sample: SampleOrder) -> None:
    call(org, "cancelFulfillmentOrderItem", fulfillmentOrderId=sample.fulfillment_order_id,
         cancelFulfillmentOrderItemsInput=cancel_input(
             *((line_id, 3) for line_id in sample.line_ids), (sample.delivery_line_id, 1)))
    [event] = published(org, FO_STATUS)
    assert (event["NewStatus"], event["NewStatusCategory"]) == ("Cancelled", "CANCELLED")


# ---------------------------------------------------------------------------------------------
# a fulfilled fulfillment order fulfills its quantities

def quantities(org: Any, sample: SampleOrder) -> list[tuple[Any, str]]:
    ids = [*sample.summary_ids, sample.delivery_summary_id]
    rows = {r["Id"]: r for r in org.query("OrderItemSummary", where={"Id": ids})}
    return [(rows[i]["QuantityFulfilled"], rows[i]["Status"]) for i in ids]


def test_fulfilling_a_fulfillment_order_fulfills_its_order_item_summaries(
        org: Any, sample: SampleOrder) -> None:
    assert quantities(org, sample) == [(0, "ALLOCATED")] * 3
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Fulfilled"})
    assert quantities(org, sample) == [(3, "FULFILLED"), (3, "FULFILLED"), (1, "FULFILLED")]


def test_only_what_is_left_on_the_lines_is_fulfilled(org: Any, sample: SampleOrder) -> None:
    call(org, "cancelFulfillmentOrderItem", fulfillmentOrderId=sample.fulfillment_order_id,
         cancelFulfillmentOrderItemsInput=cancel_input((sample.line_ids[0], 1)))
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Fulfilled"})
    # 2 of the 3 ordered are fulfilled; the canceled one is still to be reallocated
    assert quantities(org, sample)[0] == (2, "PARTIALLYFULFILLED")


def test_moves_inside_the_open_categories_fulfill_nothing(org: Any, sample: SampleOrder) -> None:
    for status in ("Assigned", "Pickpack", "Draft"):
        org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": status})
    assert quantities(org, sample) == [(0, "ALLOCATED")] * 3


def test_leaving_the_closed_category_takes_the_fulfilled_quantities_back(
        org: Any, sample: SampleOrder) -> None:
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Fulfilled"})
    org.update("FulfillmentOrder", sample.fulfillment_order_id, {"Status": "Pickpack"})
    assert quantities(org, sample) == [(0, "ALLOCATED")] * 3
