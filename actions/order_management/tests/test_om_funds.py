"""Ensure Funds Async: the background operation it queues, what the operation does once the
transaction has committed (which payment summaries pay, captured funds first), its failures, and
every refusal of the action."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from om_helpers import call, funds_input, refused

from flowengine.org.ids import make_id
from flowengine_order_management import plugin, run_background_operations
from flowengine_order_management.classes import ENSURE_FUNDS_INPUT, ENSURE_FUNDS_OUTPUT
from flowengine_order_management.invariants import check_invariants
from flowengine_order_management.sample import SampleOrder, build_sample_order

ACTION = next(a for a in plugin.actions if a.name == "ensureFundsOrderSummaryAsync")
T = TypeVar("T")


@pytest.fixture
def om_store(platform_store: Any) -> Any:
    return platform_store


@pytest.fixture
def committed_invariants_hold(om_store: Any) -> Iterator[None]:
    """After the test, the invariants hold on what it committed."""
    yield
    tx = om_store.begin(write=False)
    try:
        assert check_invariants(tx) == []
    finally:
        tx.rollback()


def committed(store: Any, work: Callable[[Any], T]) -> T:
    """Run `work` in a transaction of its own and commit it."""
    with store.begin() as tx:
        return work(tx)


def read(store: Any, work: Callable[[Any], T]) -> T:
    tx = store.begin(write=False)
    try:
        return work(tx)
    finally:
        tx.rollback()


def invoiced_order(tx: Any, *payments: dict[str, Any], tax: Decimal = Decimal(0),
                   life_cycle: str = "MANAGED") -> tuple[SampleOrder, str]:
    """One product, 3 × 20.00 (plus `tax`), fulfilled and invoiced; the order summary's payment
    summaries as given. Returns the order and its invoice's Id."""
    sample = build_sample_order(tx, 1, tax=tax, status="Fulfilled", life_cycle=life_cycle)
    tx.update("OrderSummary", sample.order_summary_id,
              {"AccountId": tx.insert("Account", {"Name": "Ada Lovelace"})})
    tx.insert_many("OrderPaymentSummary", [{"OrderSummaryId": sample.order_summary_id,
                                            "Method": f"Card {n}", **payment}
                                           for n, payment in enumerate(payments)])
    if life_cycle != "MANAGED":      # Order Management invoices only managed orders
        return sample, tx.insert("Invoice", {"ReferenceEntityId": sample.order_summary_id,
                                             "BillingAccountId": tx.query("Account")[0]["Id"],
                                             "Status": "Posted"})
    out = call(tx, "createInvoiceFromFulfillmentOrder",
               fulfillmentOrderId=sample.fulfillment_order_id)
    return sample, out["fulfillmentOrderInvoiceOutput"].fields["invoiceId"]


def ensure_funds(tx: Any, sample: SampleOrder, invoice_id: str) -> str:
    out = call(tx, ACTION.name, orderSummaryId=sample.order_summary_id,
               ensureFundsAsyncInput=funds_input(invoice_id))["ensureFundsAsyncOutput"]
    assert out.type_name == ENSURE_FUNDS_OUTPUT
    assert (out.fields["success"], out.fields["errors"]) == (True, [])
    return str(out.fields["backgroundOperationId"])


def queue_funds(store: Any, *payments: dict[str, Any]) -> tuple[str, str]:
    """Commit an invoiced order with these payment summaries and an Ensure Funds request for
    it; returns the invoice's Id and the background operation's."""
    def work(tx: Any) -> tuple[str, str]:
        sample, invoice_id = invoiced_order(tx, *payments)
        return invoice_id, ensure_funds(tx, sample, invoice_id)
    return committed(store, work)


def payment_summaries(store: Any) -> list[tuple[Any, ...]]:
    """(BalanceAmount, CapturedAmount, AvailableToCaptureAmount) of each, in Id order."""
    return read(store, lambda tx: [
        (p["BalanceAmount"], p["CapturedAmount"], p["AvailableToCaptureAmount"])
        for p in tx.query("OrderPaymentSummary")])


def balance(store: Any, invoice_id: str) -> Any:
    return read(store, lambda tx: tx.get("Invoice", invoice_id)["Balance"])


def captured(amount: str) -> dict[str, Any]:
    return {"CapturedAmount": Decimal(amount), "BalanceAmount": Decimal(amount),
            "AuthorizationAmount": Decimal(amount)}


def authorized(amount: str) -> dict[str, Any]:
    return {"AuthorizationAmount": Decimal(amount)}


