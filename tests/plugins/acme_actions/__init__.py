"""A third-party plug-in for the tests: shipments, with Apex-defined classes like Order Management's.

The tests copy this package outside the repository and install it with a `*.dist-info`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.plugins import Action, ActionContext, Parameter, Plugin
from flowengine.types import Apex, ApexClass, ApexField, Boolean, Number, Text

ITEM = "Acme.ShipmentItemInputRepresentation"
TO_CANCEL = "Acme.ShipmentItemsToCancelInputRepresentation"
CANCEL_OUTPUT = "Acme.CancelShipmentItemsOutputRepresentation"

classes = (
    ApexClass(ITEM, {
        "shipmentItemId": ApexField(Text(), required=True, description="Reference to the shipment item to cancel."),
        "quantity": ApexField(Number(), required=True, description="Quantity to cancel."),
    }),
    ApexClass(TO_CANCEL, {
        "shipmentItemsToCancel": ApexField(Apex(ITEM, collection=True), required=True),
    }),
    ApexClass(CANCEL_OUTPUT, {"success": ApexField(Boolean())}),
)


def cancel_shipment_item(inputs: Mapping[str, Any], context: ActionContext) -> Mapping[str, Any]:
    return {"cancelShipmentItemsOutput": {"success": True}}


def create_shipment(inputs: Mapping[str, Any], context: ActionContext) -> Mapping[str, Any]:
    return {"shipmentId": "0s1000000000001AAA"}


plugin = Plugin(
    name="acme",
    actions=(
        Action(
            name="cancelShipmentItem", label="Cancel Shipment Item", category="Acme Logistics",
            description="Cancel items of a shipment. You can cancel more than one item and give a "
                        "quantity for each. The shipment itself stays open.",
            handler=cancel_shipment_item,
            inputs=(
                Parameter("shipmentId", Text(), "Shipment Id", "Reference to the shipment.", required=True),
                Parameter("cancelShipmentItemsInput", Apex(TO_CANCEL), "Cancel Shipment Items Input",
                          required=True),
            ),
            outputs=(Parameter("cancelShipmentItemsOutput", Apex(CANCEL_OUTPUT),
                               "Cancel Shipment Items Output", "This action doesn't return any data."),),
            usage="Build the input with Assignment elements, then pass it to the action.",
            editions="Acme Cloud | Enterprise",
        ),
        Action(
            name="createShipment", label="Create Shipment", category="Acme Logistics",
            description="Create a shipment for an order.", handler=create_shipment,
            inputs=(Parameter("orderId", Text(), "Order Id", required=True),),
            outputs=(Parameter("shipmentId", Text(), "Shipment Id"),),
        ),
    ),
    apex_classes=classes,
)
