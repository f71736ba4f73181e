"""A plug-in for the tests that claims an action name the `acme` plug-in already has."""
from flowengine.plugins import Action, Plugin


def plugin() -> Plugin:  # entry points may name a function that returns the plug-in
    return Plugin(name="rival", actions=(
        Action(name="CancelShipmentItem", label="Cancel Shipment Item (rival)", category="Rival",
               description="Same name as acme's, in another case.", handler=lambda inputs, context: {}),
    ))