def test_catalog_entry() -> None:
    assert (ACTION.label, ACTION.category) == ("Ensure Funds Async", "Order Management")
    assert [(p.name, p.label, p.required, str(p.type)) for p in ACTION.inputs] == [
        ("ensureFundsAsyncInput", "Ensure Funds Async Input", True,
         "Apex ConnectApi.EnsureFundsAsyncInputRepresentation"),
        ("orderSummaryId", "Order Summary Id", True, "Text")]
    assert [(p.name, str(p.type)) for p in ACTION.outputs] == [
        ("ensureFundsAsyncOutput", "Apex ConnectApi.EnsureFundsAsyncOutputRepresentation")]
    classes = {c.name: c for c in plugin.apex_classes}
    assert set(classes[ENSURE_FUNDS_INPUT].fields) == {"invoiceId"}
    assert set(classes[ENSURE_FUNDS_OUTPUT].fields) == {"backgroundOperationId", "success",
                                                        "errors"}


# ---------------------------------------------------------------------------------------------
# the action queues; the operation runs after the commit

@pytest.mark.usefixtures("invariants_hold")
def test_the_action_queues_a_background_operation_and_changes_nothing_else(org: Any) -> None:
    sample, invoice_id = invoiced_order(org, authorized("60.00"))
    operation_id = ensure_funds(org, sample, invoice_id[:15])
    operation = org.get("BackgroundOperation", operation_id)
    assert (operation["Name"], operation["Status"], operation["ParentKey"]) == \
        ("EnsureFundsAsync", "New", invoice_id)
    assert org.get("Invoice", invoice_id)["Balance"] == Decimal("60.00")
    assert org.query("OrderPaymentSummary")[0]["CapturedAmount"] is None


@pytest.mark.usefixtures("committed_invariants_hold")
def test_the_operation_runs_once_the_transaction_commits(om_store: Any) -> None:
    invoice_id, operation_id = queue_funds(om_store, authorized("60.00"))
    [done] = run_background_operations(om_store)
    assert (done["Id"], done["Status"], done["Error"]) == (operation_id, "Complete", None)
    assert done["SubmittedAt"] == done["CreatedDate"]
    assert done["StartedAt"] == done["FinishedAt"] is not None
    assert balance(om_store, invoice_id) == 0
    assert payment_summaries(om_store) == [(0, Decimal("60.00"), 0)]    # captured and applied
    assert run_background_operations(om_store) == []                    # nothing left to run


def test_an_operation_of_a_rolled_back_transaction_never_runs(om_store: Any) -> None:
    tx = om_store.begin()
    sample, invoice_id = invoiced_order(tx, authorized("60.00"))
    ensure_funds(tx, sample, invoice_id)
    tx.rollback()
    assert run_background_operations(om_store) == []
    assert read(om_store, lambda tx: tx.query("BackgroundOperation")) == []


@pytest.mark.usefixtures("committed_invariants_hold")
def test_operations_run_oldest_first_each_on_its_own(om_store: Any) -> None:
    failing = queue_funds(om_store, authorized("10.00"))[1]
    succeeding = queue_funds(om_store, captured("60.00"))[1]
    assert [(op["Id"], op["Status"]) for op in run_background_operations(om_store)] == \
        [(failing, "Error"), (succeeding, "Complete")]


# ---------------------------------------------------------------------------------------------
# which payment summaries pay (Salesforce's documented order)

@pytest.mark.usefixtures("committed_invariants_hold")
@pytest.mark.parametrize("payments, after", [
    # captured funds: the one whose balance equals the invoice's pays
    ([captured("80.00"), captured("60.00")],
     [(Decimal("80.00"), Decimal("80.00"), 0), (0, Decimal("60.00"), 0)]),
    # else the largest balance first, then the next
    ([captured("25.00"), captured("50.00")],
     [(Decimal("15.00"), Decimal("25.00"), 0), (0, Decimal("50.00"), 0)]),
    # equal balances: the first (lowest Id)
    ([captured("70.00"), captured("70.00")],
     [(Decimal("10.00"), Decimal("70.00"), 0), (Decimal("70.00"), Decimal("70.00"), 0)]),
    # captured funds before capturing authorized ones
    ([authorized("100.00"), captured("20.00")],
     [(0, Decimal("40.00"), Decimal("60.00")), (0, Decimal("20.00"), 0)]),
    # captures: an exact match of what is left, else the largest authorization
    ([authorized("100.00"), authorized("60.00")],
     [(None, None, Decimal("100.00")), (0, Decimal("60.00"), 0)]),
    ([authorized("35.00"), authorized("40.00")],
     [(0, Decimal("20.00"), Decimal("15.00")), (0, Decimal("40.00"), 0)]),
])
def test_which_payment_summaries_pay(om_store: Any, payments: list[dict[str, Any]],
                                     after: list[tuple[Any, ...]]) -> None:
    invoice_id, _ = queue_funds(om_store, *payments)
    [done] = run_background_operations(om_store)
    assert done["Status"] == "Complete"
    assert balance(om_store, invoice_id) == 0
    assert payment_summaries(om_store) == after


