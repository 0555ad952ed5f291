"""The one exception family of the ingest package."""

from __future__ import annotations


class IngestError(Exception):
    """Root of every error raised by the ingest package."""


class StoreError(IngestError):
    """A store refused or failed a write or a query."""


class StoreUnavailableError(StoreError):
    """The store could not be reached (network, server down, timeout); retrying may help."""
