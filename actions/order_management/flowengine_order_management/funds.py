"""`ensureFundsOrderSummaryAsync` — the Flow core action *Ensure Funds Async* — and the background
operation it queues.

The action only queues the work, as Salesforce documents: it inserts a BackgroundOperation
(Status New) into the asynchronous job queue and returns its Id. The work runs later, after the
transaction commits, when the queue is run (`run_background_operations`): each operation in its
own transaction, in the order they were queued. An operation that fails ends with Status Error
and its message in Error; it changes nothing else.

What an operation does (Salesforce's documented order): pay the invoice's Balance from the order
summary's order payment summaries — first from captured funds (BalanceAmount: an exact match of
what is left to pay, else the largest), then by capturing authorized funds
(AvailableToCaptureAmount: an exact match, else the largest). Applying captured funds lowers a
payment summary's BalanceAmount; capturing raises its CapturedAmount (the captured amount is
applied at once, so its balance does not change). The invoice's Balance becomes 0.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from flowengine.errors import ActionError, OrgError
from flowengine.org.base import OrgStore, OrgTransaction
from flowengine.plugins import Action, ActionContext, Parameter
from flowengine.types import Apex, ApexObject, Text, format_decimal

from .classes import ENSURE_FUNDS_INPUT, ENSURE_FUNDS_OUTPUT
from .objects import INVOICE, ORDER_SUMMARY, ZERO, dec
from .validation import fetch, field_of, managed_summary, record_id, required

__all__ = ["ACTION", "ENSURE_FUNDS_OPERATION", "ensure_funds_order_summary_async",
           "run_background_operations"]

OS_INPUT: Final = "orderSummaryId"
FUNDS_INPUT: Final = "ensureFundsAsyncInput"
OUTPUT: Final = "ensureFundsAsyncOutput"
OPERATION: Final = "BackgroundOperation"
PAYMENTS: Final = "OrderPaymentSummary"
ENSURE_FUNDS_OPERATION: Final = "EnsureFundsAsync"   # the Name of the operations it queues
ERROR_LENGTH: Final = 255                            # BackgroundOperation.Error holds 255


@dataclass(frozen=True)
class FundsRequest:
    """A validated request: the order summary and the invoice to fund."""

    order_summary_id: str
    invoice_id: str


def ensure_funds_order_summary_async(inputs: Mapping[str, Any],
                                     ctx: ActionContext) -> dict[str, Any]:
    """The action's handler: validate, then queue one background operation."""
    tx = ctx.require_org()
    request = validate_funds_request(tx, inputs)
    # ParentKey tags the operation with the invoice it funds (its order summary follows)
    operation_id = tx.insert(OPERATION, {"Name": ENSURE_FUNDS_OPERATION, "Status": "New",
                                         "ParentKey": request.invoice_id})
    return {OUTPUT: ApexObject(ENSURE_FUNDS_OUTPUT, {"backgroundOperationId": operation_id,
                                                     "success": True, "errors": []})}


def validate_funds_request(tx: OrgTransaction, inputs: Mapping[str, Any]) -> FundsRequest:
    """The validated request; raises ActionError on the first problem. Reads only."""
    os_id = record_id(inputs.get(OS_INPUT), ORDER_SUMMARY.name, ORDER_SUMMARY.key_prefix,
                      OS_INPUT)
    fetch(tx, ORDER_SUMMARY.name, os_id, OS_INPUT)
    managed_summary(tx, os_id, f"{OS_INPUT} {os_id}", "ensure funds")
    path = f"{FUNDS_INPUT}.invoiceId"
    invoice_id = record_id(field_of(required(inputs.get(FUNDS_INPUT), FUNDS_INPUT), "invoiceId",
                                    FUNDS_INPUT), INVOICE.name, INVOICE.key_prefix, path)
    invoice = fetch(tx, INVOICE.name, invoice_id, path, "INVALID_ID")
    if invoice.get("ReferenceEntityId") != os_id:
        raise ActionError("INVALID_ID", f"{path}: invoice {invoice_id} belongs to "
                                        f"{invoice.get('ReferenceEntityId')}, not to order "
                                        f"summary {os_id}")
    if invoice.get("Status") != "Posted":
        raise ActionError("INVALID_STATUS", f"{path}: invoice {invoice_id} has Status "
                                            f"{invoice.get('Status')!r}; only a Posted invoice "
                                            "can receive funds")
    return FundsRequest(os_id, invoice_id)


# ---------------------------------------------------------------------------------------------
# The background operations: run after the transaction that queued them has committed

def run_background_operations(store: OrgStore) -> list[dict[str, Any]]:
    """Run every queued (Status New) Ensure Funds operation of the store, oldest first, each in
    its own transaction; returns them as they ended (Status Complete or Error). What another
    transaction has not committed yet is not seen, and so not run."""
    finished: list[dict[str, Any]] = []
    if OPERATION not in store.schemas:    # a store of other objects queues no operations
        return finished
    while True:
        with store.begin() as tx:
            queued = tx.query(OPERATION, where={"Status": "New", "Name": ENSURE_FUNDS_OPERATION},
                              order_by=("CreatedDate", "Id"))
            if not queued:
                return finished
            finished.append(_run(tx, queued[0]))