# ---------------------------------------------------------------------------------------------
# failures of the operation: Error, and nothing else changed

@pytest.mark.usefixtures("committed_invariants_hold")
def test_insufficient_funds_end_in_error_and_change_nothing(om_store: Any) -> None:
    invoice_id, _ = queue_funds(om_store, captured("10.00"), authorized("30.00"))
    before = payment_summaries(om_store)
    [done] = run_background_operations(om_store)
    assert done["Status"] == "Error"
    assert done["Error"].startswith(f"INSUFFICIENT_FUNDS: invoice {invoice_id} has a balance of "
                                    "60.00 but the payment summaries of order summary")
    assert "hold 40.00" in done["Error"]
    assert balance(om_store, invoice_id) == Decimal("60.00")
    assert payment_summaries(om_store) == before


@pytest.mark.usefixtures("committed_invariants_hold")
def test_an_invoice_deleted_before_the_operation_runs(om_store: Any) -> None:
    invoice_id, _ = queue_funds(om_store, authorized("60.00"))
    committed(om_store, lambda tx: tx.delete_many("Invoice", [invoice_id]))
    [done] = run_background_operations(om_store)
    assert (done["Status"], done["Error"]) == (
        "Error", f"NOT_FOUND: invoice {invoice_id} no longer exists")


@pytest.mark.usefixtures("committed_invariants_hold")
def test_a_paid_invoice_needs_nothing(om_store: Any) -> None:
    invoice_id, _ = queue_funds(om_store, authorized("60.00"))
    committed(om_store, lambda tx: tx.update("Invoice", invoice_id, {"Balance": 0}))
    [done] = run_background_operations(om_store)
    assert done["Status"] == "Complete"
    assert payment_summaries(om_store) == [(None, None, Decimal("60.00"))]


# ---------------------------------------------------------------------------------------------
# refusals of the action: each changes nothing

@pytest.mark.usefixtures("invariants_hold")
def test_refusals_of_the_order_summary(org: Any) -> None:
    sample, invoice_id = invoiced_order(org, authorized("60.00"))
    missing = make_id("1Os", 99)
    with refused(org, "INVALID_ID", "orderSummaryId: "):
        call(org, ACTION.name, orderSummaryId=sample.fulfillment_order_id,
             ensureFundsAsyncInput=funds_input(invoice_id))
    with refused(org, "NOT_FOUND", f"orderSummaryId: no OrderSummary has Id {missing}"):
        call(org, ACTION.name, orderSummaryId=missing,
             ensureFundsAsyncInput=funds_input(invoice_id))
    with refused(org, "REQUIRED_FIELD_MISSING", "orderSummaryId is required"):
        call(org, ACTION.name, ensureFundsAsyncInput=funds_input(invoice_id))


@pytest.mark.usefixtures("invariants_hold")
def test_unmanaged_order_summaries_are_refused(org: Any) -> None:
    sample, invoice_id = invoiced_order(org, authorized("60.00"), life_cycle="UNMANAGED")
    with refused(org, "UNMANAGED_ORDER", "whose OrderLifeCycleType is UNMANAGED"):
        call(org, ACTION.name, orderSummaryId=sample.order_summary_id,
             ensureFundsAsyncInput=funds_input(invoice_id))


@pytest.mark.usefixtures("invariants_hold")
def test_refusals_of_the_invoice(org: Any) -> None:
    sample, invoice_id = invoiced_order(org, authorized("60.00"))
    other, other_invoice = invoiced_order(org, authorized("60.00"))
    missing = make_id("3tt", 99)

    def ensure(funds: Any) -> None:
        call(org, ACTION.name, orderSummaryId=sample.order_summary_id,
             ensureFundsAsyncInput=funds)

    with refused(org, "REQUIRED_FIELD_MISSING", "ensureFundsAsyncInput is required"):
        ensure(None)
    with refused(org, "REQUIRED_FIELD_MISSING", "ensureFundsAsyncInput.invoiceId is required"):
        ensure(funds_input(None))
    with refused(org, "INVALID_ID", "ensureFundsAsyncInput.invoiceId: "):
        ensure(funds_input(sample.order_summary_id))
    with refused(org, "INVALID_ID", f"no Invoice has Id {missing}"):
        ensure(funds_input(missing))
    with refused(org, "INVALID_ID", f"invoice {other_invoice} belongs to "
                                    f"{other.order_summary_id}, not to order summary"):
        ensure(funds_input(other_invoice))
    org.update("Invoice", invoice_id, {"Status": "Draft"})
    with refused(org, "INVALID_STATUS", "has Status 'Draft'; only a Posted invoice"):
        ensure(funds_input(invoice_id))
