"""Plain helpers of the Order Management plug-in's tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flowengine.plugins import ActionContext
from flowengine.types import ApexObject


@contextmanager
def refused(org: Any, code: str, match: str) -> Iterator[None]:
    """The block raises ActionError `code` whose message matches, and the org is unchanged."""
    from flowengine.errors import ActionError
    from flowengine_order_management.sample import org_snapshot

    before = org_snapshot(org)
    with pytest.raises(ActionError, match=match) as info:
        yield
    assert info.value.error_code == code
    assert org_snapshot(org) == before


def call(org: Any, action_name: str, **inputs: Any) -> dict[str, Any]:
    """Run an Order Management action's handler as a flow's Action element does: its inputs by
    parameter name, the interview's transaction in the context. Returns its outputs."""
    from flowengine_order_management import plugin

    action = next(a for a in plugin.actions if a.name == action_name)
    return dict(action.handler(inputs, ActionContext(org=org, flow="Test", element="Call")))


def published(org: Any, *names: str) -> list[dict[str, Any]]:
    """The events the transaction has published so far (of the objects `names`, when given),
    without the stamps that change from run to run."""
    stamps = {"EventUuid", "CreatedDate", "CreatedById", "ReplayId"}
    return [{k: v for k, v in event.items() if k not in stamps and v is not None}
            for event in org.events(names=names or None)]


def funds_input(invoice_id: Any) -> ApexObject:
    """A `ConnectApi.EnsureFundsAsyncInputRepresentation` for the invoice."""
    from flowengine_order_management.classes import ENSURE_FUNDS_INPUT

    return ApexObject(ENSURE_FUNDS_INPUT, {"invoiceId": invoice_id})
