"""The one exception family of the alerts package."""

from __future__ import annotations


class AlertError(Exception):
    """Root of every error raised by the alerts package."""


class AlertNotFoundError(AlertError):
    """No alert has the id asked for."""


class AlertStateError(AlertError):
    """The action is not allowed in the alert's current state (e.g. resolving a latched alarm)."""


class AlertStoreError(AlertError):
    """The alert database could not be reached or refused the change; retry later."""
