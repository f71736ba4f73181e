"""Standard platform events that flows subscribe to or publish: Order Management's and
Commerce's change events and the flow error event. An event is published by creating it and is
never stored as a record (`ObjectSchema.is_event`); flows read its fields through `$Record`."""
from __future__ import annotations

from flowengine.org.schema import FieldDef, ObjectSchema
from flowengine.org.standard._build import (
    area,
    check,
    datetime,
    lookup,
    number,
    obj,
    picklist,
    text,
)
from flowengine.org.standard.core import GENERATED
from flowengine.org.system import EVENT_FIELDS


def _event(name: str, label: str, *fields: FieldDef, description: str) -> ObjectSchema:
    """A platform event with the fields every event has (`flowengine.org.system.EVENT_FIELDS`)."""
    return obj(name, GENERATED, label, *fields, *EVENT_FIELDS, description=description,
               is_event=True)


# FulfillmentOrder.StatusCategory's values: the event's status category fields are restricted
FO_STATUS_CATEGORIES = ("DRAFT", "ACTIVATED", "FULFILLING", "CLOSED", "CANCELLED", "REJECTED")

ORDER_SUMMARY_CREATED_EVENT = _event(
    "OrderSummaryCreatedEvent", "Order Summary Created Event",
    lookup("OrderSummaryId", "OrderSummary"),
    lookup("OrderId", "Order"),
    text("UserLocale", 20),
    description="Published when an order summary is created.")

ORDER_SUM_STATUS_CHANGED_EVENT = _event(
    "OrderSumStatusChangedEvent", "Order Summary Status Changed Event",
    lookup("OrderSummaryId", "OrderSummary"),
    lookup("OrderId", "Order"),
    # the order summary statuses are each org's own: any value
    picklist("OldStatus", default="Created"), picklist("NewStatus", default="Created"),
    description="Published when an order summary's status changes.")

FO_STATUS_CHANGED_EVENT = _event(
    "FOStatusChangedEvent", "Fulfillment Order Status Changed Event",
    lookup("FulfillmentOrderId", "FulfillmentOrder"),
    lookup("OrderSummaryId", "OrderSummary"),
    picklist("OldStatus"), picklist("NewStatus", required=True),
    picklist("OldStatusCategory", *FO_STATUS_CATEGORIES, restricted=True),
    picklist("NewStatusCategory", *FO_STATUS_CATEGORIES, required=True, restricted=True),
    description="Published when a fulfillment order's status changes.")

PROCESS_EXCEPTION_EVENT = _event(
    "ProcessExceptionEvent", "Process Exception Event",
    lookup("AttachedToId", None, "AttachedTo"),
    lookup("OrderSummaryId", "OrderSummary"),
    text("ExceptionType"), text("Message"), area("Description", 2000),
    text("ExternalReference"), text("Severity"),
    description="Published to create a process exception.")

COMMERCE_DIAGNOSTIC_EVENT = _event(
    "CommerceDiagnosticEvent", "Commerce Diagnostic Event",
    text("B2bEdition"), text("B2bVersion"), text("BrowserDeviceType"),
    text("ContextId"), text("ContextId2"), area("ContextMap", 32_000),
    text("CorrelationId"), number("Count", 18),
    lookup("EffectiveAccountId", "Account"),
    text("ErrorCode"), area("ErrorMessage", 32_000), datetime("EventDate"),
    check("IsRetry"), text("Operation"), text("OperationStage"), text("OperationState"),
    text("OperationStatus"), number("OperationTime", 18), text("OsVersion"),
    text("ServiceName"), lookup("UserId", "User"), lookup("WebStoreId", "WebStore"),
    text("WebStoreType"),
    description="Published with diagnostic data about a Commerce operation.")

FLOW_EXECUTION_ERROR_EVENT = _event(
    "FlowExecutionErrorEvent", "Flow Execution Error Event",
    text("ElementApiName"), text("ElementType"), text("ErrorId"),
    area("ErrorMessage", 32_000), datetime("EventDate"), text("ExtendedErrorCode"),
    text("FlowApiName"), datetime("FlowExecutionStartDate"), text("FlowNamespace"),
    number("FlowVersionNumber", 18), text("InterviewGuid"), datetime("InterviewStartDate"),
    text("ProcessType"), text("Username"), text("ContextObject"),
    lookup("ContextRecordId", None, "ContextRecord"),
    description="Published when a flow interview fails.")

OBJECTS = (ORDER_SUMMARY_CREATED_EVENT, ORDER_SUM_STATUS_CHANGED_EVENT, FO_STATUS_CHANGED_EVENT,
           PROCESS_EXCEPTION_EVENT, COMMERCE_DIAGNOSTIC_EVENT, FLOW_EXECUTION_ERROR_EVENT)
