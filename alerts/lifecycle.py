"""Pure alert state rules: open -> acknowledged -> resolved; high priority latches until acked."""

from __future__ import annotations

from enum import StrEnum

from alerts.errors import AlertStateError


class AlertState(StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Priority(StrEnum):
    """Alarm priorities after IEC 60601-1-8, plus technical alarms (device health)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    TECHNICAL = "technical"


class Action(StrEnum):
    """What a person does to an alert."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


def next_state(state: AlertState, priority: Priority, action: Action) -> AlertState:
    """The state after ``action``; AlertStateError when the rules forbid it.

    Acknowledging an acknowledged alert is allowed (it stays acknowledged); a resolved alert takes
    no action; an open high-priority alert cannot be resolved before someone acknowledges it.
    """
    if state is AlertState.RESOLVED:
        raise AlertStateError(f"alert is resolved; cannot {action.value}")
    if action is Action.ACKNOWLEDGE:
        return AlertState.ACKNOWLEDGED
    if state is AlertState.OPEN and priority is Priority.HIGH:
        raise AlertStateError("a high-priority alert must be acknowledged before it is resolved")
    return AlertState.RESOLVED
