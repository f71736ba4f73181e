"""Plain helpers of the Order Management plug-in's tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


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
