"""Pure alert state rules."""

from __future__ import annotations

import pytest

from alerts.errors import AlertStateError
from alerts.lifecycle import Action, AlertState, Priority, next_state

ACK, RESOLVE = Action.ACKNOWLEDGE, Action.RESOLVE
OPEN, ACKED, RESOLVED = AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED


@pytest.mark.parametrize("priority", list(Priority))
def test_open_then_acknowledged_then_resolved(priority: Priority) -> None:
    assert next_state(OPEN, priority, ACK) is ACKED
    assert next_state(ACKED, priority, ACK) is ACKED  # idempotent
    assert next_state(ACKED, priority, RESOLVE) is RESOLVED


@pytest.mark.parametrize("priority", [Priority.MEDIUM, Priority.LOW, Priority.TECHNICAL])
def test_lower_priorities_may_be_resolved_without_ack(priority: Priority) -> None:
    assert next_state(OPEN, priority, RESOLVE) is RESOLVED


def test_high_priority_latches_until_acknowledged() -> None:
    with pytest.raises(AlertStateError, match="acknowledged"):
        next_state(OPEN, Priority.HIGH, RESOLVE)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("priority", list(Priority))
def test_resolved_takes_no_action(action: Action, priority: Priority) -> None:
    with pytest.raises(AlertStateError, match="resolved"):
        next_state(RESOLVED, priority, action)