def _run(tx: OrgTransaction, operation: Mapping[str, Any]) -> dict[str, Any]:
    """Run one operation: Running while it works, then Complete, or Error with nothing else
    changed. Started and finished are the time of this transaction."""
    op_id = operation["Id"]
    tx.update(OPERATION, op_id, {"Status": "Running"})
    now = fetch(tx, OPERATION, op_id, "background operation")["LastModifiedDate"]
    outcome: dict[str, Any] = {"Status": "Complete", "Error": None}
    try:
        with tx.savepoint():
            ensure_funds(tx, str(operation.get("ParentKey") or ""))
    except (ActionError, OrgError) as exc:
        outcome = {"Status": "Error", "Error": f"{exc.error_code}: {exc.message}"[:ERROR_LENGTH]}
    tx.update(OPERATION, op_id, {**outcome, "SubmittedAt": operation.get("CreatedDate"),
                                 "StartedAt": now, "FinishedAt": now})
    return fetch(tx, OPERATION, op_id, "background operation")


def ensure_funds(tx: OrgTransaction, invoice_id: str) -> None:
    """Pay the invoice's Balance from its order summary's payment summaries (module docstring),
    all or nothing: INSUFFICIENT_FUNDS when they cannot cover it."""
    invoice = tx.get(INVOICE.name, invoice_id) if invoice_id else None
    if invoice is None:
        raise ActionError("NOT_FOUND", f"invoice {invoice_id or '(none)'} no longer exists")
    to_pay = dec(invoice.get("Balance"))
    if to_pay <= ZERO:
        return
    payments = tx.query(PAYMENTS, where={"OrderSummaryId": invoice.get("ReferenceEntityId")})
    balances = {p["Id"]: dec(p.get("BalanceAmount")) for p in payments}
    capturable = {p["Id"]: dec(p.get("AvailableToCaptureAmount")) for p in payments}
    funds = sum(balances.values(), ZERO) + sum(capturable.values(), ZERO)
    if to_pay > funds:
        raise ActionError(
            "INSUFFICIENT_FUNDS",
            f"invoice {invoice_id} has a balance of {format_decimal(to_pay)} but the payment "
            f"summaries of order summary {invoice.get('ReferenceEntityId')} hold "
            f"{format_decimal(funds)} (captured balance and amount available to capture)")
    uncaptured = dict(capturable)
    _draw(uncaptured, _draw(balances, to_pay))
    tx.update_many(PAYMENTS, {
        p["Id"]: {"BalanceAmount": balances[p["Id"]],
                  "CapturedAmount": dec(p.get("CapturedAmount")) + capturable[p["Id"]]
                  - uncaptured[p["Id"]]}
        for p in payments if (balances[p["Id"]], uncaptured[p["Id"]])
        != (dec(p.get("BalanceAmount")), capturable[p["Id"]])})
    tx.update(INVOICE.name, invoice_id, {"Balance": ZERO})


def _draw(pool: dict[str, Decimal], amount: Decimal) -> Decimal:
    """Take `amount` from the pool's funds (changed in place): each time from the fund equal to
    what is left, else from the largest (ties: the lowest Id). Returns what is still left."""
    while amount > ZERO:
        funded = sorted((payment_id for payment_id, value in pool.items() if value > ZERO))
        if not funded:
            break
        exact = [payment_id for payment_id in funded if pool[payment_id] == amount]
        chosen = exact[0] if exact else max(funded, key=lambda payment_id: pool[payment_id])
        taken = min(pool[chosen], amount)
        pool[chosen] -= taken
        amount -= taken
    return amount


ACTION: Final = Action(
    name="ensureFundsOrderSummaryAsync",
    label="Ensure Funds Async",
    category="Order Management",
    description=(
        "Ensure funds for an invoice, and apply them to it. If needed, capture authorized funds "
        "by sending a request to a payment provider. This action inserts a background operation "
        "into an asynchronous job queue and returns the ID of that operation so you can track "
        "its status."),
    handler=ensure_funds_order_summary_async,
    inputs=(
        Parameter(
            FUNDS_INPUT, Apex(ENSURE_FUNDS_INPUT), label="Ensure Funds Async Input", required=True,
            description=(f"This input is an Apex-defined variable of class {ENSURE_FUNDS_INPUT}. "
                         "The variable has one field, invoiceId, which is the ID of the invoice "
                         "to ensure funds for and apply them to.")),
        Parameter(OS_INPUT, Text(), label="Order Summary Id", required=True,
                  description="Reference to the order summary associated with the invoice."),
    ),
    outputs=(
        Parameter(
            OUTPUT, Apex(ENSURE_FUNDS_OUTPUT), label="Ensure Funds Async Output",
            description=(f"This value is an Apex-defined variable of class {ENSURE_FUNDS_OUTPUT}. "
                         "It only returns the ID of the asynchronous background operation; the "
                         "backgroundOperationId field contains it.")),
    ),
    usage=("Funds are applied from the order payment summaries of the order summary: captured "
           "funds first (an exact match of the invoice balance, else the largest balance), then "
           "authorized funds are captured (an exact match, else the largest)."),
    editions=("Available in: Lightning Experience, in Enterprise, Unlimited, and "
              "Developer Editions with Salesforce Order Management."),
    plugin="order_management",
)
